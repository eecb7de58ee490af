"""``depth_images`` (Yamazaki17 §5.2-5.3, Table 5.1, Figs 5.13 / 5.15): the residual DCGANs M0_B …
M5_B
(``dcgan_depth_c0`` … ``c5``: c residual blocks in G and D, Adam 2e-4, β₁ 0.5, z ~ U(−1, 1),
init N(0, 0.02), weight decay 1e-5) with BatchNorm in G and D and in G only, on Fashion-MNIST
(Yamazaki17 trained MNIST, which is not offline here: ``--config.data.name=mnist`` runs it for users
who have it). Scored like Yamazaki17 (an Inception score from a trained classifier on 5,000 samples,
every 100 iterations there): the shipped Fashion-MNIST classifier's IS on 5,000 samples at
evenly spaced steps; the best and final IS per model next to Table 5.1, the share of the
classifier's most frequent class in each final model's samples (Yamazaki17's mode collapse of M5_B:
"mostly images of the digit 1"), and the nearest training images of the best model's samples
(Yamazaki17 §4.5.4 / Fig. 5.15).

Criteria, fixed before any run (best IS over the scored steps, one seed):

- Depth helps, then stops helping (BN in G and D): some residual model (c ≥ 1) beats M0_B,
  and the deepest (c = 5) is below the best ("partly": only the first).
- Removing BN from D hurts on MNIST: G-only below G-and-D for at least 5 of the 6 depths
  ("partly": 3 or 4).
- The deepest model collapses: M5_B's (BN G, D) most frequent class takes at least twice the
  share it takes in M0_B's samples and at least 30% of them.
- The best model's samples lie near training images (Yamazaki17: "M3_B generates samples that
  highly resemble the training samples ... in terms of L2"): the mean L2 distance from its
  samples to their nearest training images at most 1.25x the same distance for real test
  images.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from odegan_jax.reproduce import Claim, Report, Run, Study, fmt, mean_or_none
from odegan_jax.reproduce.image_scores import best_final, cached, loaded, scored_rows

if TYPE_CHECKING:
    from odegan_jax.reproduce import Context

DEPTHS = tuple(range(6))
BN = {"gd": "G, D", "g": "G"}
# Yamazaki17 Table 5.1, MNIST: Inception score (classifier) per model, mean ± std
SEED_IS = {
    ("gd", 0): "9.14 ± 0.14",
    ("gd", 1): "9.50 ± 0.074",
    ("gd", 2): "9.72 ± 0.046",
    ("gd", 3): "9.73 ± 0.058",
    ("gd", 4): "9.68 ± 0.068",
    ("gd", 5): "9.70 ± 0.070",
    ("g", 0): "9.05 ± 0.10",
    ("g", 1): "9.22 ± 0.058",
    ("g", 2): "9.26 ± 0.12",
    ("g", 3): "9.14 ± 0.094",
    ("g", 4): "9.07 ± 0.15",
    ("g", 5): "9.11 ± 0.14",
}
SIZES = {  # steps, batch, scores per run, IS samples, nearest-neighbour samples
    "cpu": (120, 16, 4, 5_000, 8),
    "gpu": (6_000, 64, 20, 5_000, 8),
    "full": (30_000, 64, 300, 5_000, 8),  # Yamazaki17: 30,000 iterations, IS every 100
}


def runs(size: str, seeds: Sequence[int]) -> list[Run]:
    steps, batch, scores, samples, _ = SIZES[size]
    common = (
        ("steps", steps),
        ("data.batch_size", batch),
        ("data.name", "fashion_mnist"),
        ("loop.score_every", max(steps // scores, 1)),
        ("loop.log_every", max(steps // 30, 1)),
        ("loop.sample_every", steps),
        ("loop.checkpoint_every", max(steps // 4, 1)),
        ("eval.num_samples", samples),
    )
    out = []
    for s in seeds:
        for bn in BN:
            for c in DEPTHS:
                out.append(
                    Run(
                        f"c{c}_{bn}_seed{s}",
                        f"dcgan_depth_c{c}",
                        seed=s,
                        overrides=common + (("model.d_batchnorm", bn == "gd"),),
                        labels=(("depth", c), ("bn", bn), ("seed", s)),
                    )
                )
    return out


def _class_share(o, n: int) -> dict:
    """Share of the classifier's most frequent class in n samples of the final model."""
    import jax

    from odegan_jax import scoring
    from odegan_jax.metrics.classifier import load_classifier

    run = loaded(o)
    if isinstance(run, str):
        return {"error": run}
    exp, state, _ = run
    name = scoring.classifier_for(exp.config)
    if name is None:
        return {}
    x = scoring.generate(exp, state, n, jax.random.PRNGKey(0))
    probs, _ = load_classifier(name).apply(x)
    counts = np.bincount(np.argmax(probs, 1), minlength=probs.shape[1])
    return {"top_class": int(np.argmax(counts)), "top_share": float(counts.max() / n)}


def _neighbours(o, k: int):
    """The best model's samples, their nearest training images and L2 distances, and the same
    distance for k real test images (the reference); a string when the run cannot be loaded."""
    import jax

    from odegan_jax import scoring
    from odegan_jax.data.images import load_images
    from odegan_jax.metrics.neighbours import nearest_neighbours

    run = loaded(o)
    if isinstance(run, str):
        return run
    exp, state, step = run
    samples = scoring.generate(exp, state, k, jax.random.PRNGKey(1))
    train = exp.dataset.train
    idx, dist = nearest_neighbours(samples, train)
    c = exp.config.data
    test = load_images(c.name, c.source, c.path, "test", c.image_size)[0][:k]
    _, test_dist = nearest_neighbours(test, train)
    return {
        "samples": samples,
        "nearest": train[idx],
        "dist": dist,
        "test_dist": test_dist,
        "step": step,
    }


def analyse(ctx: Context) -> Report:
    steps, _, _, samples, k = SIZES[ctx.size]
    rows = {o.run.id: o.metrics() if o.ok else [] for o in ctx.outcomes}
    scored = {kk: scored_rows(v) for kk, v in rows.items()}
    per, cells = {}, {}
    for o in ctx.outcomes:
        sc = scored[o.run.id]
        is_scores = best_final(sc, "is", False)
        p = {
            "depth": o.run.label["depth"],
            "bn": o.run.label["bn"],
            "status": o.status,
            "is": is_scores,
            "fid": best_final(sc, "fid", True),
            "is_std_at_best": next(
                (r.get("is_std") for r in sc if r["step"] == is_scores["best_step"]), None
            ),
            **(
                cached(
                    ctx,
                    f"class_share_{o.run.id}_n{samples}",
                    (o,),
                    lambda o=o: _class_share(o, samples),
                )
                if o.ok
                else {}
            ),
        }
        per[o.run.id] = p
        cells.setdefault((p["bn"], p["depth"]), []).append(p)
    best = {key: mean_or_none([p["is"]["best"] for p in ps]) for key, ps in cells.items()}
    share = {key: mean_or_none([p.get("top_share") for p in ps]) for key, ps in cells.items()}

    def b(bn, c):
        return best.get((bn, c))

    gd = {c: b("gd", c) for c in DEPTHS}
    have = all(v is not None for v in gd.values())
    top = max((c for c in DEPTHS if gd[c] is not None), key=lambda c: gd[c], default=None)
    helps = have and any(gd[c] > gd[0] for c in DEPTHS[1:])
    stops = have and gd[5] < gd[top]
    depth_verdict = (
        "not run"
        if not have
        else "reproduced"
        if helps and stops
        else "partly"
        if helps
        else "not reproduced"
    )
    pairs = [(b("g", c), b("gd", c)) for c in DEPTHS]
    worse = sum(1 for g, d in pairs if g is not None and d is not None and g < d)
    known = sum(1 for g, d in pairs if g is not None and d is not None)
    bn_verdict = (
        "not run"
        if known < len(DEPTHS)
        else "reproduced"
        if worse >= 5
        else "partly"
        if worse >= 3
        else "not reproduced"
    )
    s0, s5 = share.get(("gd", 0)), share.get(("gd", 5))
    collapse_verdict = (
        "not run"
        if s0 is None or s5 is None
        else "reproduced"
        if s5 >= max(2 * s0, 0.3)
        else "not reproduced"
    )
    best_run = max(
        (o for o in ctx.outcomes if o.ok and per[o.run.id]["is"]["best"] is not None),
        key=lambda o: per[o.run.id]["is"]["best"],
        default=None,
    )
    nn = _neighbours(best_run, k) if best_run is not None else None
    nn_error = nn if isinstance(nn, str) else None
    nn = None if nn_error else nn
    ratio = None if nn is None else float(np.mean(nn["dist"]) / np.mean(nn["test_dist"]))
    nn_verdict = "not run" if nn is None else "reproduced" if ratio <= 1.25 else "not reproduced"
    short = (
        ""
        if ctx.full
        else (
            f" At the {ctx.size.upper()} size ({steps:,} steps against Yamazaki17's 30,000) "
            "this reads "
            "early training."
        )
    )

    def row_text(bn):
        return ", ".join(f"c{c} {fmt(b(bn, c), '{:.2f}')}" for c in DEPTHS)

    claims = [
        Claim(
            "residual depth improves the image GAN, up to a point (BN in G and D)",
            "Yamazaki17 Table 5.1, §5.2",
            "MNIST IS: M0_B 9.14, best M3_B 9.73; M4_B 9.68, M5_B 9.70",
            f"best IS: {row_text('gd')} (best: c{top})",
            depth_verdict,
            "criterion: some c ≥ 1 above c0, and c5 below the best (means over seeds); "
            "Fashion-MNIST." + short,
        ),
        Claim(
            "removing BatchNorm from D degrades the image GANs (MNIST)",
            "Yamazaki17 Table 5.1, §5.2",
            "G-only below G, D at every depth (e.g. M3_B 9.14 vs 9.73)",
            f"best IS, BN in G only: {row_text('g')}; below BN in G and D at {worse} of "
            f"{known} depths",
            bn_verdict,
            "criterion: at ≥ 5 of 6 depths." + short,
        ),
        Claim(
            "the deepest model mode-collapses (M5_B: mostly one digit)",
            "Yamazaki17 §5.3, Fig. 5.13 (c)",
            "M5_B samples mostly the digit 1",
            f"share of the most frequent class in {samples:,} final samples: c0 "
            f"{fmt(s0, '{:.2f}')}, c5 {fmt(s5, '{:.2f}')}",
            collapse_verdict,
            "criterion: c5's share ≥ 2x c0's and ≥ 0.3 (classifier's argmax)." + short,
        ),
        Claim(
            "the best model's samples lie close to training images in L2",
            "Yamazaki17 §4.5.4, §5.3, Fig. 5.15",
            "M3_B's samples highly resemble their nearest training images",
            "–"
            if nn is None
            else f"{best_run.run.id} (best IS): mean nearest-neighbour L2 {np.mean(nn['dist']):.2f}"
            f" against {np.mean(nn['test_dist']):.2f} for real test images (ratio "
            f"{ratio:.2f}), {k} samples",
            nn_verdict,
            "criterion: ratio ≤ 1.25; images in [−1, 1]." + short,
        ),
    ]
    table = []
    for o in ctx.outcomes:
        c, bn, p = o.run.label["depth"], o.run.label["bn"], per[o.run.id]
        table.append(
            [
                f"M{c}_B (seed {o.run.seed})",
                BN[bn],
                p["status"] if p["status"] == "ok" else f"**{p['status']}**",
                fmt(p["is"]["best"], "{:.2f}")
                + (f" ± {p['is_std_at_best']:.2f}" if p.get("is_std_at_best") is not None else ""),
                str(p["is"]["best_step"] or "–"),
                fmt(p["is"]["final"], "{:.2f}"),
                fmt(p["fid"]["final"], "{:.1f}"),
                fmt(p.get("top_share"), "{:.2f}"),
                SEED_IS[(bn, c)],
            ]
        )
    figures = {"is_over_training.png": _is_figure(ctx, scored)}
    if nn is not None:
        figures["neighbours.png"] = _nn_figure(nn, best_run.run.id)
    ceiling = next(
        (
            r.get("is_real_test")
            for v in scored.values()
            for r in v
            if r.get("is_real_test") is not None
        ),
        None,
    )
    return Report(
        claims,
        tables=[
            (
                "Table 5.1 layout: IS (classifier, 5,000 samples; ± over 10 splits at the "
                "best step) per model and BatchNorm placement, next to Yamazaki17's MNIST numbers",
                [
                    "model",
                    "BN",
                    "status",
                    "best IS",
                    "at step",
                    "final IS",
                    "final FID",
                    "top-class share",
                    "Yamazaki17 (MNIST)",
                ],
                table,
            )
        ],
        numbers={
            "per_run": per,
            "best_is": {f"c{c}_{bn}": best.get((bn, c)) for bn in BN for c in DEPTHS},
            "top_share": {"c0": s0, "c5": s5},
            "nearest_neighbour": None
            if nn is None
            else {
                "run": best_run.run.id,
                "step": nn["step"],
                "mean_l2": float(np.mean(nn["dist"])),
                "mean_l2_real_test": float(np.mean(nn["test_dist"])),
                "ratio": ratio,
            },
        },
        figures=figures,
        notes=[
            f"the IS ceiling, real Fashion-MNIST test images in the classifier: "
            f"{fmt(ceiling, '{:.2f}')} (Yamazaki17's MNIST ceiling: 9.97)",
            "Yamazaki17's ± is over its runs; ours is over the IS's 10 splits of one run",
        ]
        + [f"not computed: {e}" for e in [nn_error] + [p.get("error") for p in per.values()] if e],
    )


def _is_figure(ctx, scored) -> Figure:
    fig = Figure(figsize=(11, 3.8))
    axes = fig.subplots(1, 2, sharey=True)
    cmap = [f"C{c}" for c in DEPTHS]
    for o in ctx.outcomes:
        r = [x for x in scored[o.run.id] if x.get("is") is not None]
        ax = axes[0 if o.run.label["bn"] == "gd" else 1]
        ax.plot(
            [x["step"] for x in r],
            [x["is"] for x in r],
            marker=".",
            lw=0.9,
            color=cmap[o.run.label["depth"]],
            label=f"M{o.run.label['depth']}_B",
        )
    for ax, bn in zip(axes, BN):
        ax.set_title(f"IS over training, BN in {BN[bn]}")
        ax.set_xlabel("step")
    axes[0].set_ylabel("IS (classifier)")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def _nn_figure(nn, run_id: str) -> Figure:
    k = len(nn["samples"])
    fig = Figure(figsize=(1.4 * k, 3.2))
    axes = fig.subplots(2, k, squeeze=False)
    for i in range(k):
        for j, (img, title) in enumerate(
            ((nn["samples"][i], "sample"), (nn["nearest"][i], f"L2 {nn['dist'][i]:.2f}"))
        ):
            ax = axes[j, i]
            ax.imshow(np.clip((np.asarray(img)[..., 0] + 1) / 2, 0, 1), cmap="gray", vmin=0, vmax=1)
            ax.set_title(title, fontsize=7)
            ax.set_axis_off()
    fig.suptitle(f"{run_id}: samples (top) and their nearest training images (bottom)", fontsize=8)
    fig.tight_layout()
    return fig


STUDY = Study(
    "depth_images",
    "Yamazaki17's residual depth study on images (M0_B … M5_B, BN in G and D or G only)",
    "Yamazaki17 Table 5.1, §5.2-5.3",
    runs,
    analyse,
    seeds=(0,),
    sizes="batch 16, 120 steps per run, IS on 5,000 samples every 30 steps "
    "(--full: batch 64, 30,000 steps, IS every 100)",
    gpu="batch 64, 6,000 steps, IS every 300 steps",
)
