"""``odegan_vs_adam_images`` (Qin20 Table 1, Figs 5 / 6 / 7, and the talk's "up to 2x slower"):
ODE-GAN (RK4, h = 0.04, λ = 0.01), RK4 + Adam, Adam and the SN-GAN baseline on
Fashion-MNIST, scored by the shipped Fashion-MNIST classifier (FID / IS / KID in its feature
space) over training.

Network: Yamazaki17's M0_B DCGAN (``dcgan28``) **without BatchNorm in D**, as the official ODE-GAN
D has none, for every method; Adam also trains Yamazaki17's M0_B as published (BatchNorm in D) as a
second baseline. BatchNorm in D makes the field ~45x stiffer at initialisation
(``odegan stiffness``), which puts RK4 at h = 0.04 far outside its stable range; without it
h = 0.04 is inside (the table gives the measured h_max). All use Qin20's 128 latents N(0, I),
the non-saturating loss (the two-logit cross-entropy of the official code), batch 64; the
ODE rules the official code's options (a fresh minibatch per stage, the regulariser in the
stage-1 D gradient, h/4 for the first 500 steps), RK4 + Adam the official form (every stage
point an Adam step).

Size (CPU default): 10,000 steps at batch 64 (~10.7 epochs), FID / IS on 10,000 samples every
500 steps; 3 seeds for RK4, Adam and Adam with BN, 2 for RK4 + Adam and SN-GAN. Measured on the
2-core machine: ~0.20 s an RK4 step, ~0.085 s an Adam step (both cores), about 5 CPU hours in
all. ``--gpu``: 50,000 steps; ``--full``: Qin20's 1M steps. This size does not decide: the
committed Adam records improved their best FID by 13–19% over the last quarter, and one Adam run
to 40,000 steps (``experiments/results/adam_length_probe/``) had not settled either (7.4%).

The criteria, fixed before any run (constants below; means over seeds):

- The size decides only if every Adam baseline (no BN) has settled: its best FID improved by
  less than :data:`SETTLED` over the last quarter of its run. Otherwise every verdict is
  "undecided".
- A comparison of two means decides only when they differ by more than the sum of their
  standard deviations over seeds (:data:`SEPARATION`); else it is "undecided".
- RK4 beats SN-GAN: its best and its final FID below SN-GAN's ("partly": one of the two).
- RK4 + Adam is as good at its best but degrades: its best FID within :data:`WITHIN` of
  RK4's, and its final / best FID ratio above RK4's ("partly": one of the two).
- Loss balance (Qin20 Fig. 5): RK4's (ℓ_D, ℓ_G) nearer the Nash values (2 log 2, log 2) than
  Adam's over the second half, and Adam's D(x) − D(G(z)) gap wider.
- Competitive without Adam: RK4's best FID at most :data:`WITHIN` above Adam's.
- "Up to 2x slower": per seed, the wall time RK4 needs to reach the Adam run's best FID is at
  most :data:`SLOWER` times the time the Adam run took to get there (never getting there
  fails it).
- h = 0.04 is a stable RK4 step for this network: the stiffness tool's RK4 h_max at
  initialisation and at every measured checkpoint of the RK4 runs is ≥ 0.04.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from odegan_jax.reproduce import Claim, Report, Run, Study, fmt
from odegan_jax.reproduce.image_scores import (
    best_final,
    final_samples,
    grid_figure,
    mean_std,
    pluck,
    pm,
    score_figure,
    scored_rows,
    time_to_reach,
)
from odegan_jax.reproduce.loss_balance import NASH_D, NASH_G, balance, loss_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from odegan_jax.reproduce import Context, Outcome

# ---------------------------------------------------------------- criteria (fixed before runs)
SETTLED = 0.05  # the Adam baseline's best FID improved by less than this over the last quarter
SEPARATION = 1.0  # means differ by more than this many (summed) standard deviations over seeds
WITHIN = 0.10  # "as good as": at most 10% above
SLOWER = 2.0  # "up to 2x slower"
H_OFFICIAL = 0.04  # Qin20's h for the DCGAN
STIFFNESS_STEPS = (0, 1000, 2000, 5000, 10000)  # checkpoints the stiffness is measured at

# ---------------------------------------------------------------- the runs
NO_BN_D = (("model.d_batchnorm", False),)
SETTINGS = {  # setting: (config, overrides, seeds used: the first n of the study's)
    "adam": ("dcgan_fashion_mnist", NO_BN_D, 3),
    "rk4": ("fashion_mnist_odegan", NO_BN_D, 3),
    "adam_bn": ("dcgan_fashion_mnist", (("model.d_batchnorm", True),), 3),
    "rk4_adam": ("fashion_mnist_odegan_adam", NO_BN_D, 2),
    "sngan": ("sngan_fashion_mnist", NO_BN_D, 2),
}
NAMES = {
    "rk4": "ODE-GAN (RK4)",
    "rk4_adam": "ODE-GAN (RK4 + Adam)",
    "adam": "Adam",
    "adam_bn": "Adam, M0_B with BN in D",
    "sngan": "SN-GAN",
}
COLORS = {"rk4": "C3", "rk4_adam": "C1", "adam": "C0", "adam_bn": "C4", "sngan": "C2"}
# field (both players' gradient) evaluations per training step
EVALUATIONS = {"rk4": 4, "rk4_adam": 4, "adam": 2, "adam_bn": 2, "sngan": 2}
# Qin20 Table 1, CIFAR-10, DCGAN: FID best / final, IS best / final (means over 3 seeds)
SOURCE_TABLE = {
    "rk4": ("17.66 ± 0.38 / 18.05 ± 0.53", "7.97 ± 0.03 / 7.86 ± 0.09"),
    "rk4_adam": ("17.47 ± 0.30 / 23.20 ± 0.95", "8.00 ± 0.06 / 7.59 ± 0.14"),
    "adam": ("–", "–"),
    "adam_bn": ("–", "–"),
    "sngan": ("21.71 ± 0.61 / 26.16 ± 0.27", "7.60 ± 0.06 / 7.02 ± 0.02"),
}
SIZES = {  # steps, batch, samples per score, score every
    "cpu": (10_000, 64, 10_000, 500),
    "gpu": (50_000, 64, 10_000, 2_500),
    "full": (1_000_000, 64, 10_000, 10_000),
}


def runs(size: str, seeds: Sequence[int]) -> list[Run]:
    steps, batch, samples, every = SIZES[size]
    common = (
        ("steps", steps),
        ("data.batch_size", batch),
        ("loop.score_every", every),
        ("loop.log_every", max(steps // 200, 1)),
        ("loop.sample_every", steps),
        ("loop.checkpoint_every", max(steps // 10, 1)),
        ("loop.keep_checkpoints", 11),
        ("eval.num_samples", samples),
        ("model.latent_size", 128),
    )
    out = []
    for setting, (config, overrides, n) in SETTINGS.items():
        for s in tuple(seeds)[:n]:
            out.append(
                Run(
                    f"{setting}_seed{s}",
                    config,
                    seed=s,
                    overrides=common + overrides,
                    labels=(("setting", setting), ("seed", s)),
                )
            )
    return out


# ---------------------------------------------------------------- aggregation


def settled(scored: list[dict], key: str = "fid") -> dict:
    """How much the best FID improved over the last quarter of a run: ``{"gain", "settled"}``
    (gain = 1 − best over the run / best over its first three quarters)."""
    values = [(r["step"], r[key]) for r in scored if r.get(key) is not None]
    if len(values) < 4:
        return {"gain": None, "settled": None}
    last = values[-1][0]
    early = [v for s, v in values if s <= 0.75 * last]
    gain = 1.0 - min(v for _, v in values) / min(early)
    return {"gain": float(gain), "settled": bool(gain < SETTLED)}


def per_run(ctx: Context) -> tuple[dict, dict]:
    """(run id → the run's numbers, run id → its scored rows)."""
    rows = {o.run.id: o.metrics() if o.ok else [] for o in ctx.outcomes}
    scored = {k: scored_rows(v) for k, v in rows.items()}
    per = {}
    for o in ctx.outcomes:
        sc, setting = scored[o.run.id], o.run.label["setting"]
        bal = balance(o, rows[o.run.id])
        per[o.run.id] = {
            "setting": setting,
            "seed": o.run.seed,
            "status": o.status,
            "fid": best_final(sc, "fid", True),
            "is": best_final(sc, "is", False),
            "kid": best_final(sc, "kid", True),
            "balance": bal,
            "settle": settled(sc),
            "saturated": bool(bal) and bal["loss_d"] < 0.01,
            "wall_time_s": o.summary.get("wall_time_s") if o.ok else None,
            "steps_per_s": o.summary.get("steps_per_s") if o.ok else None,
            "stiffness": read_stiffness(o),
        }
    return per, scored


def read_stiffness(o: Outcome) -> dict | None:
    """The run's ``stiffness.json`` (written by :func:`measure_stiffness`), if any."""
    from odegan_jax.reproduce import _read_json

    return _read_json(os.path.join(o.dir, "stiffness.json"))


def measure_stiffness(o: Outcome, echo: Callable[[str], None] = print) -> None:
    """``stiffness.json`` of a finished ODE run: the leading eigenvalues and h_max at
    :data:`STIFFNESS_STEPS` (step 0 from its config's initialisation), from its local
    checkpoints. A committed record keeps the file; without checkpoints nothing is done."""
    path = os.path.join(o.dir, "stiffness.json")
    if not o.ok or os.path.exists(path) or not os.path.isdir(os.path.join(o.dir, "checkpoints")):
        return
    from odegan_jax import logs, stiffness

    echo(f"  {o.run.id}: measuring the stiffness at steps {STIFFNESS_STEPS}")
    logs.write_json(path, stiffness.measure_run(o.dir, steps=STIFFNESS_STEPS))


def seed_means(ctx: Context, per: dict) -> dict:
    def values(setting, *path):
        return pluck(ctx, per, path, setting=setting)

    out = {}
    for s in SETTINGS:
        out[s] = {
            name: mean_std(values(s, *path))
            for name, path in (
                ("fid_best", ("fid", "best")),
                ("fid_final", ("fid", "final")),
                ("is_best", ("is", "best")),
                ("is_final", ("is", "final")),
                ("dist_nash", ("balance", "dist_nash")),
                ("gap", ("balance", "gap")),
                ("steps_per_s", ("steps_per_s",)),
            )
        }
    return out


def reach_times(ctx: Context, per: dict, scored: list[dict]) -> dict:
    """Per seed: the wall time and field evaluations RK4 and Adam need to reach the Adam run's
    best FID."""
    reach = {}
    for seed in ctx.seeds:
        adam = [o for o in ctx.select(setting="adam", seed=seed) if o.ok]
        rk4 = [o for o in ctx.select(setting="rk4", seed=seed) if o.ok]
        if not adam or not rk4:
            continue
        target = per[adam[0].run.id]["fid"]["best"]
        a = time_to_reach(scored[adam[0].run.id], "fid", target)
        r = time_to_reach(scored[rk4[0].run.id], "fid", target)
        reach[seed] = {
            "target_fid": target,
            "adam_step": a and a[0],
            "adam_s": a and a[1],
            "rk4_step": r and r[0],
            "rk4_s": r and r[1],
            "ratio": (r[1] / a[1]) if (a and r and a[1] and r[1] is not None) else None,
            "evaluation_ratio": (
                r[0] * EVALUATIONS["rk4"] / (a[0] * EVALUATIONS["adam"])
                if a and r and a[0]
                else None
            ),
        }
    return reach


# ---------------------------------------------------------------- claims


def decided_less(a: tuple, b: tuple) -> bool | str | None:
    """Is mean a below mean b, decided at :data:`SEPARATION`? True / False / "undecided" /
    None (missing). ``a``, ``b``: (mean, std, n)."""
    if a[0] is None or b[0] is None:
        return None
    if abs(a[0] - b[0]) <= SEPARATION * (a[1] + b[1]):
        return "undecided"
    return a[0] < b[0]


def verdict(conditions: Sequence[bool | None], settled_size: bool) -> str:
    if any(c is None for c in conditions):
        return "not run"
    if not settled_size or any(c == "undecided" for c in conditions):
        return "undecided"
    return "reproduced" if all(conditions) else "partly" if any(conditions) else "not reproduced"


def _ratio(best, final):
    return None if best[0] is None or final[0] is None else final[0] / best[0]


def claims(
    ctx: Context, per: dict, mean: dict, reach: dict, settled_size: bool, size_note: str
) -> list:
    rk, ra, ad, sn = (mean[s] for s in ("rk4", "rk4_adam", "adam", "sngan"))
    f1 = lambda m: fmt(m[0], "{:.1f}")  # noqa: E731
    ra_ratio, rk_ratio = (
        _ratio(ra["fid_best"], ra["fid_final"]),
        _ratio(rk["fid_best"], rk["fid_final"]),
    )
    within = (
        None
        if ra["fid_best"][0] is None or rk["fid_best"][0] is None
        else ra["fid_best"][0] <= (1 + WITHIN) * rk["fid_best"][0]
    )
    competitive = (
        None
        if rk["fid_best"][0] is None or ad["fid_best"][0] is None
        else rk["fid_best"][0] <= (1 + WITHIN) * ad["fid_best"][0]
    )
    ratios = [v["ratio"] for v in reach.values()]
    slow = None if not reach else all(r is not None and r <= SLOWER for r in ratios)
    stiff = [per[o.run.id]["stiffness"] for o in ctx.select(setting="rk4") if o.ok]
    h_maxes = [m["h_max"]["rk4"] for s in stiff if s for m in s["measurements"]]
    stable = None if not h_maxes else min(h_maxes) >= H_OFFICIAL
    return [
        Claim(
            "ODE-GAN (RK4) beats the SN-GAN baseline (FID best and final)",
            "Qin20 Table 1, Fig. 6",
            "CIFAR-10 DCGAN: 17.66 / 18.05 vs 21.71 / 26.16",
            f"FID best / final: RK4 {f1(rk['fid_best'])} / {f1(rk['fid_final'])}, SN-GAN "
            f"{f1(sn['fid_best'])} / {f1(sn['fid_final'])}",
            verdict(
                [
                    decided_less(rk["fid_best"], sn["fid_best"]),
                    decided_less(rk["fid_final"], sn["fid_final"]),
                ],
                settled_size,
            ),
            "means over seeds; classifier FID on Fashion-MNIST, not Inception FID on "
            "CIFAR-10." + size_note,
        ),
        Claim(
            "RK4 + Adam is as good at its best but degrades towards the end",
            "Qin20 Table 1, Fig. 7",
            "best 17.47 vs RK4 17.66; final 23.20 vs 18.05",
            f"best FID: RK4 + Adam {f1(ra['fid_best'])}, RK4 {f1(rk['fid_best'])}; "
            f"final / best: RK4 + Adam {fmt(ra_ratio, '{:.2f}')}, RK4 "
            f"{fmt(rk_ratio, '{:.2f}')}",
            verdict(
                [within, None if ra_ratio is None or rk_ratio is None else ra_ratio > rk_ratio],
                settled_size,
            ),
            f"criterion: best within {WITHIN:.0%} of RK4's, and a larger final / best "
            "ratio; Qin20 sees the degradation late in 1M steps." + size_note,
        ),
        Claim(
            "ODE-GAN keeps ℓ_D, ℓ_G near their Nash values; with Adam D dominates",
            "Qin20 Fig. 5",
            f"RK4 near ℓ_D = {NASH_D:.3f}, ℓ_G = {NASH_G:.3f}; Adam's ℓ_D falls, ℓ_G rises",
            f"distance from the Nash values, second half: RK4 {fmt(rk['dist_nash'][0])}, "
            f"Adam {fmt(ad['dist_nash'][0])}; D(x) − D(G(z)): RK4 {fmt(rk['gap'][0])}, "
            f"Adam {fmt(ad['gap'][0])}",
            verdict(
                [
                    decided_less(rk["dist_nash"], ad["dist_nash"]),
                    decided_less(rk["gap"], ad["gap"]),
                ],
                settled_size,
            ),
            "criterion: RK4 nearer the Nash values and with the narrower gap." + size_note,
        ),
        Claim(
            "ODE-GAN trains image GANs to competitive levels without an adaptive optimiser",
            "Qin20 abstract, Table 1",
            "RK4 ≈ RK4 + Adam at their best",
            f"best FID: RK4 {f1(rk['fid_best'])}, Adam {f1(ad['fid_best'])}",
            verdict([competitive], settled_size),
            f"criterion: RK4's best FID at most {WITHIN:.0%} above Adam's (same network)."
            + size_note,
        ),
        Claim(
            "ODE-GAN is up to 2x slower than GAN training",
            "Qin20 (talk, fine print)",
            "up to 2x",
            "wall time to the Adam run's best FID, RK4 / Adam per seed: "
            + ", ".join(
                f"seed {s}: {fmt(v['ratio'], '{:.2f}')}"
                + ("" if v["rk4_step"] is not None else " (RK4 never got there)")
                for s, v in reach.items()
            ),
            verdict([slow], settled_size),
            f"criterion: at most {SLOWER:g}x for every seed; times include compilation "
            "and the scoring passes (the same for both)." + size_note,
        ),
        Claim(
            "h = 0.04 is a stable RK4 step for the DCGAN (no BN in D)",
            "Qin20 §5, Table 1 (h = 0.04)",
            "RK4 at h = 0.04 trains the DCGAN",
            "RK4 h_max over the RK4 runs' measured steps: "
            + (f"smallest {min(h_maxes):.3g}" if h_maxes else "not measured"),
            "not run" if stable is None else "reproduced" if stable else "not reproduced",
            "the stiffness tool's largest h with |R(hλ)| ≤ 1 for the leading eigenvalues "
            f"of the training field, at steps {', '.join(map(str, STIFFNESS_STEPS))}.",
        ),
    ]


# ---------------------------------------------------------------- tables, figures, report


def tables(ctx: Context, per: dict, mean: dict, reach: dict) -> list:
    table1 = [
        [
            NAMES[s],
            f"{pm(pluck(ctx, per, ('fid', 'best'), setting=s))} / "
            f"{pm(pluck(ctx, per, ('fid', 'final'), setting=s))}",
            f"{pm(pluck(ctx, per, ('is', 'best'), setting=s), '{:.2f}')} / "
            f"{pm(pluck(ctx, per, ('is', 'final'), setting=s), '{:.2f}')}",
            fmt(mean[s]["steps_per_s"][0], "{:.2f}"),
            EVALUATIONS[s],
            SOURCE_TABLE[s][0],
            SOURCE_TABLE[s][1],
        ]
        for s in SETTINGS
    ]

    def stiff_cell(p):
        s = p["stiffness"]
        if not s:
            return "–"
        return ", ".join(f"{m['step']}: {m['h_max']['rk4']:.3g}" for m in s["measurements"])

    rows = []
    for o in ctx.outcomes:
        p = per[o.run.id]
        rows.append(
            [
                o.run.id,
                o.status if o.ok else f"**{o.status}**",
                fmt(p["fid"]["best"], "{:.1f}"),
                str(p["fid"]["best_step"] or "–"),
                fmt(p["fid"]["final"], "{:.1f}"),
                fmt(p["is"]["best"], "{:.2f}"),
                fmt(p["is"]["final"], "{:.2f}"),
                fmt(p["balance"].get("loss_d"), "{:.3f}"),
                fmt(p["balance"].get("loss_g"), "{:.3f}"),
                fmt(p["settle"]["gain"], "{:.1%}"),
                "**yes**" if p["saturated"] else "no",
                fmt(p["wall_time_s"], "{:.0f}"),
                stiff_cell(p),
            ]
        )
    reach_rows = [
        [
            s,
            fmt(v["target_fid"], "{:.1f}"),
            str(v["adam_step"]),
            fmt(v["adam_s"], "{:.0f}"),
            str(v["rk4_step"] or "never"),
            fmt(v["rk4_s"], "{:.0f}"),
            fmt(v["ratio"], "{:.2f}"),
            fmt(v["evaluation_ratio"], "{:.2f}"),
        ]
        for s, v in reach.items()
    ]
    return [
        (
            "Table 1 layout: FID and IS best / final, mean ± std over seeds (ours: Fashion-MNIST, "
            "classifier features; Qin20: CIFAR-10, Inception)",
            [
                "method",
                "FID best / final",
                "IS best / final",
                "steps / s",
                "field evals / step",
                "Qin20 FID (CIFAR-10 DCGAN)",
                "Qin20 IS",
            ],
            table1,
        ),
        (
            "Per run (ℓ_D, ℓ_G: means over the second half; last-quarter gain: how much the "
            "best FID improved over the run's last quarter; RK4 h_max by step)",
            [
                "run",
                "status",
                "best FID",
                "at step",
                "final FID",
                "best IS",
                "final IS",
                "ℓ_D",
                "ℓ_G",
                "last-quarter gain",
                "D saturated",
                "wall s",
                "RK4 h_max (step: h)",
            ],
            rows,
        ),
        (
            "Reaching the Adam run's best FID (same seed): wall time and field evaluations",
            [
                "seed",
                "target FID",
                "Adam step",
                "Adam s",
                "RK4 step",
                "RK4 s",
                "RK4 / Adam time",
                "RK4 / Adam evaluations",
            ],
            reach_rows,
        ),
    ]


def evaluation_figure(scored: list[dict], ctx: Context) -> Figure:
    """FID against field evaluations (steps × evaluations per step)."""
    by_run = {}
    for o in ctx.outcomes:
        e = EVALUATIONS[o.run.label["setting"]]
        by_run[o.run.id] = [dict(r, evaluations=r["step"] * e) for r in scored[o.run.id]]
    colors = {o.run.id: COLORS[o.run.label["setting"]] for o in ctx.outcomes}
    fig = score_figure(by_run, colors=colors, x="evaluations")
    fig.axes[0].set_xlabel("field evaluations")
    return fig


def analyse(ctx: Context) -> Report:
    for o in ctx.select(setting="rk4"):
        measure_stiffness(o)
    per, scored = per_run(ctx)
    mean = seed_means(ctx, per)
    reach = reach_times(ctx, per, scored)
    adam_settle = [per[o.run.id]["settle"]["settled"] for o in ctx.select(setting="adam") if o.ok]
    settled_size = bool(adam_settle) and all(adam_settle)
    steps = SIZES[ctx.size][0]
    size_note = (
        ""
        if settled_size
        else (
            f" At this size ({steps:,} steps) the Adam baseline had not settled (its best FID "
            f"still improved by ≥ {SETTLED:.0%} over the last quarter), so nothing is decided."
        )
    )
    colors = {o.run.id: COLORS[o.run.label["setting"]] for o in ctx.outcomes}
    rows = {o.run.id: o.metrics() if o.ok else [] for o in ctx.outcomes}
    figures = {
        "fid_over_training.png": score_figure(scored, colors=colors),
        "fid_over_time.png": score_figure(scored, colors=colors, x="time_s"),
        "fid_over_evaluations.png": evaluation_figure(scored, ctx),
        "losses.png": loss_figure(rows, colors, {}),
        "samples.png": grid_figure(
            [(NAMES[s], p) for s, p in final_samples(ctx, "setting", SETTINGS)], ncols=5
        ),
    }
    saturated = [run_id for run_id, p in per.items() if p["saturated"]]
    notes = [
        "scores: the shipped Fashion-MNIST classifier's features (not Inception's), each run's "
        "samples against 10,000 training images; Fashion-MNIST's own test set against train "
        "is the floor (fid_real_test_vs_train in metrics.jsonl)",
        "the Adam baseline's last-quarter gains: "
        + ", ".join(
            f"{o.run.id} {fmt(per[o.run.id]['settle']['gain'], '{:.1%}')}"
            for o in ctx.select(setting="adam")
            if o.ok
        )
        + f" (settled below {SETTLED:.0%}: {'yes' if settled_size else 'no'})",
        "runs whose D saturated (second-half mean ℓ_D < 0.01): "
        + (", ".join(saturated) if saturated else "none"),
    ]
    return Report(
        claims(ctx, per, mean, reach, settled_size, size_note),
        tables=tables(ctx, per, mean, reach),
        numbers={
            "per_run": per,
            "mean": mean,
            "reach": {str(k): v for k, v in reach.items()},
            "settled": settled_size,
            "criteria": {
                "settled": SETTLED,
                "separation": SEPARATION,
                "within": WITHIN,
                "slower": SLOWER,
            },
        },
        figures=figures,
        notes=notes,
    )


STUDY = Study(
    "odegan_vs_adam_images",
    "ODE-GAN (RK4) against RK4 + Adam, Adam and SN-GAN on Fashion-MNIST images",
    "Qin20 Table 1, Figs 5-7",
    runs,
    analyse,
    seeds=(0, 1, 2),
    sizes="batch 64, 10,000 steps per run, FID on 10,000 samples every 500 steps; "
    "3 seeds (RK4, Adam, Adam with BN), 2 (RK4 + Adam, SN-GAN); about 5 CPU "
    "hours on 2 cores (--full: 1M steps)",
    gpu="batch 64, 50,000 steps, 10,000 samples every 2,500 steps",
)
