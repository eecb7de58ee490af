"""Periodic actions of the training loop, in the manner of clu's ``periodic_actions``.

Each action is a small object that says at which step it next wants to run
(:meth:`PeriodicAction.next_step`): the loop bounds each fused call of training steps by the
earliest of them, so every action sees the state at exactly its own steps. When due, an action
gets ``(step, state, metrics, row)``: ``metrics`` are the last call's per-step metrics
(stacked over the call's steps), ``row`` the dict that the loop writes to ``metrics.jsonl``
after every action has run (actions before :class:`WriteRow` add to it).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import jax
import numpy as np
from optax.tree_utils import tree_norm, tree_sub

from odegan_jax import checkpoints, logs, plots
from odegan_jax.data import get_batches
from odegan_jax.scoring import ImageScorer, quality_2d

if TYPE_CHECKING:
    import orbax.checkpoint as ocp
    from ml_collections import ConfigDict

    from odegan_jax.experiment import Experiment
    from odegan_jax.rules import TrainState


class PeriodicAction:
    """Runs at every multiple of ``every`` steps (``every`` 0: never; None: after every call)
    and, with ``at_end``, at the last step."""

    def __init__(self, every: int | None, last_step: int, at_end: bool = False) -> None:
        self.every, self.last_step, self.at_end = every, last_step, at_end

    def next_step(self, step: int) -> float:
        """The next step > ``step`` at which this action wants the state (inf: none)."""
        nxt = math.inf
        if self.every:
            nxt = (step // self.every + 1) * self.every
        if self.at_end and step < self.last_step:
            nxt = min(nxt, self.last_step)
        return nxt

    def due(self, step: int) -> bool:
        if self.every is None:
            return True
        return bool(self.every and step % self.every == 0) or (
            self.at_end and step == self.last_step
        )

    def __call__(self, step: int, state: TrainState, metrics: dict, row: dict) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


FLAGS = ("finite", "accepted", "failed")  # per-attempt flags, not logged


def host_row(metrics: dict, i: int) -> dict:
    """Step ``i`` of a call's stacked metrics as floats (without the per-attempt flags)."""
    row = {k: float(np.asarray(v)[i]) for k, v in metrics.items() if k not in FLAGS}
    if "rejected" in row:
        row["rejected"] = int(row["rejected"])
    return row


class LogMetrics(PeriodicAction):
    """The losses, D(x) / D(G(z)), gradient norms and h of the step, and the wall time since
    the loop started. ODE rules add ``rejected`` (attempts rejected over the run) and ``nfe``
    (field evaluations per accepted step since the previous row, rejected attempts
    included); adaptive control adds ``error_norm`` (the step's scaled error, ≤ 1)."""

    def __init__(self, every: int, last_step: int, start: float) -> None:
        super().__init__(every, last_step, at_end=True)
        self.start = start
        self.last: tuple[int, int] | None = None  # (step, rejected) at the previous row

    def __call__(self, step: int, state: TrainState, metrics: dict, row: dict) -> None:
        values = host_row(metrics, -1)
        if "nfe" in values:
            stages = values.pop("nfe")
            last_step, last_rejected = self.last or (0, 0)
            if step > last_step:
                values["nfe"] = round(
                    stages * (1 + (values["rejected"] - last_rejected) / (step - last_step)), 3
                )
            self.last = (step, values["rejected"])
        row.update(step=step, **values, time_s=round(time.perf_counter() - self.start, 3))


class Quality2D(PeriodicAction):
    """2D data: modes covered and the high-quality share (:func:`scoring.quality_2d`)."""

    def __init__(self, exp, every: int, last_step: int) -> None:
        super().__init__(every, last_step, at_end=True)
        self.exp = exp

    def __call__(self, step: int, state: TrainState, metrics: dict, row: dict) -> None:
        row.update(step=step, **quality_2d(self.exp, state))


class ImageScores(PeriodicAction):
    """Images: IS / FID / KID (:class:`scoring.ImageScorer`, built at the first score)."""

    def __init__(self, exp, every: int, last_step: int) -> None:
        super().__init__(every, last_step)
        self.exp, self.scorer = exp, None

    def __call__(self, step: int, state: TrainState, metrics: dict, row: dict) -> None:
        if self.scorer is None:  # networks, real data and ceilings: once per run
            cfg = self.exp.config
            self.scorer = ImageScorer(self.exp, cfg.eval.num_samples, cfg.eval.inception_weights)
        scores = self.scorer(self.exp, state)
        row.update(step=step, **{k: v for k, v in scores.items() if isinstance(v, float)})
        row.update(
            {
                f"inception_{k}": v
                for k, v in scores.get("inception", {}).items()
                if isinstance(v, float)
            }
        )  # Inception-v3's space, with a weights file


class WriteRow(PeriodicAction):
    """Writes the row the actions before it filled (after every call that filled one)."""

    def __init__(self, writer: logs.MetricsWriter) -> None:
        super().__init__(None, 0)
        self.writer = writer

    def __call__(self, step: int, state: TrainState, metrics: dict, row: dict) -> None:
        if row:
            self.writer.write(row)


class Progress(PeriodicAction):
    """A tqdm bar (``bar``), or a printed row at the logged steps about every tenth of the run."""

    def __init__(
        self, name: str, first_step: int, last_step: int, bar: bool, echo: Callable[[str], None]
    ) -> None:
        super().__init__(None, last_step)
        self.echo, self.seen = echo, first_step
        self.next_report = first_step + max(last_step // 10, 1)
        self.bar = None
        if bar:
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=last_step, initial=first_step, desc=name, unit="step", dynamic_ncols=True
            )

    def __call__(self, step: int, state: TrainState, metrics: dict, row: dict) -> None:
        if self.bar is not None:
            self.bar.update(step - self.seen)  # negative after a rollback
            if "loss_d" in row:
                self.bar.set_postfix(
                    loss_d=f"{row['loss_d']:.3f}",
                    loss_g=f"{row['loss_g']:.3f}",
                    **({"modes": row["modes_covered"]} if "modes_covered" in row else {}),
                )
        elif "loss_d" in row and (step >= self.next_report or step == self.last_step):
            self.next_report = step + max(self.last_step // 10, 1)
            self.echo(logs.format_row(row))
        self.seen = step

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class SampleGrid(PeriodicAction):
    """Images: ``samples/step_N.png``, G at the fixed evaluation latents."""

    def __init__(self, exp, every: int, last_step: int, workdir: str) -> None:
        super().__init__(every, last_step)
        self.exp, self.dir = exp, os.path.join(workdir, "samples")

    def __call__(self, step: int, state: TrainState, metrics: dict, row: dict) -> None:
        os.makedirs(self.dir, exist_ok=True)
        plots.save_image_grid(
            os.path.join(self.dir, f"step_{step:07d}.png"),
            self.exp.samples(state, self.exp.config.loop.sample_grid),
        )


class Snapshots(PeriodicAction):
    """G at the fixed evaluation latents at the listed steps (``loop.snapshot_steps``):
    ``snapshots/step_N.npy`` for 2D data (every evaluation latent), ``snapshots/step_N.png``
    for images; Yamazaki17's training-progress figures are drawn from them."""

    def __init__(self, exp, steps, workdir: str) -> None:
        super().__init__(0, 0)
        self.exp, self.steps = exp, sorted(set(int(s) for s in steps))
        self.dir = os.path.join(workdir, "snapshots")

    def next_step(self, step: int) -> float:
        return next((s for s in self.steps if s > step), math.inf)

    def due(self, step: int) -> bool:
        return step in self.steps

    def __call__(self, step: int, state: TrainState, metrics: dict, row: dict) -> None:
        os.makedirs(self.dir, exist_ok=True)
        path = os.path.join(self.dir, f"step_{step:07d}")
        if self.exp.is_2d:
            np.save(path + ".npy", self.exp.samples(state, self.exp.config.loop.eval_samples))
        else:
            plots.save_image_grid(
                path + ".png", self.exp.samples(state, self.exp.config.loop.sample_grid)
            )


def truncation_error_fn(exp: Experiment) -> Callable:
    """A jitted ``(state, train) -> (lte, lte_rel)``: the step-doubling estimate of the local
    truncation error of the run's ODE step, ‖Φ_h(y) − Φ_{h/2}(Φ_{h/2}(y))‖ over all parameters,
    from the same state, minibatch and keys (the regulariser and everything else the training
    step does included), and the same divided by the step's length ‖Φ_h(y) − y‖."""
    rule, cfg = exp.rule, exp.config

    def lte(state, train):
        batches = get_batches(
            exp.dataset,
            exp.keys["stream"],
            state.step,
            rule.batches_per_step,
            cfg.data.batch_size,
            train,
        )
        full, _ = rule.step(state, batches)
        control = state.rule_state["control"]  # fixed steps: h / 2 is half the base h
        half = state._replace(
            rule_state=dict(state.rule_state, control=control._replace(h=control.h / 2))
        )
        mid, _ = rule.step(half, batches)
        mid = mid._replace(step=state.step, key=state.key)  # the same h and keys again
        two, _ = rule.step(mid, batches)
        error = tree_norm(tree_sub(full.params, two.params))
        return error, error / tree_norm(tree_sub(full.params, state.params))

    return jax.jit(lte)


class TruncationError(PeriodicAction):
    """ODE rules: ``lte`` / ``lte_rel`` (:func:`truncation_error_fn`) every ``every`` steps.
    ``train``: the training set as the loop's compiled calls hold it (one device copy)."""

    def __init__(self, exp, every: int, last_step: int, train) -> None:
        super().__init__(every, last_step)
        self.fn, self.train = truncation_error_fn(exp), train

    def __call__(self, step: int, state: TrainState, metrics: dict, row: dict) -> None:
        error, rel = self.fn(state, self.train)
        row.update(step=step, lte=float(error), lte_rel=float(rel))


class Checkpoint(PeriodicAction):
    """An orbax checkpoint of the whole state (the last step's is saved after the loop)."""

    def __init__(self, mngr, every: int, last_step: int) -> None:
        super().__init__(every, last_step)
        self.mngr = mngr

    def __call__(self, step: int, state: TrainState, metrics: dict, row: dict) -> None:
        if step < self.last_step:
            checkpoints.save(self.mngr, step, state)


def training_actions(
    exp: Experiment,
    workdir: str,
    first_step: int,
    start: float,
    mngr: ocp.CheckpointManager,
    writer: logs.MetricsWriter,
    echo: Callable[[str], None],
    progress: bool,
    train: ConfigDict | None = None,
) -> list[PeriodicAction]:
    """The loop's actions, in the order they run at a step. ``train``: the training set on
    the device (None: samples are drawn fresh), shared with the compiled calls."""
    loop, steps = exp.config.loop, exp.config.steps
    actions: list[PeriodicAction] = [LogMetrics(loop.log_every, steps, start)]
    if exp.is_2d:
        actions.append(Quality2D(exp, loop.log_every, steps))
    else:
        actions.append(ImageScores(exp, loop.score_every, steps))
    if loop.lte_every:
        actions.append(TruncationError(exp, loop.lte_every, steps, train))
    actions += [WriteRow(writer), Progress(exp.config.name, first_step, steps, progress, echo)]
    if exp.is_image:
        actions.append(SampleGrid(exp, loop.sample_every, steps, workdir))
    if loop.snapshot_steps:
        actions.append(Snapshots(exp, loop.snapshot_steps, workdir))
    actions.append(Checkpoint(mngr, loop.checkpoint_every, steps))
    return actions
