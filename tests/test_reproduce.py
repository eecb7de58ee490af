"""`odegan reproduce`: the driver (errors, resume after a kill), each study's table builder on
hand-made run outputs, and the Dirac-GAN amplification against the stability functions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from test_cli import odegan_here

from odegan_jax import reproduce
from odegan_jax.integrators import TABLEAUX, linear_amplification
from odegan_jax.reproduce import (
    Context,
    Outcome,
    Run,
    StudyError,
    dirac_stability,
    lambda_sweep,
    loss_balance,
    main_job_seeds,
    official_notebook,
    optimizers_2d,
    order_study,
)

# --------------------------------------------------------------------------------------
# hand-made run outputs
# --------------------------------------------------------------------------------------


def _outcome(tmp_path, run: Run, rows=(), final=None, status="ok", summary=None) -> Outcome:
    d = tmp_path / "runs" / run.id
    d.mkdir(parents=True, exist_ok=True)
    with open(d / "metrics.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    summary = (
        summary
        if summary is not None
        else (
            {
                "final": final or (rows[-1] if rows else {}),
                "params_sha256": "ab" * 32,
                "wall_time_s": 10.0,
                "steps": 1000,
                "retries": 0,
                "rollbacks": 0,
            }
            if status == "ok"
            else {}
        )
    )
    return Outcome(
        run,
        str(d),
        status,
        summary=summary,
        error="" if status == "ok" else "non-finite loss_d at step 12",
    )


def _ctx(tmp_path, study, outcomes, seeds=(0, 1)):
    return Context(study, str(tmp_path), "cpu", tuple(seeds), outcomes)


def _final(modes, hq, num=16, **extra):
    return {
        "step": 1000,
        "modes_covered": modes,
        "hq_fraction": hq,
        "num_modes": num,
        "loss_d": 1.3,
        "loss_g": 0.7,
        "d_real": 0.5,
        "d_fake": 0.5,
        **extra,
    }


def _verdicts(report):
    return [c.verdict for c in report.claims]


def test_main_job_seeds_counts_the_seeds_that_pass(tmp_path):
    runs = main_job_seeds.runs("cpu", range(4))
    quality = [(16, 0.9), (16, 0.79), (15, 0.95), None]  # pass, HQ short, a mode short, diverged
    outs = [
        _outcome(tmp_path, r, [_final(*q)]) if q else _outcome(tmp_path, r, status="diverged")
        for r, q in zip(runs, quality)
    ]
    # the last iterates beside G's moving average: seed 0's misses a mode, seed 1's passes
    for o, (m, hq) in zip(outs, [(15, 0.82), (16, 0.85)]):
        o.summary["final_iterate"] = {"modes_covered": m, "hq_fraction": hq, "num_modes": 16}
    report = main_job_seeds.analyse(_ctx(tmp_path, main_job_seeds.STUDY, outs, range(4)))
    assert report.numbers["passed"] == 1 and report.numbers["pass_rate"] == 0.25
    assert report.numbers["iterate_passed"] == 1
    assert _verdicts(report) == ["not reproduced"]
    rows = report.tables[0][2]
    assert rows[3][3] == "**diverged**" and rows[3][4] == "–"
    assert [rows[0][4], rows[1][4], rows[2][4]] == ["15/16, 82.0%", "16/16, 85.0%", "–"]


def test_order_study_finds_each_integrators_first_diverging_h(tmp_path):
    study = order_study.STUDY
    outs = []
    for run in study.runs("cpu", (0,)):
        name, h = run.label["integrator"], run.label["h"]
        first_bad = {"euler": 0.08, "heun": 0.64, "rk4": None}[name]
        if first_bad is not None and h >= first_bad:
            outs.append(_outcome(tmp_path, run, status="diverged"))
        else:
            hq = {"euler": 0.1, "heun": 0.6, "rk4": 0.7}[name]
            outs.append(_outcome(tmp_path, run, [_final(16, hq)]))
    report = study.analyse(_ctx(tmp_path, study, outs, (0,)))
    assert report.numbers["first_failing_h"] == {"euler": 0.08, "heun": 0.64, "rk4": None}
    assert _verdicts(report) == ["reproduced", "reproduced"]
    # the other way round the ordering claim fails
    flipped = [
        _outcome(tmp_path, o.run, status="diverged") if o.run.label["integrator"] == "rk4" else o
        for o in outs
    ]
    report = study.analyse(_ctx(tmp_path, study, flipped, (0,)))
    assert report.numbers["first_failing_h"]["rk4"] == 0.01
    assert _verdicts(report)[0] == "not reproduced"
    # nothing non-finite, but Euler's critic dies (vanishing D gradient) from h = 0.32 on
    dying = [
        _outcome(
            tmp_path,
            o.run,
            [
                _final(
                    16,
                    0.5,
                    grad_norm_d=1e-5
                    if (o.run.label["integrator"] == "euler" and o.run.label["h"] >= 0.32)
                    else 0.5,
                )
            ],
        )
        for o in outs
    ]
    report = study.analyse(_ctx(tmp_path, study, dying, (0,)))
    assert report.numbers["first_failing_h"]["euler"] is None
    assert report.numbers["first_breakdown_h"] == {"euler": 0.32, "heun": None, "rk4": None}
    assert _verdicts(report)[0] == "partly"


def test_lambda_sweep_correlates_lambda_with_the_truncation_error(tmp_path):
    study = lambda_sweep.STUDY
    outs = []
    for run in study.runs("cpu", (0,)):
        lam = run.label["lambda"]
        rows = [
            {
                "step": s,
                "lte": 1e-3 / (1 + 100 * lam) * (1 + 0.01 * i),
                "lte_rel": 1e-2 / (1 + 10 * lam),
            }
            for i, s in enumerate((250, 500, 750))
        ]
        rows[-1].update(_final(16, 0.5 + lam))
        outs.append(_outcome(tmp_path, run, rows))
    report = study.analyse(_ctx(tmp_path, study, outs, (0,)))
    assert report.numbers["spearman"] == pytest.approx(-1.0)
    assert report.numbers["median_lte"]["0.0"] == pytest.approx(1.01e-3)
    assert _verdicts(report) == ["reproduced", "reproduced"]


def test_loss_balance_measures_distance_from_nash_and_the_trends(tmp_path):
    study = loss_balance.STUDY
    outs, steps = [], np.arange(100, 10_001, 100)
    for run in study.runs("cpu", (0,)):
        if run.label["rule"] == "rk4":
            ld, lg = np.full(len(steps), 2 * np.log(2)), np.full(len(steps), np.log(2))
            dr, df = np.full(len(steps), 0.5), np.full(len(steps), 0.5)
        else:  # D dominates: ℓ_D falls, ℓ_G rises, D(x) − D(G(z)) opens
            ld, lg = 1.3 - steps / 1e5, 0.8 + steps / 1e5
            dr, df = 0.5 + steps / 4e4, 0.5 - steps / 4e4
        rows = [
            {
                "step": int(s),
                "loss_d": float(a),
                "loss_g": float(b),
                "d_real": float(c),
                "d_fake": float(d),
            }
            for s, a, b, c, d in zip(steps, ld, lg, dr, df)
        ]
        outs.append(_outcome(tmp_path, run, rows))
    report = study.analyse(_ctx(tmp_path, study, outs, (0,)))
    rk4, adam = report.numbers["mean"]["rk4"], report.numbers["mean"]["adam"]
    assert rk4["dist_nash"] == pytest.approx(0.0, abs=1e-12)
    assert adam["slope_d"] == pytest.approx(-0.01) and adam["slope_g"] == pytest.approx(0.01)
    assert _verdicts(report) == ["reproduced", "reproduced"]


def test_optimizers_2d_reads_quality_at_equal_wall_time(tmp_path):
    study = optimizers_2d.STUDY
    outs = []
    for run in study.runs("cpu", (0,)):
        method = run.label["method"]
        cost = 2.0 if method in optimizers_2d.INTEGRATORS else 1.0  # seconds per 1,000 steps
        rows = [
            {
                "step": s,
                "time_s": cost * s / 1000,
                "modes_covered": 8,
                "hq_fraction": (0.9 if method == "rk4" else 0.4) * s / 8000,
                "num_modes": 8,
            }
            for s in range(1000, 8001, 1000)
        ]
        outs.append(_outcome(tmp_path, run, rows))
    report = study.analyse(_ctx(tmp_path, study, outs, (0,)))
    assert report.numbers["equal_time_budget_s"] == 8.0
    at = report.numbers["at_equal_time"]
    assert at["ode_rk4_seed0"]["step"] == 4000 and at["adam_seed0"]["step"] == 8000
    assert report.numbers["mean_hq_at_equal_time"]["rk4"] == pytest.approx(0.45)
    assert _verdicts(report) == ["not reproduced", "reproduced"]


def test_optimizers_latent_reads_fid_loss_spread_and_the_critics_rank_correlation(tmp_path):
    """Hand-made runs: FID falls over 8 scored steps in every run (SGD lowest); the WGANs'
    −loss_d falls with FID (ρ = 1), the GAN's loss_d rises while FID falls (ρ = −1); z = 200
    is 40% worse than z = 100; a diverged run is a marked row."""
    from odegan_jax.reproduce import optimizers_latent as ol

    study = ol.STUDY
    runs = study.runs("cpu", (0,))
    assert [r.id for r in runs] == [
        "adam_z10_seed0",
        "adam_z100_seed0",
        "adam_z200_seed0",
        "rmsprop_seed0",
        "sgd_seed0",
        "adadelta_seed0",
        "adagrad_seed0",
        "wgan_seed0",
        "wgan_gp_seed0",
    ]
    assert dict(runs[7].overrides)["steps"] == dict(runs[0].overrides)["steps"] // 5
    assert dict(runs[4].overrides)["optimizer.b1"] is None  # SGD: no Adam β
    level = {
        "adam_z10": 100.0,
        "adam": 100.0,
        "adam_z200": 140.0,
        "rmsprop": 120.0,
        "sgd": 60.0,
        "adadelta": 200.0,
        "adagrad": 180.0,
        "wgan": 150.0,
        "wgan_gp": 90.0,
    }
    outs = []
    for run in runs:
        setting = run.label["setting"]
        if setting == "adagrad":
            outs.append(_outcome(tmp_path, run, status="diverged"))
            continue
        rows = []
        for i in range(1, 9):
            fid = level[setting] * (2.0 - i / 8)
            loss_d = -fid / 100 if setting.startswith("wgan") else 1.0 + 0.01 * i
            if setting == "sgd":
                loss_d = 1.0  # the flattest loss too
            rows.append({"step": 50 * i, "loss_d": loss_d, "fid": fid, "is": 5.0, "kid": 1.0})
        outs.append(
            _outcome(
                tmp_path, run, rows, summary={"final": rows[-1], "steps": 400, "wall_time_s": 9.0}
            )
        )
    report = study.analyse(_ctx(tmp_path, study, outs, (0,)))
    n = report.numbers
    assert n["latent_fid_ratios"] == {"10": 1.0, "100": 1.0, "200": pytest.approx(1.4)}
    assert n["mean_final_fid"]["sgd"] == 60.0 and n["mean_final_fid"]["adagrad"] is None
    assert n["spearman_rho"]["wgan"] == pytest.approx(1.0)
    assert n["spearman_rho"]["gan"] == pytest.approx(-1.0)
    assert n["loss_d_std_late"]["sgd"] == 0.0
    assert _verdicts(report) == ["not reproduced", "reproduced", "reproduced", "reproduced"]
    table = report.tables[0][2]
    assert ["adagrad_seed0", "**diverged**"] == table[6][:2]


def _scored_rows(fids, every, seconds_per_step, loss, is_value=2.0):
    """Rows logged and scored every ``every`` steps with FID ``fids[i]`` and ``loss``:
    (ℓ_D, ℓ_G, D(x), D(G(z))), wall time ``seconds_per_step`` per step."""
    ld, lg, dr, df = loss
    return [
        {
            "step": every * (i + 1),
            "fid": f,
            "is": is_value,
            "kid": 0.1,
            "loss_d": ld,
            "loss_g": lg,
            "d_real": dr,
            "d_fake": df,
            "time_s": every * (i + 1) * seconds_per_step,
        }
        for i, f in enumerate(fids)
    ]


def test_odegan_vs_adam_images_reads_table1_the_degradation_and_time_to_adams_best(tmp_path):
    """Hand-made runs, 2 seeds: RK4's FID falls to 100 (2 s a step), RK4 + Adam bottoms at
    105 and ends at 150, Adam bottoms at 120 at step 240 (1 s a step; 1.6% better than over
    its first three quarters: settled) and ends at 130, SN-GAN stays at 200 (seed 1's
    diverged: a marked row); RK4 reaches Adam's best (120) at step 270: 540 s against Adam's
    240 s, 2.25x; no stiffness measured. Then Adam still improving: every verdict undecided."""
    from odegan_jax.reproduce import odegan_vs_adam_images as ova

    study = ova.STUDY
    runs = study.runs("cpu", (0, 1))
    assert [r.id for r in runs[:4]] == ["adam_seed0", "adam_seed1", "rk4_seed0", "rk4_seed1"]
    assert {dict(r.overrides)["model.latent_size"] for r in runs} == {128}
    assert {r.id: dict(r.overrides)["model.d_batchnorm"] for r in runs if r.seed == 0} == {
        "adam_seed0": False,
        "rk4_seed0": False,
        "adam_bn_seed0": True,
        "rk4_adam_seed0": False,
        "sngan_seed0": False,
    }
    nash, dominated = (1.386, 0.693, 0.5, 0.5), (0.3, 3.0, 0.9, 0.1)
    fids = {
        "rk4": [300, 280, 260, 240, 220, 200, 180, 160, 120, 100],
        "rk4_adam": [300, 250, 200, 150, 105, 120, 130, 140, 145, 150],
        "adam": [300, 250, 200, 170, 150, 140, 122, 120, 125, 130],
        "adam_bn": [300, 250, 200, 170, 150, 140, 130, 125, 125, 125],
        "sngan": [200] * 10,
    }
    seconds = {"rk4": 2.0, "rk4_adam": 2.0, "adam": 1.0, "adam_bn": 1.0, "sngan": 1.0}

    def analyse(fids):
        outs = []
        for run in runs:
            setting = run.label["setting"]
            if setting == "sngan" and run.seed == 1:
                outs.append(_outcome(tmp_path, run, status="diverged"))
                continue
            rows = _scored_rows(
                fids[setting],
                30,
                seconds[setting],
                nash if setting.startswith("rk4") else dominated,
            )
            outs.append(
                _outcome(
                    tmp_path,
                    run,
                    rows,
                    summary={
                        "final": rows[-1],
                        "steps": 300,
                        "wall_time_s": rows[-1]["time_s"],
                        "steps_per_s": 1 / seconds[setting],
                        "params_sha256": "ab" * 32,
                    },
                )
            )
        return study.analyse(_ctx(tmp_path, study, outs, (0, 1)))

    report = analyse(fids)
    mean = report.numbers["mean"]
    assert mean["rk4"]["fid_best"][0] == 100 and mean["rk4_adam"]["fid_final"][0] == 150
    assert mean["sngan"]["fid_best"][2] == 1  # the diverged seed is left out of the mean
    reach = report.numbers["reach"]["0"]
    assert (reach["adam_step"], reach["rk4_step"]) == (240, 270)
    assert reach["ratio"] == pytest.approx(2.25)
    assert reach["evaluation_ratio"] == pytest.approx(270 * 4 / (240 * 2))
    assert report.numbers["settled"]
    assert _verdicts(report) == [
        "reproduced",
        "reproduced",
        "reproduced",
        "reproduced",
        "not reproduced",
        "not run",
    ]
    table1 = report.tables[0][2]
    assert table1[1][1] == "100.0 ± 0.0 / 100.0 ± 0.0" and table1[1][5].startswith("17.66")
    assert "(1 of 2 runs)" in table1[4][1]
    assert ["sngan_seed1", "**diverged**"] == report.tables[1][2][9][:2]
    # the Adam baseline still improving over its last quarter (130 → 110): nothing decided
    fids["adam"] = [300, 250, 200, 170, 150, 140, 130, 125, 118, 110]
    assert set(_verdicts(analyse(fids))[:5]) == {"undecided"}


def test_ngan_vs_dcgan_gam_reads_the_gam_winner_loss_spread_and_nfe(tmp_path):
    """Hand-made runs: GAM of seed 0 (r_test 1.01, r_samples 0.86: NGAN wins, Varshney19's own
    numbers) and of seed 1 (r_test 1.2: undecided), read from the analysis cache as a finished
    study leaves it; NGAN's ℓ_G flat but ℓ_D noisier than DCGAN's; the tsit5 run's NFE grows
    from 26 to 38."""
    from odegan_jax.metrics.gam import gam_winner
    from odegan_jax.reproduce import ngan_vs_dcgan_gam as nd
    from odegan_jax.reproduce.image_scores import CACHE

    study = nd.STUDY
    runs = study.runs("cpu", (0, 1))
    assert [r.id for r in runs] == [
        "ngan_seed0",
        "dcgan_seed0",
        "ngan_seed1",
        "dcgan_seed1",
        "ngan_tsit5_seed0",
    ]
    assert dict(runs[-1].overrides)["model.ode.solver"] == "tsit5"
    outs, hashes = [], {}
    for i, run in enumerate(runs):
        net = run.label["net"]
        rows = []
        for k in range(1, 41):
            wobble = (-1) ** k
            rows.append(
                {
                    "step": 10 * k,
                    "loss_g": 2.0 + (0.01 if net == "ngan" else 0.5) * wobble,
                    "loss_d": 0.5 + (0.3 if net == "ngan" else 0.1) * wobble,
                    **(
                        {"nfe_g": 26 + k * 12 // 40, "nfe_d": 14 + k // 20}
                        if net == "ngan_tsit5"
                        else {}
                    ),
                    **(
                        {"fid": 100.0 if net == "ngan" else 110.0, "is": 3.0} if k % 10 == 0 else {}
                    ),
                }
            )
        hashes[run.id] = f"{i:02d}" * 32
        outs.append(
            _outcome(
                tmp_path,
                run,
                rows,
                summary={
                    "final": rows[-1],
                    "steps": 400,
                    "wall_time_s": 50.0,
                    "params_sha256": hashes[run.id],
                },
            )
        )
    cache = {}
    for s, (r_test, r_samples) in ((0, (1.01, 0.86)), (1, (1.2, 0.9))):
        key = f"gam_seed{s}_n2000:{hashes[f'ngan_seed{s}']},{hashes[f'dcgan_seed{s}']}"
        cache[key] = {
            "accuracies": {
                "D_A(x_test)": 0.8,
                "D_B(x_test)": 0.8 * r_test,
                "D_A(G_B(z))": 0.5,
                "D_B(G_A(z))": 0.5 * r_samples,
            },
            "r_test": r_test,
            "r_samples": r_samples,
            "winner": gam_winner(r_test, r_samples),
        }
    (tmp_path / CACHE).write_text(json.dumps(cache))
    report = study.analyse(_ctx(tmp_path, study, outs, (0, 1)))
    assert report.numbers["gam"]["0"]["winner_name"] == "NGAN"
    assert report.numbers["gam"]["1"]["winner_name"].startswith("undecided")
    assert report.numbers["nfe"]["nfe_g"][:2] == (26, 38)
    assert report.numbers["mean_final_fid"] == {"ngan": 100.0, "dcgan": 110.0}
    assert _verdicts(report) == ["partly", "reproduced", "partly", "reproduced"]
    assert report.tables[0][2][0][-3:] == ["1.010", "0.860", "NGAN"]


def test_depth_images_reads_table_5_1_the_bn_placement_and_the_collapse(tmp_path):
    """Hand-made runs: best IS with BN in G and D rises to M3_B and falls to M5_B, G-only is
    lower at 5 of 6 depths; the classifier's class shares (from the analysis cache) show
    M5_B collapsing; no checkpoints, so the nearest-neighbour claim says why it was not run."""
    from odegan_jax.reproduce import depth_images as di
    from odegan_jax.reproduce.image_scores import CACHE

    study = di.STUDY
    runs = study.runs("cpu", (0,))
    assert len(runs) == 12 and runs[0].id == "c0_gd_seed0" and runs[6].id == "c0_g_seed0"
    assert dict(runs[6].overrides)["model.d_batchnorm"] is False
    assert dict(runs[0].overrides)["eval.num_samples"] == 5000
    best_is = {"gd": [2.0, 2.5, 3.0, 3.2, 3.1, 2.8], "g": [2.2, 2.4, 2.9, 3.0, 3.0, 2.7]}
    outs, cache = [], {}
    for i, run in enumerate(runs):
        c, bn = run.label["depth"], run.label["bn"]
        rows = [
            {"step": 30 * k, "is": best_is[bn][c] * k / 3, "is_std": 0.05, "fid": 50.0}
            for k in (1, 2, 3)
        ] + [{"step": 120, "is": 1.5, "fid": 60.0}]
        outs.append(
            _outcome(
                tmp_path,
                run,
                rows,
                summary={"final": rows[-1], "steps": 150, "params_sha256": f"{i:02d}" * 32},
            )
        )
        share = 0.5 if (c, bn) == (5, "gd") else 0.15
        cache[f"class_share_{run.id}_n5000:{f'{i:02d}' * 32}"] = {
            "top_class": 1,
            "top_share": share,
        }
    (tmp_path / CACHE).write_text(json.dumps(cache))
    report = study.analyse(_ctx(tmp_path, study, outs, (0,)))
    n = report.numbers
    assert n["best_is"]["c3_gd"] == pytest.approx(3.2) and n["top_share"] == {"c0": 0.15, "c5": 0.5}
    assert _verdicts(report) == ["reproduced", "reproduced", "reproduced", "not run"]
    assert any("c3_gd_seed0 cannot be loaded" in note for note in report.notes)
    row = report.tables[0][2][3]
    assert row[0] == "M3_B (seed 0)" and row[3] == "3.20 ± 0.05" and row[4] == "90"
    assert row[-1] == "9.73 ± 0.058"


def test_image_studies_have_a_gpu_size_and_the_others_refuse_it(tmp_path, capsys):
    from odegan_jax.reproduce import depth_images, ngan_vs_dcgan_gam, odegan_vs_adam_images

    for mod in (depth_images, ngan_vs_dcgan_gam, odegan_vs_adam_images):
        cpu, gpu = (
            dict(mod.STUDY.runs(size, (0,))[0].overrides)["steps"] for size in ("cpu", "gpu")
        )
        assert mod.STUDY.gpu and gpu > cpu
        # every run of the GPU and full sizes is a valid config (none has run on a GPU yet),
        # read from the command line the driver would run
        from odegan_jax.config import resolve_config, validate
        from odegan_jax.reproduce import train_command

        for size in ("gpu", "full"):
            for run in mod.STUDY.runs(size, mod.STUDY.seeds):
                args = train_command(run, str(tmp_path / run.id))
                validate(resolve_config(run.config, [a for a in args if a.startswith("--config.")]))
    r = odegan_here(capsys, "reproduce", "order_study", "--gpu", "--workdir", str(tmp_path))
    assert r.returncode == 2 and "order_study has no --gpu size" in r.stderr
    r = odegan_here(capsys, "reproduce", "order_study", "--gpu", "--full")
    assert r.returncode == 2 and "not allowed with argument" in r.stderr
    assert not os.listdir(tmp_path)


def test_a_study_whose_image_data_is_missing_says_so_before_any_run(tmp_path):
    (tmp_path / "empty").mkdir()  # where the user said the IDX files are
    with pytest.raises(
        StudyError,
        match=r"trains on 'fashion_mnist', which cannot be loaded: "
        r"no train-images-idx3-ubyte.*Nothing was run",
    ):
        reproduce.run_study(
            "optimizers_latent", str(tmp_path), overrides=[("data.path", str(tmp_path / "empty"))]
        )
    assert not os.path.exists(tmp_path / "optimizers_latent" / "runs")


def test_official_notebook_without_the_peer_says_so(tmp_path):
    study = official_notebook.STUDY
    outs = []
    for run in study.runs("cpu", (0, 1)):
        if run.kind == "peer":
            outs.append(Outcome(run, str(tmp_path), "unavailable", error="not installed"))
        else:
            rows = [
                {"step": s, "modes_covered": m, "hq_fraction": q, "num_modes": 16}
                for s, m, q in ((10_000, 10, 0.4), (20_000, 14, 0.5), (30_001, 16, 0.7))
            ]
            outs.append(
                _outcome(
                    tmp_path,
                    run,
                    rows,
                    summary={
                        "final": rows[-1],
                        "wall_time_s": 60.0,
                        "steps": 30_001,
                        "params_sha256": "cd" * 32,
                    },
                )
            )
    report = study.analyse(_ctx(tmp_path, study, outs, (0, 1)))
    assert _verdicts(report) == ["not run"] and "not installed" in report.claims[0].why
    assert report.numbers["ours"]["0"]["last"] == (16, 0.7)
    assert report.numbers["final_modes_mean"]["ours"] == 16.0
    # with the peer's JSON the distributions are compared
    outs = [
        o
        if o.run.kind == "train"
        else Outcome(
            o.run,
            o.dir,
            "ok",
            summary={
                "ms_per_step": 3.0,
                "quality": [
                    {"step": 10_000, "modes": 9, "hq": 0.3},
                    {"step": 30_000, "modes": 15, "hq": 0.68},
                ],
            },
        )
        for o in outs
    ]
    report = study.analyse(_ctx(tmp_path, study, outs, (0, 1)))
    assert report.numbers["final_modes_mean"]["notebook"] == 15.0
    assert _verdicts(report) == ["reproduced"]


def test_write_report_marks_failed_runs_and_rejects_unknown_verdicts(tmp_path):
    study = main_job_seeds.STUDY
    runs = study.runs("cpu", (0, 1))
    outs = [
        _outcome(tmp_path, runs[0], [_final(16, 0.9)]),
        _outcome(tmp_path, runs[1], status="diverged"),
    ]
    ctx = _ctx(tmp_path, study, outs)
    results = reproduce.write_report(ctx, study.analyse(ctx))
    table = (tmp_path / "table.md").read_text()
    assert "| seed1 | **diverged** |" in table and "hq_per_seed.png" in table
    assert results["runs"]["seed1"]["status"] == "diverged"
    assert results["runs"]["seed0"]["params_sha256"] == "ab" * 32
    assert json.loads((tmp_path / "results.json").read_text())["claims"][0]["verdict"]
    bad = study.analyse(ctx)
    bad.claims[0].verdict = "maybe"
    with pytest.raises(ValueError, match="verdict"):
        reproduce.write_report(ctx, bad)


# --------------------------------------------------------------------------------------
# the Dirac-GAN: measured amplification = stability function
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["euler", "heun", "kutta3", "rk4"])
def test_dirac_measured_amplification_equals_the_stability_function(name):
    hs = np.array([0.04, 0.3, 1.0, 2.5, 3.0])
    maps = dirac_stability.measured_maps(name, 0.0, hs)
    rho = dirac_stability.spectral_radius(maps)
    expected = [abs(linear_amplification(TABLEAUX[name], 1j * h)) for h in hs]
    np.testing.assert_allclose(rho, expected, rtol=2e-6)


def test_dirac_regularised_and_gradient_descent_maps_match_the_closed_forms():
    hs = np.array([0.1, 0.5, 1.5])
    for name, lam in (("euler", 0.3), ("rk4", 0.07), ("simultaneous", 0.0), ("alternating", 0.0)):
        maps = dirac_stability.measured_maps(name, lam, hs)
        ref = np.stack([dirac_stability.reference_map(name, h, lam) for h in hs])
        np.testing.assert_allclose(maps, ref, atol=2e-6)
    # simultaneous GD: ρ = √(1 + h²); alternating: ρ = 1 for h ≤ 2
    sim = dirac_stability.spectral_radius(dirac_stability.measured_maps("simultaneous", 0, hs))
    np.testing.assert_allclose(sim, np.sqrt(1 + hs**2), rtol=1e-6)
    alt = dirac_stability.spectral_radius(dirac_stability.measured_maps("alternating", 0, hs))
    np.testing.assert_allclose(alt, 1.0, atol=1e-5)
    assert (
        dirac_stability.largest_stable_h(np.array([0.1, 0.2, 0.3]), np.array([0.9, 1.0, 1.1]))
        == 0.2
    )


# --------------------------------------------------------------------------------------
# the driver
# --------------------------------------------------------------------------------------


def test_seeds_parse_or_fail_with_one_message():
    assert reproduce.parse_seeds("0-3,7") == (0, 1, 2, 3, 7)
    assert reproduce.parse_seeds("2,2,1") == (2, 1)
    for bad in ("a", "3-1", "", "-1", "1,,2"):
        with pytest.raises(StudyError, match="--seeds"):
            reproduce.parse_seeds(bad)
    assert reproduce.override_text((100, 2000)) == "(100,2000)"
    assert reproduce.override_text((5,)) == "(5,)"
    assert reproduce.override_text(False) == "false"


def test_bad_study_names_seeds_and_workdirs_are_one_clear_error(tmp_path, capsys):
    r = odegan_here(capsys, "reproduce", "nope", "--seeds", "1-x", "--workdir", str(tmp_path))
    assert r.returncode == 2 and "unknown study 'nope'" in r.stderr and "order_study" in r.stderr
    r = odegan_here(
        capsys, "reproduce", "order_study", "--seeds", "1-x", "--workdir", str(tmp_path)
    )
    assert r.returncode == 2 and "--seeds '1-x' does not parse" in r.stderr
    assert "Traceback" not in r.stderr
    # a directory made by another study, with another size, or holding something else:
    # refused before any run starts
    (tmp_path / "order_study").mkdir()
    (tmp_path / "order_study" / "study.json").write_text(
        json.dumps({"study": "lambda_sweep", "full": False, "overrides": []})
    )
    with pytest.raises(StudyError, match="holds the runs of another study"):
        reproduce.run_study("order_study", str(tmp_path))
    (tmp_path / "order_study" / "study.json").write_text(
        json.dumps({"study": "order_study", "full": True, "overrides": []})
    )
    with pytest.raises(StudyError, match="another size"):
        reproduce.run_study("order_study", str(tmp_path))
    with pytest.raises(StudyError, match="another extra --config overrides"):
        reproduce.run_study("order_study", str(tmp_path), size="full", overrides=[("steps", "9")])
    (tmp_path / "lambda_sweep").mkdir()
    (tmp_path / "lambda_sweep" / "notes.txt").write_text("mine")
    with pytest.raises(StudyError, match="holds no study.json"):
        reproduce.run_study("lambda_sweep", str(tmp_path))
    assert (tmp_path / "lambda_sweep" / "notes.txt").read_text() == "mine"
    assert os.listdir(tmp_path / "order_study") == ["study.json"]  # nothing was run
    r = odegan_here(capsys, "reproduce")
    assert r.returncode == 0 and all(name in r.stdout for name in reproduce.NAMES)


SMOKE = [
    "--seeds",
    "0",
    "--config.steps=200",
    "--config.model.width=16",
    "--config.loop.log_every=50",
    "--config.loop.checkpoint_every=50",
    "--config.loop.eval_samples=500",
    "--config.loop.plot=false",
]


def _numbers(path):
    results = json.loads(path.read_text())
    return results["numbers"], {
        k: (v["status"], v.get("params_sha256")) for k, v in results["runs"].items()
    }


def test_a_killed_study_resumes_to_the_same_results(tmp_path, capsys):
    """main_job_seeds on seed 0 at 200 steps (16-unit layers): uninterrupted in A; in B killed
    (SIGKILL, its run included) once the run has a checkpoint, then run again: the run resumes
    from its checkpoint and the study ends with A's numbers and params. A again skips its run."""
    # the drivers of A and of B's second go run in this process (their runs are subprocesses)
    whole = odegan_here(
        capsys, "reproduce", "main_job_seeds", "--workdir", str(tmp_path / "A"), *SMOKE
    )
    assert whole.returncode == 0, whole.stderr
    exe = os.path.join(os.path.dirname(sys.executable), "odegan")
    cmd = [exe] if os.path.exists(exe) else [sys.executable, "-m", "odegan_jax.cli"]
    proc = subprocess.Popen(
        cmd + ["reproduce", "main_job_seeds", "--workdir", str(tmp_path / "B"), *SMOKE],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, CI="true"),
    )
    run = tmp_path / "B" / "main_job_seeds" / "runs" / "seed0"
    deadline = time.time() + 300
    while time.time() < deadline and not (
        (run / "checkpoints").is_dir()
        and any(
            s.isdigit() and (run / "checkpoints" / s / "_CHECKPOINT_METADATA").exists()
            for s in os.listdir(run / "checkpoints")
        )
    ):  # a committed step folder
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(1)  # the run dies with the driver (PR_SET_PDEATHSIG)
    assert not (run / "summary.json").exists(), "the run finished before the kill"
    again = odegan_here(
        capsys, "reproduce", "main_job_seeds", "--workdir", str(tmp_path / "B"), *SMOKE
    )
    assert again.returncode == 0, again.stderr
    log = (tmp_path / "B" / "main_job_seeds" / "runs" / "seed0.log").read_text()
    assert "resuming from the checkpoint" in log, log[-2000:]
    assert _numbers(tmp_path / "A" / "main_job_seeds" / "results.json") == _numbers(
        tmp_path / "B" / "main_job_seeds" / "results.json"
    )
    skip = odegan_here(
        capsys, "reproduce", "main_job_seeds", "--workdir", str(tmp_path / "A"), *SMOKE
    )
    assert skip.returncode == 0 and "seed0: finished before (ok), skipped" in skip.stdout
    assert (tmp_path / "A" / "main_job_seeds" / "hq_per_seed.png").stat().st_size > 0


# --------------------------------------------------------------------------------------
# the loop's instruments the studies read: loop.lte_every and loop.snapshot_steps
# --------------------------------------------------------------------------------------


def test_truncation_error_has_eulers_order_and_shrinks_with_higher_orders():
    """The step-doubling error of Euler is O(h²): halving h divides it by about 4. The
    networks are ReLU MLPs, whose gradient field has kinks, and float32 puts a floor near
    1e-6 under the estimate, so the higher orders show no clean rate at any h here; their
    error must still be below Euler's and fall with h (RK4 checked)."""
    import jax.numpy as jnp

    from odegan_jax.actions import truncation_error_fn
    from odegan_jax.config import base_config
    from odegan_jax.experiment import build, init_state

    errors = {}
    for integrator in ("euler", "rk4"):
        c = base_config()
        c.model.width, c.data.batch_size = 16, 64
        c.rule.update(integrator=integrator, h=0.02, reg_weight=0.0, schedule="constant")
        exp = build(c)
        fn, state = truncation_error_fn(exp), init_state(exp)
        control = state.rule_state["control"]
        for h in (0.02, 0.01):  # the h in the state: one program for both sizes
            at_h = state._replace(
                rule_state=dict(
                    state.rule_state, control=control._replace(h=jnp.asarray(h, control.h.dtype))
                )
            )
            errors[integrator, h] = float(fn(at_h, None)[0])
    assert 3.0 < errors["euler", 0.02] / errors["euler", 0.01] < 5.0, errors
    assert errors["rk4", 0.02] < errors["euler", 0.02], errors
    assert errors["rk4", 0.01] < errors["rk4", 0.02], errors


def test_snapshots_hold_g_at_the_fixed_latents_at_their_steps(tmp_path, capsys):
    from odegan_jax.experiment import load_run

    run = tmp_path / "run"
    r = odegan_here(
        capsys,
        "train",
        "--workdir",
        str(run),
        "--config.steps=60",
        "--config.loop.steps_per_call=20",
        "--config.loop.log_every=20",
        "--config.loop.checkpoint_every=20",
        "--config.loop.keep_checkpoints=5",
        "--config.loop.eval_samples=500",
        "--config.loop.snapshot_steps=(20,40)",
        "--config.loop.lte_every=20",
    )
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(run / "snapshots")) == ["step_0000020.npy", "step_0000040.npy"]
    for step in (20, 40):
        exp, state, found = load_run(str(run), step)
        np.testing.assert_array_equal(
            np.load(run / "snapshots" / f"step_{step:07d}.npy"), exp.samples(state, 500)
        )
    rows = [json.loads(line) for line in open(run / "metrics.jsonl")]
    assert [row["step"] for row in rows if "lte" in row] == [20, 40, 60]
    assert all(0 < row["lte_rel"] < 1 for row in rows if "lte" in row)


def test_wgan_gradient_claims_read_vanishing_and_exploding_by_magnitude():
    from odegan_jax.reproduce import wgan_critics

    layers = 13
    norms = {
        "clip0.001": [0.0] * layers,
        "clip0.01": [1e-16] * (layers - 2) + [0.0, 0.0],
        "clip0.1": [2e3] + [4e2] * (layers - 1),
        "gp": [0.3] + [2.0] * (layers - 1),
    }
    claims, ratio, med = wgan_critics.gradient_claims(norms)
    assert ratio["clip0.001"] is None and ratio["clip0.01"] == float("inf")
    assert ratio["gp"] == pytest.approx(0.15) and med["clip0.1"] == 4e2
    assert [c.verdict for c in claims] == ["reproduced", "reproduced"]
    norms["clip0.1"] = [1.0] * layers  # no explosion: only half of the claim holds
    assert wgan_critics.gradient_claims(norms)[0][0].verdict == "partly"


def test_depth_2d_measures_snapshot_drift_and_quality(tmp_path):
    from odegan_jax.reproduce import depth_2d

    study = depth_2d.STUDY
    outs, rng = [], np.random.default_rng(0)
    base = rng.normal(size=(100, 2))
    for run in study.runs("cpu", (0,)):
        model = run.label["model"]
        hq = {"m0a": 0.3, "m1a": 0.0, "m1a_nobn": 0.9}[model]
        o = _outcome(tmp_path, run, [_final(8, hq, num=8)])
        os.makedirs(os.path.join(o.dir, "snapshots"), exist_ok=True)
        move = {"m0a": 0.1, "m1a": 2.0, "m1a_nobn": 0.2}[model]
        for i, step in enumerate(depth_2d.SNAPSHOTS):  # each late snapshot shifts by `move`
            np.save(
                os.path.join(o.dir, "snapshots", f"step_{step:07d}.npy"),
                base + np.array([move * i, 0.0]),
            )
        outs.append(o)
    report = study.analyse(_ctx(tmp_path, study, outs, (0,)))
    assert report.numbers["drift"]["mog8/m1a"] == pytest.approx(2.0)
    assert report.numbers["drift"]["swiss_roll/m0a"] == pytest.approx(0.1)
    assert _verdicts(report) == ["reproduced"] * 4
    assert set(report.figures) == {"progress_swiss_roll.png", "progress_mog8.png"}


def test_a_committed_record_of_another_run_is_refused_before_anything_trains(tmp_path):
    """A finished record counts as done only when it is the run the study asks for: the same
    trajectory config and steps; loop.* / eval.* (bookkeeping) may differ."""
    from odegan_jax.reproduce import StudyError, _check_records, _run_config

    run = main_job_seeds.runs("cpu", [0])[0]
    run_dir = tmp_path / "runs" / run.id
    run_dir.mkdir(parents=True)
    (run_dir / "summary.json").write_text("{}")
    wanted = _run_config(run)

    def with_record(change):
        saved = json.loads(json.dumps(wanted))
        change(saved)
        (run_dir / "config.json").write_text(json.dumps(saved))
        _check_records(str(tmp_path), [run], ())

    with_record(lambda c: c["loop"].update(checkpoint_every=123))  # bookkeeping: done
    with pytest.raises(StudyError, match="steps: 1000 there"):
        with_record(lambda c: c.update(steps=1000))
    with pytest.raises(StudyError, match=r"rule\.h: 0\.3 there, 0\.6 here"):
        with_record(lambda c: c["rule"].update(h=0.3))
