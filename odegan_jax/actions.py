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
from typing import Callable, Optional

import numpy as np

from odegan_jax import checkpoints, logs, plots
from odegan_jax.scoring import ImageScorer, quality_2d


class PeriodicAction:
    """Runs at every multiple of ``every`` steps (``every`` 0: never; None: after every call)
    and, with ``at_end``, at the last step."""

    def __init__(self, every: Optional[int], last_step: int, at_end: bool = False):
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
        return bool(self.every and step % self.every == 0) or (self.at_end
                                                               and step == self.last_step)

    def __call__(self, step: int, state, metrics: dict, row: dict) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


def host_row(metrics: dict, i: int) -> dict:
    """Step ``i`` of a call's stacked metrics as floats (without the ``finite`` flag)."""
    return {k: float(np.asarray(v)[i]) for k, v in metrics.items() if k != "finite"}


class LogMetrics(PeriodicAction):
    """The losses, D(x) / D(G(z)), gradient norms, h (and NFE) of the step, and the wall time
    since the loop started."""

    def __init__(self, every: int, last_step: int, start: float):
        super().__init__(every, last_step, at_end=True)
        self.start = start

    def __call__(self, step, state, metrics, row):
        row.update(step=step, **host_row(metrics, -1),
                   time_s=round(time.perf_counter() - self.start, 3))


class Quality2D(PeriodicAction):
    """2D data: modes covered and the high-quality share (:func:`scoring.quality_2d`)."""

    def __init__(self, exp, every: int, last_step: int):
        super().__init__(every, last_step, at_end=True)
        self.exp = exp

    def __call__(self, step, state, metrics, row):
        row.update(step=step, **quality_2d(self.exp, state))


class ImageScores(PeriodicAction):
    """Images: IS / FID / KID (:class:`scoring.ImageScorer`, built at the first score)."""

    def __init__(self, exp, every: int, last_step: int):
        super().__init__(every, last_step)
        self.exp, self.scorer = exp, None

    def __call__(self, step, state, metrics, row):
        if self.scorer is None:  # networks, real data and ceilings: once per run
            cfg = self.exp.config
            self.scorer = ImageScorer(self.exp, cfg.eval.num_samples, cfg.eval.inception_weights)
        scores = self.scorer(self.exp, state)
        row.update(step=step, **{k: v for k, v in scores.items() if isinstance(v, float)})


class WriteRow(PeriodicAction):
    """Writes the row the actions before it filled (after every call that filled one)."""

    def __init__(self, writer: logs.MetricsWriter):
        super().__init__(None, 0)
        self.writer = writer

    def __call__(self, step, state, metrics, row):
        if row:
            self.writer.write(row)


class Progress(PeriodicAction):
    """A tqdm bar (``bar``), or a printed row at the logged steps about every tenth of the run."""

    def __init__(self, name: str, first_step: int, last_step: int, bar: bool,
                 echo: Callable[[str], None]):
        super().__init__(None, last_step)
        self.echo, self.seen = echo, first_step
        self.next_report = first_step + max(last_step // 10, 1)
        self.bar = None
        if bar:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=last_step, initial=first_step, desc=name, unit="step",
                            dynamic_ncols=True)

    def __call__(self, step, state, metrics, row):
        if self.bar is not None:
            self.bar.update(step - self.seen)  # negative after a rollback
            if "loss_d" in row:
                self.bar.set_postfix(loss_d=f"{row['loss_d']:.3f}", loss_g=f"{row['loss_g']:.3f}",
                                     **({"modes": row["modes_covered"]} if "modes_covered" in row
                                        else {}))
        elif "loss_d" in row and (step >= self.next_report or step == self.last_step):
            self.next_report = step + max(self.last_step // 10, 1)
            self.echo(logs.format_row(row))
        self.seen = step

    def close(self):
        if self.bar is not None:
            self.bar.close()


class SampleGrid(PeriodicAction):
    """Images: ``samples/step_N.png``, G at the fixed evaluation latents."""

    def __init__(self, exp, every: int, last_step: int, workdir: str):
        super().__init__(every, last_step)
        self.exp, self.dir = exp, os.path.join(workdir, "samples")

    def __call__(self, step, state, metrics, row):
        os.makedirs(self.dir, exist_ok=True)
        plots.save_image_grid(os.path.join(self.dir, f"step_{step:07d}.png"),
                              self.exp.samples(state, self.exp.config.loop.sample_grid))


class Checkpoint(PeriodicAction):
    """An orbax checkpoint of the whole state (the last step's is saved after the loop)."""

    def __init__(self, mngr, every: int, last_step: int):
        super().__init__(every, last_step)
        self.mngr = mngr

    def __call__(self, step, state, metrics, row):
        if step < self.last_step:
            checkpoints.save(self.mngr, step, state)


def training_actions(exp, workdir: str, first_step: int, start: float, mngr,
                     writer: logs.MetricsWriter, echo: Callable[[str], None],
                     progress: bool) -> list[PeriodicAction]:
    """The loop's actions, in the order they run at a step."""
    loop, steps = exp.config.loop, exp.config.steps
    actions: list[PeriodicAction] = [LogMetrics(loop.log_every, steps, start)]
    if exp.is_2d:
        actions.append(Quality2D(exp, loop.log_every, steps))
    else:
        actions.append(ImageScores(exp, loop.score_every, steps))
    actions += [WriteRow(writer),
                Progress(exp.config.name, first_step, steps, progress, echo)]
    if not exp.is_2d:
        actions.append(SampleGrid(exp, loop.sample_every, steps, workdir))
    actions.append(Checkpoint(mngr, loop.checkpoint_every, steps))
    return actions
