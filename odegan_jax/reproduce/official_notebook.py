"""``official_notebook``: the official ODE-GAN notebook's own task (``mog16_official``) run by
us and by the notebook's code (``../shared/peers/official_notebook_mog16.py``, run in its own
environment as a measuring stick, never copied) in the same study, seed for seed.

The two runs of a seed do not share random numbers (the notebook draws with numpy, we with
JAX), so the comparison is of outcome distributions over the seeds, not of trajectories.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from odegan_jax.reproduce import Claim, Report, Run, Study, fmt, mean_or_none

if TYPE_CHECKING:
    from odegan_jax.reproduce import Context

STEPS = 30_001  # the notebook's own count, CPU-sized already
CHECKPOINTS = (10_000, 20_000)


def runs(size: str, seeds: Sequence[int]) -> list[Run]:
    out = []
    for s in seeds:
        out.append(
            Run(
                f"ours_seed{s}",
                "mog16_official",
                seed=s,
                overrides=(("steps", STEPS),),
                labels=(("who", "ours"), ("seed", s)),
            )
        )
        out.append(
            Run(
                f"notebook_seed{s}",
                "",
                seed=s,
                kind="peer",
                peer_args=("--seed", s, "--steps", STEPS, "--integrator", "rk4"),
                labels=(("who", "notebook"), ("seed", s)),
            )
        )
    return out


def _ours(o) -> dict:
    """{step: (modes, hq)} at the notebook's evaluation steps and the last."""
    rows = {r["step"]: r for r in o.metrics() if "modes_covered" in r}
    out = {s: (rows[s]["modes_covered"], rows[s]["hq_fraction"]) for s in CHECKPOINTS if s in rows}
    last = max(rows) if rows else None
    if last is not None:
        out["last"] = (rows[last]["modes_covered"], rows[last]["hq_fraction"])
    return out


def _peer(o) -> dict:
    q = {r["step"]: (r["modes"], r["hq"]) for r in o.summary.get("quality", [])}
    out = {s: q[s] for s in CHECKPOINTS if s in q}
    if q:
        out["last"] = q[max(q)]
    return out


def analyse(ctx: Context) -> Report:
    table, per = [], {"ours": {}, "notebook": {}}
    for seed in ctx.seeds:
        cells = [seed]
        for who, read in (("ours", _ours), ("notebook", _peer)):
            (o,) = ctx.select(who=who, seed=seed)
            q = read(o) if o.ok else {}
            per[who][seed] = {str(k): v for k, v in q.items()}
            for s in (*CHECKPOINTS, "last"):
                cells.append(
                    f"{q[s][0]}/16, {100 * q[s][1]:.1f}%"
                    if s in q
                    else ("–" if o.ok else f"**{o.status}**")
                )
        (ours,) = ctx.select(who="ours", seed=seed)
        (peer,) = ctx.select(who="notebook", seed=seed)
        ours_ms = 1000 * ours.summary["wall_time_s"] / ours.summary["steps"] if ours.ok else None
        cells += [
            fmt(ours_ms, "{:.2f}"),
            fmt(peer.summary.get("ms_per_step") if peer.ok else None, "{:.2f}"),
        ]
        table.append(cells)

    def stats(who, i):
        vals = [q["last"][i] for q in per[who].values() if "last" in q]
        return (mean_or_none(vals), float(np.std(vals)) if vals else None, len(vals))

    claims = []
    peer_ran = any(o.ok for o in ctx.select(who="notebook"))
    (m_o, s_o, n_o), (m_p, s_p, n_p) = stats("ours", 0), stats("notebook", 0)
    (h_o, hs_o, _), (h_p, hs_p, _) = stats("ours", 1), stats("notebook", 1)
    if not peer_ran:
        reason = next((o.error for o in ctx.select(who="notebook")), "")
        claims.append(
            Claim(
                "our mog16_official reproduces the official notebook's outcome on its own task",
                "official notebook odegan_mog16.ipynb",
                "the notebook's code, run here",
                f"ours: modes {fmt(m_o)} ± {fmt(s_o)}, HQ {fmt(h_o)} over {n_o} seeds",
                "not run",
                f"the notebook's code did not run: {reason}",
            )
        )
    else:
        close = (
            m_o is not None
            and m_p is not None
            and abs(m_o - m_p) <= max(s_o, s_p, 1.0)
            and abs(h_o - h_p) <= max(hs_o, hs_p, 0.05)
        )
        claims.append(
            Claim(
                "our mog16_official reproduces the official notebook's outcome on its own task "
                "(RK4, h 0.1, λ 0.07, frozen coupling, 30,001 steps)",
                "official notebook odegan_mog16.ipynb",
                f"notebook's code here: modes {fmt(m_p)} ± {fmt(s_p)}, HQ {fmt(h_p)} ± {fmt(hs_p)} "
                f"({n_p} seeds)",
                f"modes {fmt(m_o)} ± {fmt(s_o)}, HQ {fmt(h_o)} ± {fmt(hs_o)} ({n_o} seeds)",
                "reproduced" if close else "partly",
                "final means differ by less than the seeds' spread (or 1 mode / 5 points of HQ)"
                if close
                else "the final means differ by more than the seeds' spread; both codes "
                "are the same algorithm with different random streams",
            )
        )
    fig = Figure(figsize=(6, 3.2))
    ax = fig.subplots()
    for who, marker in (("ours", "o"), ("notebook", "s")):
        xs = [s for s in ctx.seeds if "last" in per[who].get(s, {})]
        ax.scatter(
            [per[who][s]["last"][0] for s in xs],
            [100 * per[who][s]["last"][1] for s in xs],
            marker=marker,
            label=who,
            s=40,
            alpha=0.8,
        )
    ax.set_xlabel("modes covered (of 16) at the last step")
    ax.set_ylabel("high-quality samples %")
    ax.legend()
    ax.set_title("mog16_official: ours vs the notebook's code, one point per seed")
    fig.tight_layout()
    headers = (
        ["seed"]
        + [f"{w} {s}" for w in ("ours", "notebook") for s in ("10k", "20k", "last")]
        + ["ours ms/step (incl. logging)", "notebook ms/step (median)"]
    )
    return Report(
        claims,
        tables=[("Per seed: modes / HQ at steps 10,000, 20,000 and the last", headers, table)],
        numbers={
            "ours": {str(k): v for k, v in per["ours"].items()},
            "notebook": {str(k): v for k, v in per["notebook"].items()},
            "final_modes_mean": {"ours": m_o, "notebook": m_p},
            "final_hq_mean": {"ours": h_o, "notebook": h_p},
        },
        figures={"ours_vs_notebook.png": fig},
        notes=[
            "the notebook evaluates after update 10,001 / 20,001 (its loop index "
            "10,000 / 20,000), ours after 10,000 / 20,000 updates",
            "ms/step are not comparable as a benchmark here: ours includes the "
            "logged evaluations and the runs shared the 2 cores (--jobs); "
            "benchmarks/ measures speed",
        ],
    )


STUDY = Study(
    "official_notebook",
    "ours next to the official notebook's code on its task",
    "official notebook odegan_mog16.ipynb; ../shared/peers",
    runs,
    analyse,
    seeds=(0, 1, 2, 3),
    sizes="30,001 steps (the notebook's own) for both sizes",
)
