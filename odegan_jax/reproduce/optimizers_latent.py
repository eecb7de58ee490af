"""``optimizers_latent`` (Bhope19 Experiments B, D and E; GANnotes): Yamazaki17's DCGAN (M0_B,
``dcgan28``) on
Fashion-MNIST with latent sizes 10 / 100 / 200, with five optimisers, and as a WGAN with
weight clipping and a WGAN-GP (``configs/wgan_fashion_mnist.py``, ``wgan_gp_fashion_mnist.py``),
scored by the shipped Fashion-MNIST classifier (FID / IS / KID in its feature space) every
eighth of the run.

The settings, fixed before any run:

- Latent sizes: Adam 2e-4, β = (0.5, 0.999), batch 64, the non-saturating loss
  (``dcgan_fashion_mnist``); the z = 100 run is also the Adam run of the optimisers.
- Optimisers: one learning rate, 2e-4, for every optimiser, as in ``optimizers_2d`` (Bhope19 gives
  none; 2e-4 is the DCGAN recipe Bhope19 followed), each one's other hyperparameters at optax's
  defaults (Adam keeps DCGAN's β₁ = 0.5).
- WGAN: RMSprop 5e-5, c = 0.01, n_critic = 5; WGAN-GP: λ = 10, n_critic = 5, Adam 1e-4,
  β = (0, 0.9), no BatchNorm in the critic. Their steps are generator iterations, so they run
  a fifth of the DCGAN runs' steps: the same number of critic updates.
- Criteria: "does not noticeably change" = the final FIDs of z = 10 and z = 200 within 25% of
  z = 100's; "most stable loss" = the smallest standard deviation of D's loss over the
  second half of the run; "the loss reflects image quality" = Spearman's ρ between the
  critic's Wasserstein estimate (−loss_d) and FID over the scored steps ≥ 0.8, where the
  non-saturating GAN's ρ(loss_d, FID) is read beside it for contrast.

The CPU size (400 steps, ~45 minutes on 2 cores) is far shorter than Bhope19's runs ("10000
epochs"); the table says so where that decides the verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from odegan_jax.reproduce import Claim, Report, Run, Study, fmt, mean_or_none
from odegan_jax.reproduce.image_scores import final_samples, grid_figure, score_figure

if TYPE_CHECKING:
    from odegan_jax.reproduce import Context

LATENTS = (10, 100, 200)
OPTIMIZERS = ("adam", "rmsprop", "sgd", "adadelta", "adagrad")
WGANS = ("wgan", "wgan_gp")
LR = 2e-4
SCORES = 8  # scored steps per run


SIZES = {"cpu": (400, 2_000), "gpu": (5_000, 10_000), "full": (10_000, 10_000)}


def runs(size: str, seeds: Sequence[int]) -> list[Run]:
    steps, samples = SIZES[size]  # DCGAN steps, samples per score

    def common(n):
        return (
            ("steps", n),
            ("loop.score_every", max(n // SCORES, 1)),
            ("loop.log_every", max(n // 40, 1)),
            ("loop.sample_every", n),
            ("loop.checkpoint_every", max(n // 4, 1)),
            ("eval.num_samples", samples),
        )

    out = []
    for s in seeds:
        for z in LATENTS:
            out.append(
                Run(
                    f"adam_z{z}_seed{s}",
                    "dcgan_fashion_mnist",
                    seed=s,
                    overrides=common(steps) + (("model.latent_size", z),),
                    labels=(
                        ("setting", "adam" if z == 100 else f"adam_z{z}"),
                        ("latent", z),
                        ("seed", s),
                    ),
                )
            )
        for opt in OPTIMIZERS[1:]:
            out.append(
                Run(
                    f"{opt}_seed{s}",
                    "dcgan_fashion_mnist",
                    seed=s,
                    overrides=common(steps)
                    + (
                        ("optimizer.name", opt),
                        ("optimizer.learning_rate", LR),
                        ("optimizer.b1", None),
                        ("optimizer.b2", None),
                    ),
                    labels=(("setting", opt), ("seed", s)),
                )
            )
        for name in WGANS:
            out.append(
                Run(
                    f"{name}_seed{s}",
                    f"{name}_fashion_mnist",
                    seed=s,
                    overrides=common(steps // 5),
                    labels=(("setting", name), ("seed", s)),
                )
            )
    return out


def loss_spread(rows: list[dict]) -> float | None:
    """Standard deviation of D's loss over the second half of a run's logged steps."""
    rows = [r for r in rows if "loss_d" in r]
    values = [r["loss_d"] for r in rows[len(rows) // 2 :]]
    return float(np.std(values)) if len(values) >= 2 else None


def loss_fid_rho(scored: list[dict], sign: float) -> float | None:
    """Spearman's ρ between ``sign`` × D's loss (logged at the scored steps) and FID."""
    from scipy.stats import spearmanr

    pairs = [(sign * r["loss_d"], r["fid"]) for r in scored if "loss_d" in r]
    if len(pairs) < 3:
        return None
    rho = spearmanr(*zip(*pairs)).statistic
    return None if not np.isfinite(rho) else float(rho)


def analyse(ctx: Context) -> Report:
    settings = (
        [f"adam_z{z}" if z != 100 else "adam" for z in LATENTS] + list(OPTIMIZERS[1:]) + list(WGANS)
    )
    rows = {o.run.id: o.metrics() if o.ok else [] for o in ctx.outcomes}  # read once
    scored = {k: [r for r in v if "fid" in r] for k, v in rows.items()}
    per = {}
    table = []
    for o in ctx.outcomes:
        f = scored[o.run.id][-1] if scored[o.run.id] else {}
        per[o.run.id] = {
            "setting": o.run.label["setting"],
            "status": o.status,
            "final_fid": f.get("fid"),
            "final_is": f.get("is"),
            "final_kid": f.get("kid"),
            "best_fid": min((r["fid"] for r in scored[o.run.id]), default=None),
            "loss_d_std_late": loss_spread(rows[o.run.id]),
            "wall_time_s": o.summary.get("wall_time_s") if o.ok else None,
        }
        p = per[o.run.id]
        table.append(
            [
                o.run.id,
                o.status if o.ok else f"**{o.status}**",
                str(o.summary.get("steps", "–")) if o.ok else "–",
                fmt(p["final_fid"], "{:.1f}"),
                fmt(p["best_fid"], "{:.1f}"),
                fmt(p["final_is"], "{:.2f}"),
                fmt(p["loss_d_std_late"], "{:.3f}"),
                fmt(p["wall_time_s"], "{:.0f}"),
            ]
        )

    def mean_of(setting, key):
        return mean_or_none([per[o.run.id][key] for o in ctx.select(setting=setting)])

    fid = {s: mean_of(s, "final_fid") for s in settings}
    spread = {s: mean_of(s, "loss_d_std_late") for s in settings}
    # latent sizes: within 25% of z = 100's FID
    base = fid["adam"]
    ratios = {
        z: (None if fid[s] is None or not base else fid[s] / base)
        for z, s in zip(LATENTS, ("adam_z10", "adam", "adam_z200"))
    }
    known = [r for z, r in ratios.items() if z != 100 and r is not None]
    latent_verdict = (
        "not run"
        if len(known) < 2
        else "reproduced"
        if all(0.75 <= r <= 1.25 for r in known)
        else "not reproduced"
    )
    # optimisers: SGD best FID and most stable loss
    opt_fid = {s: fid[s] for s in OPTIMIZERS if fid[s] is not None}
    opt_spread = {s: spread[s] for s in OPTIMIZERS if spread[s] is not None}
    best_opt = min(opt_fid, key=opt_fid.get) if opt_fid else None
    calm_opt = min(opt_spread, key=opt_spread.get) if opt_spread else None
    opt_verdict = (
        "not run"
        if best_opt is None
        else "reproduced"
        if best_opt == calm_opt == "sgd"
        else "partly"
        if "sgd" in (best_opt, calm_opt)
        else "not reproduced"
    )

    # WGAN: the critic's estimate tracks FID; the GAN's loss does not need to
    def rho(setting, sign):
        return mean_or_none(
            [loss_fid_rho(scored[o.run.id], sign) for o in ctx.select(setting=setting)]
        )

    rho_w, rho_gp, rho_gan = rho("wgan", -1.0), rho("wgan_gp", -1.0), rho("adam", 1.0)
    w_verdict = (
        "not run"
        if rho_w is None and rho_gp is None
        else "reproduced"
        if all(r is not None and r >= 0.8 for r in (rho_w, rho_gp))
        else "partly"
        if any(r is not None and r >= 0.8 for r in (rho_w, rho_gp))
        else "not reproduced"
    )
    gp_verdict = (
        "not run"
        if fid["wgan"] is None or fid["wgan_gp"] is None
        else "reproduced"
        if fid["wgan_gp"] < fid["wgan"]
        else "not reproduced"
    )
    short = (
        ""
        if ctx.full
        else (
            f" At the {ctx.size.upper()} size ({SIZES[ctx.size][0]:,} DCGAN steps against "
            "Bhope19's "
            "10,000 epochs) this reads early training only."
        )
    )

    def listing(values, pattern):
        return ", ".join(f"{k} {fmt(v, pattern)}" for k, v in values.items())

    claims = [
        Claim(
            "the latent size (10 / 100 / 200) does not noticeably change the results",
            "Bhope19 Experiment B (GAN on MNIST; Fig. 6)",
            "losses and images look identical",
            f"final FID: z=10 {fmt(fid['adam_z10'], '{:.1f}')}, z=100 {fmt(base, '{:.1f}')}, "
            f"z=200 {fmt(fid['adam_z200'], '{:.1f}')} (ratios to z=100: "
            + ", ".join(f"{fmt(ratios[z], '{:.2f}')}" for z in (10, 200))
            + ")",
            latent_verdict,
            "criterion: z=10 and z=200 within 25% of z=100's FID; DCGAN on "
            "Fashion-MNIST rather than Bhope19's GAN on MNIST." + short,
        ),
        Claim(
            "SGD gives the clearest images and the most stable loss of Adam, RMSprop, SGD, "
            "Adadelta, Adagrad",
            "Bhope19 Experiment D (Fig. 8)",
            "SGD best",
            f"final FID: {listing({s: opt_fid.get(s) for s in OPTIMIZERS}, '{:.1f}')} "
            f"(best: {best_opt}); std of loss_d, second half: "
            f"{listing({s: opt_spread.get(s) for s in OPTIMIZERS}, '{:.3f}')} "
            f"(smallest: {calm_opt})",
            opt_verdict,
            f"one learning rate ({LR:g}) for every optimiser; Bhope19 gives none. "
            "A flat loss can also mean a player that does not learn: read it with the FID." + short,
        ),
        Claim(
            "the WGAN critic's loss reflects image quality (unlike the GAN's)",
            "Bhope19 Experiment E (Fig. 9); GANnotes",
            "stated, from the loss curves",
            f"Spearman ρ(−loss_d, FID) over the scored steps: WGAN {fmt(rho_w, '{:.2f}')}, "
            f"WGAN-GP {fmt(rho_gp, '{:.2f}')}; the GAN's ρ(loss_d, FID) "
            f"{fmt(rho_gan, '{:.2f}')}",
            w_verdict,
            "criterion: ρ ≥ 0.8 for both WGANs; 8 scored steps per run." + short,
        ),
        Claim(
            "the gradient penalty enforces the Lipschitz constraint more effectively than clipping",
            "GANnotes (WGAN-GP)",
            "better samples than weight clipping",
            f"final FID: WGAN {fmt(fid['wgan'], '{:.1f}')}, WGAN-GP "
            f"{fmt(fid['wgan_gp'], '{:.1f}')} (equal critic updates)",
            gp_verdict,
            "both at a fifth of the DCGAN runs' generator steps." + short,
        ),
    ]
    figures = {
        "fid_over_training.png": score_figure(scored),
        "samples.png": grid_figure(final_samples(ctx, "setting", settings), ncols=5),
    }
    return Report(
        claims,
        tables=[
            (
                "Per run (classifier FID / IS on the run's samples; std of "
                "loss_d over the second half of the run)",
                [
                    "run",
                    "status",
                    "steps",
                    "final FID",
                    "best FID",
                    "final IS",
                    "loss_d std",
                    "wall s",
                ],
                table,
            )
        ],
        numbers={
            "per_run": per,
            "mean_final_fid": fid,
            "latent_fid_ratios": {str(z): r for z, r in ratios.items()},
            "loss_d_std_late": spread,
            "spearman_rho": {"wgan": rho_w, "wgan_gp": rho_gp, "gan": rho_gan},
        },
        figures=figures,
        notes=[
            "scores: the shipped Fashion-MNIST classifier's features (not "
            "Inception's), each run's samples against the training images; "
            "Fashion-MNIST's own test set against train is the floor "
            "(fid_real_test_vs_train in each run's metrics.jsonl)"
        ],
    )


STUDY = Study(
    "optimizers_latent",
    "Bhope19's latent sizes, optimisers and WGANs on Fashion-MNIST images",
    "Bhope19 Experiments B, D, E; GANnotes",
    runs,
    analyse,
    seeds=(0,),
    sizes="400 DCGAN steps per run, 80 for the WGANs, FID on 2,000 samples "
    "(--full: 10,000 / 2,000 steps, 10,000 samples)",
    gpu="5,000 DCGAN steps, 1,000 for the WGANs, FID on 10,000 samples",
)
