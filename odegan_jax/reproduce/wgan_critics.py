"""``wgan_critics`` (GANnotes: weight clipping against the gradient penalty).

The critics of WGAN with c = 0.001 / 0.01 / 0.1 and of WGAN-GP (``configs/wgan_*``,
``configs/wgan_gp_*``: GANnotes's recipes) on the 8-Gaussian ring, the 25-Gaussian grid and the
Swiss roll, drawn as contours with G's samples; and, on the Swiss roll with a deep critic
(12 ReLU layers, no BatchNorm: the setting of GANnotes's "exploding / vanishing" quote), the norm of
the critic loss's gradient at every layer's kernel after training: clipping at c = 0.1 should
make the norms grow towards the input (exploding), c = 0.001 shrink (vanishing), the penalty
keep them level.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

from odegan_jax import game as game_lib
from odegan_jax.plots import discriminator_grid
from odegan_jax.reproduce import Claim, Report, Run, Study, fmt, status_cell

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from odegan_jax.reproduce import Context, Outcome

DATASETS = ("mog8", "mog25", "swiss_roll")
CLIPS = (0.001, 0.01, 0.1)
VARIANTS = tuple(f"clip{c:g}" for c in CLIPS) + ("gp",)
DEEP = 12


def _overrides(variant, full, deep=False):
    width = 512 if full else 128
    steps = 20_000 if full else 1_000
    o = [
        ("steps", steps),
        ("model.width", width if not deep else 64 if not full else 128),
        ("loop.checkpoint_every", 0),
        ("loop.plot", False),
    ]
    if variant.startswith("clip"):
        o.append(("game.clip_value", float(variant[4:])))
    if deep:
        o += [("model.depth", DEEP), ("steps", 500 if not full else 10_000)]
    return tuple(dict(o).items())


def runs(size: str, seeds: Sequence[int]) -> list[Run]:
    full = size == "full"
    out = []
    for s in seeds:
        for ds in DATASETS:
            for v in VARIANTS:
                cfg = f"wgan_gp_{ds}" if v == "gp" else f"wgan_{ds}"
                out.append(
                    Run(
                        f"{ds}_{v}_seed{s}",
                        cfg,
                        seed=s,
                        overrides=_overrides(v, full),
                        labels=(("data", ds), ("variant", v), ("deep", False), ("seed", s)),
                    )
                )
        for v in VARIANTS:
            cfg = "wgan_gp_swiss_roll" if v == "gp" else "wgan_swiss_roll"
            out.append(
                Run(
                    f"deep_swiss_roll_{v}_seed{s}",
                    cfg,
                    seed=s,
                    overrides=_overrides(v, full, deep=True),
                    labels=(("data", "swiss_roll"), ("variant", v), ("deep", True), ("seed", s)),
                )
            )
    return out


def layer_gradient_norms(o: Outcome, n: int = 1024) -> list:
    """‖∂ℓ_D/∂W_l‖ for every Dense kernel of the critic, input layer first, on n real and n
    generated samples (the run's own loss: clipping or the penalty included)."""
    exp, state, _ = o.load()
    key = jax.random.PRNGKey(1234)
    real = exp.dataset.distribution.sample(key, n)
    ev = game_lib.player_gradients(
        exp.game, state.params, state.model_state, real, jax.random.fold_in(key, 1)
    )
    grads = ev.grads["d"]
    names = sorted(grads, key=lambda k: int(k.split("_")[-1]))
    return [float(jnp.linalg.norm(grads[k]["kernel"])) for k in names]


def _ratio(norms) -> float | None:
    """Input-layer over output-layer gradient norm; ∞ when only the output layer's vanished
    completely (float32 underflow), None when both did."""
    first, last = norms[0], norms[-1]
    if last > 0:
        return first / last
    return float("inf") if first > 0 else None


def critic_panel(ax: Axes, o: Outcome, title: str) -> None:
    exp, state, _ = o.load()
    dist = exp.dataset.distribution
    lo, hi = dist.modes.min(axis=0) - 1.0, dist.modes.max(axis=0) + 1.0
    xx, yy, values = discriminator_grid(exp, state, (lo[0], hi[0], lo[1], hi[1]), 90)
    ax.contourf(xx, yy, values, levels=20, cmap="viridis")
    real = np.asarray(dist.sample(jax.random.PRNGKey(7), 500))
    fake = exp.samples(state, 500)
    ax.scatter(real[:, 0], real[:, 1], s=1, c="white", alpha=0.6)
    ax.scatter(fake[:, 0], fake[:, 1], s=1, c="orange", alpha=0.6)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=8)


def gradient_claims(norms: dict) -> tuple:
    """The two claims on the deep critics' per-layer gradient norms ``{variant: [norm per
    layer, input first]}``; returns ``(claims, input/output ratios, median norms)``."""
    ratio = {v: _ratio(ns) for v, ns in norms.items()}
    have = all(ratio.get(v) is not None for v in ("clip0.001", "clip0.1"))
    med = {v: float(np.median(ns)) for v, ns in norms.items()}
    have = all(v in med for v in ("clip0.01", "clip0.1", "gp")) and med["gp"] > 0
    vanish = have and med["clip0.01"] < 1e-3 * med["gp"]
    explode = have and med["clip0.1"] > 10 * med["gp"]
    return (
        [
            Claim(
                "with weight clipping the critic's gradients vanish for small c and explode for "
                "large c (0.01 → 0.1), without BatchNorm in a deep critic",
                "GANnotes (WGAN-GP paper's quote and figure)",
                "diminishing at c = 0.01, exploding at c = 0.1",
                "median layer gradient norm: "
                + ", ".join(f"{v} {med[v]:.2e}" for v in VARIANTS if v in med)
                + "; input / output layer ratio: "
                + ", ".join(f"{v} {fmt(r, '{:.2e}', 'undefined')}" for v, r in ratio.items()),
                (
                    "reproduced"
                    if vanish and explode
                    else "partly"
                    if vanish or explode
                    else "not reproduced"
                )
                if have
                else "not run",
                "magnitude against the penalised critic's: vanishing = median norm < 10⁻³ × "
                "WGAN-GP's, exploding = > 10 × (the first analysis used the input / output "
                "ratio, which is undefined when every layer's gradient is 0, as at c = 0.001; "
                "it is listed for reference)",
            ),
            Claim(
                "the gradient penalty keeps the gradient norms level across layers",
                "GANnotes",
                "norms stay within an order of magnitude",
                f"input / output ratio with the penalty: {fmt(ratio.get('gp'), '{:.2e}')}",
                ("reproduced" if 0.1 <= ratio["gp"] <= 10 else "not reproduced")
                if ratio.get("gp") is not None
                else "not run",
                "the ratio within [0.1, 10] counts as level",
            ),
        ],
        ratio,
        med,
    )


def analyse(ctx: Context) -> Report:
    seed = ctx.seeds[0]
    fig = Figure(figsize=(3 * len(VARIANTS), 3 * len(DATASETS)))
    axes = fig.subplots(len(DATASETS), len(VARIANTS))
    table = []
    for i, ds in enumerate(DATASETS):
        cells = [ds]
        for j, v in enumerate(VARIANTS):
            (o,) = ctx.select(data=ds, variant=v, deep=False, seed=seed)
            cells.append(status_cell(o))
            if o.ok:
                critic_panel(axes[i, j], o, f"{ds} {v}")
            else:
                axes[i, j].set_title(f"{ds} {v}: {o.status}", fontsize=8)
        table.append(cells)
    fig.tight_layout()
    norms, grad_rows = {}, []
    for v in VARIANTS:
        (o,) = ctx.select(data="swiss_roll", variant=v, deep=True, seed=seed)
        if o.ok:
            norms[v] = layer_gradient_norms(o)
            r = _ratio(norms[v])
            grad_rows.append(
                [
                    v,
                    f"{norms[v][0]:.3e}",
                    f"{norms[v][-1]:.3e}",
                    fmt(r, "{:.3e}", "undefined (0 / 0)"),
                    " ".join(f"{x:.1e}" for x in norms[v]),
                ]
            )
        else:
            grad_rows.append([v, f"**{o.status}**", "", "", ""])
    gfig = Figure(figsize=(5, 3.5))
    ax = gfig.subplots()
    for v, ns in norms.items():
        ax.semilogy(range(1, len(ns) + 1), ns, "o-", label=v)
    ax.set_xlabel("critic layer (1 = input)")
    ax.set_ylabel("‖∂ℓ_D / ∂W‖")
    ax.set_title(f"Swiss roll, {DEEP}-layer critic after training")
    ax.legend()
    gfig.tight_layout()
    claims, ratio, med = gradient_claims(norms)
    claims += [
        Claim(
            "clipping limits the critic's capacity: its contours are simpler than the "
            "penalised critic's",
            'GANnotes ("weight clipping behaves as a weight regulation"; '
            "8 Gaussians, 25 Gaussians, Swiss roll)",
            "contour figure",
            "see critics.png (one row per dataset)",
            "not run",
            "no number here measures a contour's complexity, so no verdict is given; the "
            "figure shows the critics as they are, and the table each run's modes / HQ",
        ),
    ]
    return Report(
        claims,
        tables=[
            ("Final modes / HQ (shallow critics)", ["data"] + list(VARIANTS), table),
            (
                f"Deep critic ({DEEP} layers, Swiss roll): gradient norm per layer",
                ["variant", "layer 1", f"layer {DEEP + 1}", "ratio", "all layers"],
                grad_rows,
            ),
        ],
        numbers={
            "layer_gradient_norms": norms,
            "median_layer_norm": med,
            "input_output_ratio": {
                v: r if r is None or np.isfinite(r) else str(r) for v, r in ratio.items()
            },
        },
        figures={"critics.png": fig, "gradient_norms.png": gfig},
    )


STUDY = Study(
    "wgan_critics",
    "WGAN weight clipping vs WGAN-GP: critics and gradient norms",
    "GANnotes (WGAN / WGAN-GP)",
    runs,
    analyse,
    seeds=(0,),
    sizes="3 × 128 MLPs, 1,000 generator iterations; deep critic 12 × 64, 500 "
    "(--full: 3 × 512, 20,000; 12 × 128, 10,000)",
)
