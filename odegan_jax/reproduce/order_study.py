"""``order_study`` (Qin20 Fig. 3, §5.2.1: λ = 0.002, h = 0.02; "Euler becomes unstable with
h ≥ 0.04 while Heun's method and RK4 do not"; "training improves with the order").

Euler / Heun / RK4 on the main job's game (16-Gaussian grid, MLPs 2×50, non-saturating loss,
joint coupling, post-step regulariser) with everything but the integrator and h equal:
λ = 0.002, constant h over a doubling grid 0.01 … 0.64, the same number of steps. A run that
produces a non-finite number stops there (``loop.nonfinite = stop``: no retry hides it) and is
a *diverged* cell: the instability the claim is about. A small h over a fixed number of steps
covers a short time and may not have trained yet; that is low quality, not instability, and
is shown as such. On the 2D grid the h scale is not CIFAR-10's, so the claim tested is the
ordering and the existence of a threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from odegan_jax.reproduce import Claim, Report, Run, Study, mean_or_none, quality

if TYPE_CHECKING:
    from odegan_jax.reproduce import Context, Outcome

INTEGRATORS = ("euler", "heun", "rk4")
H_GRID = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64)
LAMBDA = 0.002


def runs(size: str, seeds: Sequence[int]) -> list[Run]:
    full = size == "full"
    steps = 24_000 if full else 2_000
    out = []
    for name in INTEGRATORS:
        for h in H_GRID:
            for s in seeds:
                out.append(
                    Run(
                        f"{name}_h{h:g}_seed{s}",
                        "mog16_rk4",
                        seed=s,
                        overrides=(
                            ("steps", steps),
                            ("rule.integrator", name),
                            ("rule.h", h),
                            ("rule.reg_weight", LAMBDA),
                            ("rule.schedule", "constant"),
                            ("loop.nonfinite", "stop"),
                            ("loop.log_every", 500),
                            ("loop.checkpoint_every", 0),
                            ("loop.plot", False),
                        ),
                        labels=(("integrator", name), ("h", h), ("seed", s)),
                    )
                )
    return out


def failed(o: Outcome) -> bool:
    """Diverged (non-finite) or failed otherwise."""
    return not o.ok


DEAD_GRAD = 1e-3


def broke_down(o: Outcome) -> bool:
    """Diverged, or ended with a dead critic: ‖∂ℓ_D/∂θ‖ < 1e-3 at the last step (the ReLU
    units of D switched off, so D and then G stop learning: how these runs fail at large h)."""
    return not o.ok or o.final().get("grad_norm_d", 1.0) < DEAD_GRAD


def cell(o: Outcome) -> str:
    if not o.ok:
        return f"**{o.status}**"
    m, hq = quality(o)
    return f"{m}/16 {100 * hq:.0f}%"


def analyse(ctx: Context) -> Report:
    table, threshold, curves, dead = [], {}, {}, {}
    for name in INTEGRATORS:
        first_bad, first_dead, hq_curve = None, None, []
        for h in H_GRID:
            outs = ctx.select(integrator=name, h=h)
            table.append(
                [name, h]
                + ["; ".join(cell(o) for o in outs)]
                + [
                    "; ".join(
                        f"{o.final().get('grad_norm_d', float('nan')):.3g}" if o.ok else "–"
                        for o in outs
                    )
                ]
                + [sum(failed(o) for o in outs), len(outs)]
            )
            if first_bad is None and outs and any(failed(o) for o in outs):
                first_bad = h
            if first_dead is None and outs and any(broke_down(o) for o in outs):
                first_dead = h
            hq_curve.append(mean_or_none([quality(o)[1] for o in outs if not broke_down(o)]))
        threshold[name] = first_bad
        dead[name] = first_dead
        curves[name] = hq_curve

    def ordered(first):
        t = {n: first[n] if first[n] is not None else float("inf") for n in INTEGRATORS}
        return first["euler"] is not None and t["euler"] < t["heun"] and t["euler"] < t["rk4"]

    def label(first, name):
        return f"h ≥ {first[name]:g}" if first[name] is not None else f"none up to {H_GRID[-1]:g}"

    diverged = ", ".join(f"{n} {label(threshold, n)}" for n in INTEGRATORS)
    broken = ", ".join(f"{n} {label(dead, n)}" for n in INTEGRATORS)
    if ordered(threshold):
        verdict, why = "reproduced", "Euler diverges (non-finite) at a smaller h than both"
    elif ordered(dead):
        verdict, why = (
            "partly",
            (
                "no run produced a non-finite number (the criterion set before the runs), but "
                f"runs broke down with a dead critic (final ‖∂ℓ_D/∂θ‖ < {DEAD_GRAD:g}; a criterion "
                "added after seeing them) from a smaller h for Euler than for Heun and RK4"
            ),
        )
    else:
        verdict, why = "not reproduced", "no h at which Euler fails before Heun and RK4"
    claims = [
        Claim(
            "Euler becomes unstable at a smaller h than Heun and RK4 (a threshold exists)",
            "Qin20 §5.2.1, Fig. 3",
            "Euler unstable at h ≥ 0.04 on CIFAR-10; Heun and RK4 not",
            f"first h with a diverged run: {diverged}; with a broken-down run (diverged or "
            f"dead critic): {broken}",
            verdict,
            why + "; on 2D data the claim is the ordering and the threshold's existence, the "
            "h values are the task's, not CIFAR-10's",
        ),
    ]
    # quality vs order at the source's h (0.02) and at the largest h all three survive
    common = [i for i, h in enumerate(H_GRID) if all(curves[n][i] is not None for n in INTEGRATORS)]
    at = H_GRID.index(0.02)
    hq02 = {n: curves[n][at] for n in INTEGRATORS}
    if common:
        i = common[-1]
        best = {n: curves[n][i] for n in INTEGRATORS}
        trained = max(best.values()) > 0.10  # something learnt at this size
        improves = (
            trained and best["rk4"] > best["euler"] + 0.02 and best["heun"] >= best["euler"] - 0.02
        )
        claims.append(
            Claim(
                "training improves with the order of the integrator (with diminishing returns)",
                "Qin20 §5.2.1, Fig. 3",
                "RK4 ≥ Heun > Euler in FID / IS at h = 0.02",
                "mean HQ at h = 0.02: "
                + ", ".join(
                    f"{n} {100 * hq02[n]:.1f}%" if hq02[n] is not None else f"{n} –"
                    for n in INTEGRATORS
                )
                + f"; at h = {H_GRID[i]:g} (the largest h where no run broke down): "
                + ", ".join(f"{n} {100 * best[n]:.1f}%" for n in INTEGRATORS),
                "reproduced" if improves else "not reproduced",
                "HQ share of the runs that did not break down, mean over seeds; RK4 must beat "
                "Euler by > 2 points"
                + (
                    ""
                    if trained
                    else "; no integrator reached 10% HQ at this "
                    "size, so the runs cannot rank the orders"
                ),
            )
        )
    fig = Figure(figsize=(6, 3.6))
    ax = fig.subplots()
    for name in INTEGRATORS:
        ys = [np.nan if v is None else 100 * v for v in curves[name]]
        ax.plot(H_GRID, ys, "o-", label=name)
        if threshold[name] is not None:
            ax.axvline(threshold[name], ls=":", color=ax.lines[-1].get_color())
    ax.set_xscale("log", base=2)
    ax.set_xlabel("h (dotted: first h with a diverged run)")
    ax.set_ylabel("HQ % (runs that did not break down, mean over seeds)")
    ax.set_title(f"order study: λ = {LAMBDA}, same steps for every h")
    ax.legend()
    fig.tight_layout()
    return Report(
        claims,
        tables=[
            (
                "Final modes / HQ per integrator and h (one entry per seed)",
                ["integrator", "h", "runs (modes, HQ)", "final ‖∂ℓ_D/∂θ‖", "diverged", "of"],
                table,
            )
        ],
        numbers={
            "first_failing_h": threshold,
            "first_breakdown_h": dead,
            "mean_hq": {n: dict(zip(map(str, H_GRID), curves[n])) for n in INTEGRATORS},
        },
        figures={"quality_vs_h.png": fig},
    )


STUDY = Study(
    "order_study",
    "Euler / Heun / RK4 over a grid of h",
    "Qin20 §5.2.1, Fig. 3",
    runs,
    analyse,
    seeds=(0, 1),
    sizes="2,000 steps per run (--full: 24,000, the main job's)",
)
