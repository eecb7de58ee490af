"""``loss_balance`` (Qin20 Fig. 5 / Fig. 7: ODE-GAN (RK4) against Adam, λ = 0.01; "D and G
losses stay very close to the values of a Nash equilibrium; with Adam the discriminator
dominates: a continuously decreasing ℓ_D while ℓ_G increases").

Both on the main job's game; the non-saturating loss's values at the equilibrium D = ½ are
ℓ_D = 2 log 2 ≈ 1.386 and ℓ_G = log 2 ≈ 0.693. Measured over the second half of training:
the mean distance of (ℓ_D, ℓ_G) from those values, the trend (slope per 1,000 steps) of ℓ_D
and ℓ_G, and D(x) − D(G(z)).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from odegan_jax.reproduce import Claim, Report, Run, Study, fmt, mean_or_none, status_cell

if TYPE_CHECKING:
    from odegan_jax.reproduce import Context, Outcome

NASH_D, NASH_G = 2 * np.log(2), np.log(2)
RULES = ("rk4", "adam")


def runs(size: str, seeds: Sequence[int]) -> list[Run]:
    full = size == "full"
    steps = 24_000 if full else 10_000
    common = (("steps", steps), ("loop.log_every", 100), ("loop.checkpoint_every", 0))
    out = []
    for s in seeds:
        out.append(
            Run(
                f"rk4_seed{s}",
                "mog16_rk4",
                seed=s,
                overrides=common
                + (("rule.reg_weight", 0.01), ("rule.h", 0.16), ("rule.schedule", "constant")),
                labels=(("rule", "rk4"), ("seed", s)),
            )
        )
        out.append(
            Run(
                f"adam_seed{s}",
                "mog16_adam",
                seed=s,
                overrides=common,
                labels=(("rule", "adam"), ("seed", s)),
            )
        )
    return out


def balance(o: Outcome, rows: list[dict] | None = None) -> dict:
    """Second-half loss balance of a run; ``rows``: its metrics rows when already read."""
    if not o.ok:
        return {}
    rows = [r for r in (o.metrics() if rows is None else rows) if "loss_d" in r]
    if not rows:
        return {}
    steps = np.array([r["step"] for r in rows], float)
    half = steps >= steps[-1] / 2
    ld, lg = np.array([r["loss_d"] for r in rows]), np.array([r["loss_g"] for r in rows])
    gap = np.array([r["d_real"] - r["d_fake"] for r in rows])
    return {
        "dist_nash": float(np.mean(np.hypot(ld[half] - NASH_D, lg[half] - NASH_G))),
        "slope_d": float(np.polyfit(steps[half] / 1000, ld[half], 1)[0]),
        "slope_g": float(np.polyfit(steps[half] / 1000, lg[half], 1)[0]),
        "gap": float(np.mean(gap[half])),
        "loss_d": float(np.mean(ld[half])),
        "loss_g": float(np.mean(lg[half])),
    }


def analyse(ctx: Context) -> Report:
    per = {o.run.id: balance(o) for o in ctx.outcomes}
    mean = {
        rule: {
            k: mean_or_none([per[o.run.id].get(k) for o in ctx.select(rule=rule)])
            for k in ("dist_nash", "slope_d", "slope_g", "gap", "loss_d", "loss_g")
        }
        for rule in RULES
    }
    r, a = mean["rk4"], mean["adam"]
    have = r["dist_nash"] is not None and a["dist_nash"] is not None
    claims = [
        Claim(
            "ODE-GAN keeps ℓ_D and ℓ_G close to their Nash values",
            "Qin20 Fig. 5",
            f"RK4 near ℓ_D = {NASH_D:.3f}, ℓ_G = {NASH_G:.3f}; Adam drifts away",
            f"mean distance from the Nash values over the second half: RK4 "
            f"{fmt(r['dist_nash'])}, Adam {fmt(a['dist_nash'])}",
            ("reproduced" if have and r["dist_nash"] < a["dist_nash"] else "not reproduced")
            if have
            else "not run",
            "distance of (ℓ_D, ℓ_G) from (2 log 2, log 2), mean over logged steps and seeds",
        ),
        Claim(
            "with Adam the discriminator dominates: ℓ_D keeps falling while ℓ_G rises",
            "Qin20 Fig. 5 / Fig. 7",
            "ℓ_D ↓, ℓ_G ↑ under Adam",
            f"second-half slopes per 1k steps: Adam ℓ_D {fmt(a['slope_d'], '{:+.4f}')}, ℓ_G "
            f"{fmt(a['slope_g'], '{:+.4f}')}; RK4 ℓ_D {fmt(r['slope_d'], '{:+.4f}')}, ℓ_G "
            f"{fmt(r['slope_g'], '{:+.4f}')}; D(x) − D(G(z)): Adam {fmt(a['gap'])}, "
            f"RK4 {fmt(r['gap'])}",
            (
                "reproduced"
                if a["slope_d"] < 0 < a["slope_g"] and a["gap"] > r["gap"]
                else "partly"
                if a["gap"] > r["gap"]
                else "not reproduced"
            )
            if have
            else "not run",
            "the source's sign pattern of the slopes under Adam, and a larger D(x) − D(G(z)) "
            "gap than RK4's",
        ),
    ]
    table = [
        [o.run.id, status_cell(o)]
        + [
            fmt(per[o.run.id].get(k), "{:.4f}")
            for k in ("loss_d", "loss_g", "dist_nash", "slope_d", "slope_g", "gap")
        ]
        for o in ctx.outcomes
    ]
    fig = loss_figure(
        {o.run.id: o.metrics() for o in ctx.outcomes},
        {o.run.id: "C3" if o.run.label["rule"] == "rk4" else "C0" for o in ctx.outcomes},
        {o.run.id: f"{o.run.label['rule']} seed {o.run.seed}" for o in ctx.outcomes},
    )
    return Report(
        claims,
        tables=[
            (
                "Second half of training, per run",
                [
                    "run",
                    "final",
                    "ℓ_D",
                    "ℓ_G",
                    "dist. Nash",
                    "slope ℓ_D",
                    "slope ℓ_G",
                    "D(x) − D(G(z))",
                ],
                table,
            )
        ],
        numbers={"per_run": per, "mean": mean},
        figures={"losses.png": fig},
        notes=[
            "RK4: the main job's game at h = 0.16 (constant), λ = 0.01 (the "
            "source's); Adam: mog16_adam (lr 1e-3, β = (0.5, 0.999), simultaneous)"
        ],
    )


def loss_figure(rows_by_run: dict, colors: dict, labels: dict) -> Figure:
    """ℓ_D, ℓ_G and D(x) − D(G(z)) over steps for every run (``{run id: metrics rows}``), the
    Nash values dashed (Qin20 Fig. 5's panels)."""
    fig = Figure(figsize=(12, 3.5))
    axes = fig.subplots(1, 3)
    for run_id, rows in rows_by_run.items():
        rows = [row for row in rows if "loss_d" in row]
        if not rows:
            continue
        st = [row["step"] for row in rows]
        kw = dict(color=colors.get(run_id), lw=0.7, label=labels.get(run_id, run_id))
        axes[0].plot(st, [row["loss_d"] for row in rows], **kw)
        axes[1].plot(st, [row["loss_g"] for row in rows], **kw)
        axes[2].plot(st, [row["d_real"] - row["d_fake"] for row in rows], **kw)
    for ax, title, ref in zip(axes, ("ℓ_D", "ℓ_G", "D(x) − D(G(z))"), (NASH_D, NASH_G, 0.0)):
        ax.axhline(ref, color="k", ls="--", lw=0.8)
        ax.set_title(title)
        ax.set_xlabel("step")
        if ax.get_ylim()[1] > 50:  # a saturated run's losses would flatten the others
            ax.set_yscale("symlog", linthresh=1.0)
            ax.set_ylim(bottom=0.0)  # the non-saturating losses are ≥ 0
            ax.set_title(title + " (symlog)")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


STUDY = Study(
    "loss_balance",
    "ODE-GAN (RK4) vs Adam: losses and D outputs over training",
    "Qin20 Fig. 5, Fig. 7",
    runs,
    analyse,
    seeds=(0, 1),
    sizes="10,000 steps (--full: 24,000)",
)
