"""``optimizers_2d`` (Bhope19 Experiment D on 2D data: Adam, RMSprop, SGD, Adadelta, Adagrad;
Bhope19
found SGD the most stable with the clearest samples), with each ODE-GAN integrator beside them
at equal wall time.

All on the 8-Gaussian ring with the main job's networks (MLPs 2×50) and non-saturating loss.
The optimisers: alternating D / G updates at one learning rate, 2e-4 (the DCGAN recipe Bhope19
used; Adam with β₁ = 0.5), each optimiser's other hyperparameters at optax's defaults. The
integrators: Euler / Heun / RK4 at h = 0.16, λ = 0.3, constant h. Every run logs its wall time
with each row; runs go one at a time (``--jobs 1``) so the clocks are comparable, and quality is
read at the wall time of the fastest run to finish (equal wall time) and at the end (equal
steps).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from odegan_jax.reproduce import Claim, Report, Run, Study, fmt, quality, status_cell

if TYPE_CHECKING:
    from odegan_jax.reproduce import Context, Outcome

OPTIMIZERS = ("adam", "rmsprop", "sgd", "adadelta", "adagrad")
INTEGRATORS = ("euler", "heun", "rk4")
LR = 2e-4


def runs(size: str, seeds: Sequence[int]) -> list[Run]:
    full = size == "full"
    steps = 40_000 if full else 5_000
    common = (
        ("steps", steps),
        ("data.name", "mog8"),
        ("data.stratified", False),
        ("loop.log_every", 250),
        ("loop.checkpoint_every", 0),
        ("loop.plot", False),
    )
    out = []
    for s in seeds:
        for opt in OPTIMIZERS:
            extra = (("optimizer.b1", 0.5),) if opt == "adam" else ()
            out.append(
                Run(
                    f"{opt}_seed{s}",
                    "mog16_rk4",
                    seed=s,
                    overrides=common
                    + (
                        ("rule.name", "alternating"),
                        ("optimizer.name", opt),
                        ("optimizer.learning_rate", LR),
                    )
                    + extra,
                    labels=(("method", opt), ("seed", s)),
                )
            )
        for name in INTEGRATORS:
            out.append(
                Run(
                    f"ode_{name}_seed{s}",
                    "mog16_rk4",
                    seed=s,
                    overrides=common
                    + (("rule.integrator", name), ("rule.h", 0.16), ("rule.schedule", "constant")),
                    labels=(("method", name), ("seed", s)),
                )
            )
    return out


def at_time(o: Outcome, t: float) -> tuple:
    """(modes, HQ, step) at the last logged row with time_s ≤ t."""
    rows = [r for r in o.metrics() if "modes_covered" in r and "time_s" in r and r["time_s"] <= t]
    if not rows:
        return None, None, 0
    return rows[-1]["modes_covered"], rows[-1]["hq_fraction"], rows[-1]["step"]


def total_time(o: Outcome) -> float | None:
    rows = [r for r in o.metrics() if "time_s" in r]
    return rows[-1]["time_s"] if o.ok and rows else None


def analyse(ctx: Context) -> Report:
    times = [t for t in (total_time(o) for o in ctx.outcomes) if t is not None]
    budget = min(times) if times else 0.0
    table, at_t = [], {}
    for o in ctx.outcomes:
        m, hq, step = at_time(o, budget) if o.ok else (None, None, 0)
        at_t[o.run.id] = {"modes": m, "hq": hq, "step": step, "total_s": total_time(o)}
        table.append(
            [
                o.run.label["method"],
                o.run.seed,
                status_cell(o),
                fmt(total_time(o), "{:.1f}"),
                "–" if m is None else f"{m}/8, {100 * hq:.1f}% (step {step})",
            ]
        )

    def mean_hq(method, key):
        vals = [
            (quality(o)[1] if key == "end" else at_t[o.run.id]["hq"])
            for o in ctx.select(method=method)
        ]
        vals = [v for v in vals if v is not None]
        return float(np.mean(vals)) if vals else None

    end = {m: mean_hq(m, "end") for m in OPTIMIZERS + INTEGRATORS}
    eq = {m: mean_hq(m, "time") for m in OPTIMIZERS + INTEGRATORS}
    best_opt = max(
        (m for m in OPTIMIZERS if end[m] is not None), key=lambda m: end[m], default=None
    )
    best_eq = max((m for m in eq if eq[m] is not None), key=lambda m: eq[m], default=None)
    claims = [
        Claim(
            "among the optimisers, SGD gives the most stable training and the clearest samples",
            "Bhope19 Experiment D (DCGAN on MNIST)",
            "SGD best of Adam, RMSprop, SGD, Adadelta (Adagrad also run)",
            "final HQ: "
            + ", ".join(
                f"{m} {fmt(None if end[m] is None else 100 * end[m], '{:.1f}%')}"
                for m in OPTIMIZERS
            )
            + f"; best: {best_opt}",
            "reproduced" if best_opt == "sgd" else "not reproduced",
            f"one learning rate ({LR:g}) for every optimiser, on the 8-Gaussian ring rather "
            f"than MNIST",
        ),
        Claim(
            "ODE-GAN integrators against the optimisers at equal wall time",
            'Qin20 ("adaptive optimisers are not necessary"); Bhope19 Exp. D',
            "–",
            f"HQ at {budget:.0f} s (the fastest run's whole time): "
            + ", ".join(
                f"{m} {fmt(None if eq[m] is None else 100 * eq[m], '{:.1f}%')}"
                for m in OPTIMIZERS + INTEGRATORS
            )
            + f"; best: {best_eq}",
            "reproduced" if best_eq in INTEGRATORS else "not reproduced",
            "the claim tested: an ODE integrator without an adaptive optimiser is at least "
            "as good as the best optimiser for the same wall time",
        ),
    ]
    fig = Figure(figsize=(6.5, 3.8))
    ax = fig.subplots()
    for o in ctx.outcomes:
        rows = [r for r in o.metrics() if "modes_covered" in r and "time_s" in r]
        if rows:
            ax.plot(
                [r["time_s"] for r in rows],
                [100 * r["hq_fraction"] for r in rows],
                lw=0.9,
                ls="-" if o.run.label["method"] in INTEGRATORS else "--",
                label=o.run.id,
            )
    ax.axvline(budget, color="k", lw=0.6)
    ax.set_xlabel("wall time s (line: equal-time budget)")
    ax.set_ylabel("HQ %")
    ax.set_title("8-Gaussian ring: optimisers (dashed) vs ODE integrators")
    ax.legend(fontsize=6)
    fig.tight_layout()
    return Report(
        claims,
        tables=[
            (
                "Per run",
                ["method", "seed", "final (equal steps)", "wall s", f"at {budget:.0f} s"],
                table,
            )
        ],
        numbers={
            "equal_time_budget_s": budget,
            "at_equal_time": at_t,
            "mean_final_hq": end,
            "mean_hq_at_equal_time": eq,
        },
        figures={"hq_vs_wall_time.png": fig},
        notes=[
            "wall time is each run's own clock (metrics.jsonl time_s), taken "
            "with the runs one at a time; it includes the logged evaluations"
        ],
    )


STUDY = Study(
    "optimizers_2d",
    "Bhope19's optimiser comparison on 2D, with the ODE integrators",
    "Bhope19 Experiment D; Qin20",
    runs,
    analyse,
    seeds=(0,),
    sizes="5,000 steps per run (--full: 40,000)",
)
