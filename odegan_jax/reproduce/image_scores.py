"""Shared reading of image runs for the image studies (not a study): the scored rows of a run's
``metrics.jsonl`` (``loop.score_every``: classifier FID / IS / KID), their best and final
values, mean ± std over seeds, and the figures every image study draws."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from odegan_jax.reproduce import Context, Outcome


def scored_rows(rows: Sequence[dict]) -> list[dict]:
    """The rows that carry scores (``fid`` / ``is``)."""
    return [r for r in rows if "fid" in r or "is" in r]


def best_final(scored: Sequence[dict], key: str, lower_is_better: bool) -> dict:
    """``{"best", "best_step", "final", "final_step"}`` of ``key`` over a run's scored rows
    (Nones when it has none)."""
    values = [(r["step"], r[key]) for r in scored if r.get(key) is not None and np.isfinite(r[key])]
    if not values:
        return {"best": None, "best_step": None, "final": None, "final_step": None}
    pick = min if lower_is_better else max
    step, best = pick(values, key=lambda sv: sv[1])
    return {
        "best": float(best),
        "best_step": step,
        "final": float(values[-1][1]),
        "final_step": values[-1][0],
    }


def mean_std(values: Sequence[float]) -> tuple[float | None, float | None, int]:
    """(mean, sample std (0 for one value), n) of the finite values."""
    v = [x for x in values if x is not None and np.isfinite(x)]
    if not v:
        return None, None, 0
    return float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, len(v)


def pm(values: Sequence[float], pattern: str = "{:.1f}") -> str:
    """'12.3 ± 0.4' (n < all seeds is said: '12.3 ± 0.4 (2 runs)')."""
    m, s, n = mean_std(values)
    if m is None:
        return "–"
    text = f"{pattern.format(m)} ± {pattern.format(s)}"
    return text if n == len(list(values)) else f"{text} ({n} of {len(list(values))} runs)"


def pluck(ctx: Context, per: dict, path: Sequence[str], **labels: Any) -> list:
    """``per[run id][path[0]][path[1]]…`` for each run that ``labels`` select (None where a
    run has no such entry), in the order of the study's runs."""
    out = []
    for o in ctx.select(**labels):
        v = per.get(o.run.id)
        for key in path:
            v = v.get(key) if isinstance(v, dict) else None
        out.append(v)
    return out


def time_to_reach(
    scored: Sequence[dict], key: str, target: float | None, lower_is_better: bool = True
) -> tuple | None:
    """(step, time_s) of the first scored row whose ``key`` is at least as good as ``target``,
    None when the run never gets there."""
    if target is None:
        return None
    for r in scored:
        v = r.get(key)
        if v is not None and np.isfinite(v) and (v <= target if lower_is_better else v >= target):
            return r["step"], r.get("time_s")
    return None


def score_figure(
    scored_by_run: dict,
    key: str = "fid",
    label: str = "FID",
    colors: dict | None = None,
    log: bool = True,
    x: str = "step",
) -> Figure:
    """``key`` over training (``x``: ``step`` or ``time_s``) for every run; ``colors``: run id
    -> matplotlib colour (e.g. one per setting)."""
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    for run_id, rows in scored_by_run.items():
        rows = [r for r in rows if r.get(key) is not None and r.get(x) is not None]
        if rows:
            ax.plot(
                [r[x] for r in rows],
                [r[key] for r in rows],
                marker=".",
                lw=0.9,
                label=run_id,
                color=(colors or {}).get(run_id),
            )
    ax.set_xlabel("wall time, s" if x == "time_s" else "step")
    ax.set_ylabel(f"{label} (classifier features)")
    if log:
        ax.set_yscale("log")
    ax.legend(fontsize=6)
    ax.set_title(f"{label} over training")
    fig.tight_layout()
    return fig


def grid_figure(panels: Sequence[tuple], ncols: int = 4) -> Figure:
    """One image per panel from ``(title, png path or None)`` pairs (a missing path: an empty
    panel with its title)."""
    from PIL import Image

    nrows = max(1, -(-len(panels) // ncols))
    fig = Figure(figsize=(2.4 * ncols, 2.6 * nrows))
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for ax in axes:
        ax.set_axis_off()
    for ax, (title, path) in zip(axes, panels):
        ax.set_title(title, fontsize=8)
        if path and os.path.exists(path):
            ax.imshow(np.asarray(Image.open(path)), cmap="gray")
    fig.tight_layout()
    return fig


def final_samples(ctx: Context, setting_key: str, settings: Sequence[str]) -> list[tuple]:
    """(setting, samples.png of its first finished run) for each setting."""
    out = []
    for setting in settings:
        found = [o for o in ctx.select(**{setting_key: setting}) if o.ok]
        out.append((setting, os.path.join(found[0].dir, "samples.png") if found else None))
    return out


CACHE = "analysis_cache.json"


def cached(
    ctx: Context, name: str, outcomes: Sequence[Outcome], compute: Callable[[], dict]
) -> dict:
    """``compute()`` (JSON-able) once per ``name`` and the ``params_sha256`` of ``outcomes``:
    kept in the study's ``analysis_cache.json``, so re-analysing finished runs (a resumed or
    re-run study) does not re-generate samples from their checkpoints."""
    from odegan_jax import logs
    from odegan_jax.reproduce import _read_json

    key = name + ":" + ",".join(str(o.summary.get("params_sha256")) for o in outcomes)
    path = os.path.join(ctx.dir, CACHE)
    cache = _read_json(path) or {}
    if key in cache:
        return cache[key]
    value = compute()
    if not (isinstance(value, dict) and "error" in value):  # a failure is tried again
        cache[key] = value
        logs.write_json(path, cache)
    return value


def loaded(o: Outcome) -> tuple | str:
    """``o.load()``, or the reason it cannot be loaded (a string)."""
    from odegan_jax.experiment import RunError

    try:
        return o.load()
    except (RunError, OSError, ValueError) as e:
        return f"{o.run.id} cannot be loaded: {e}"
