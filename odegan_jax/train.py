"""The training loop: an experiment, fused compiled calls of training steps, periodic actions.

Side effects (files, clocks, printing) live here, in :mod:`.actions` and in the CLI; everything
they call is pure. Run directory layout::

    config.json        the resolved config (with the seed)
    metrics.jsonl      one JSON object per logged step
    tb/                TensorBoard event files
    checkpoints/<step> orbax checkpoint of the whole TrainState (the final params among it)
    samples.png        2D: generated samples (KDE), D's contours, the modes;
                       images: a grid of G at fixed latents
    samples/step_N.png images: the same latents every loop.sample_every steps
    curves.png         losses, D(x) / D(G(z)), 2D quality over steps
    summary.json       final metrics and params_sha256
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import Callable, Optional

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from odegan_jax import checkpoints, logs, parallel, plots, rundir, xla_cpu
from odegan_jax.actions import training_actions
from odegan_jax.data import get_batches
from odegan_jax.experiment import Experiment, build, build_rule, init_state


class NonFiniteError(RuntimeError):
    """Training produced NaN/Inf; the message names the step and the quantity."""


def make_train_fn(exp: Experiment, num_steps: int, mesh=None) -> Callable:
    """A jitted function running ``num_steps`` training steps: ``(state, train) -> (state,
    metrics)`` with metrics stacked over steps. Minibatches are drawn inside, from the step
    counter, so the data position is part of the state. Several steps are fused with
    ``lax.scan`` (fine for MLPs; keep ``steps_per_call = 1`` for conv nets on CPU)."""
    cfg = exp.config

    def one(state, train):
        batches = get_batches(exp.dataset, exp.keys["stream"], state.step,
                              exp.rule.batches_per_step, cfg.data.batch_size, train)
        if mesh is not None:  # shard the batch axis; params stay replicated
            batches = parallel.shard_batches(batches, mesh)
        return exp.rule.step(state, batches)

    if num_steps == 1:
        def run(state, train):
            state, metrics = one(state, train)
            return state, jax.tree.map(lambda x: x[None], metrics)
    else:
        def run(state, train):
            return jax.lax.scan(lambda s, _: one(s, train), state, None, length=num_steps)
    if mesh is not None:
        return parallel.jit_replicated(run, mesh)
    return jit_steps(exp, run)


def jit_steps(exp: Experiment, run: Callable) -> Callable:
    """``run(state, ...) -> (state, metrics)`` jitted with the state donated; the 2D (MLP)
    steps compiled with the unrolled threefry lowering (same random bits, faster on CPU,
    :mod:`.xla_cpu`)."""
    jitted = jax.jit(run, donate_argnums=(0,))
    if exp.dataset.sample_shape == (2,):
        return xla_cpu.compile_with_unrolled_threefry(jitted)
    return jitted


def steps_per_call(exp: Experiment) -> int:
    """Training steps fused in one compiled call: ``loop.steps_per_call`` for 2D data (MLP
    steps in ``lax.scan``), 1 for conv nets (XLA on CPU differentiates convolutions inside
    loops 5-15x slower, JAX issue 12868)."""
    return exp.config.loop.steps_per_call if exp.dataset.sample_shape == (2,) else 1


def train(config: ml_collections.ConfigDict, workdir: Optional[str] = None, *,
          echo: Callable[[str], None] = print, progress: bool = False,
          resume_with_changes: bool = False) -> dict:
    """Trains ``config`` into ``workdir``; returns the summary (also in summary.json).

    Resumes from the newest good checkpoint in ``workdir/checkpoints`` when there is one; the
    run directory's rules (one process, one config, see :mod:`.rundir`) are checked first.
    ``progress``: a tqdm bar instead of a printed row every tenth of the run."""
    exp = build(config)
    mesh = parallel.data_mesh(config.data.batch_size)
    workdir = os.path.abspath(workdir or rundir.default_workdir(config))
    lock, changed = rundir.open_run(workdir, config, resume_with_changes)
    try:
        return _train(exp, mesh, workdir, changed, echo, progress)
    finally:
        lock.release()


def _train(exp: Experiment, mesh, workdir: str, changed: dict, echo, progress: bool) -> dict:
    config = exp.config
    steps = config.steps
    echo(f"odegan: training {config.name} (seed {config.seed}, {steps} steps, "
         f"rule {exp.rule.name}) into {workdir}"
         + (f" on {mesh.size} devices (data parallel)" if mesh is not None else ""))
    mngr, state, step, finished = open_checkpoints(exp, workdir, changed, echo)
    if finished is not None:
        return finished
    writer = start_logs(config, workdir, step, changed)
    calls = Calls(exp, mesh, state, mngr, writer, echo)
    start = time.perf_counter()
    actions = training_actions(exp, workdir, step, start, mngr, writer, echo, progress,
                               calls.train)
    per_call = steps_per_call(exp)
    try:
        while step < steps:
            n = int(min(per_call, steps - step, *(a.next_step(step) - step for a in actions)))
            state, metrics, step = calls.run(step, n)
            if metrics is None:  # rolled back to a checkpoint
                continue
            row: dict = {}
            for action in actions:
                if action.due(step):
                    action(step, state, metrics, row)
    finally:  # a full disk can fail these too; the error that stopped the loop must surface
        for closeable in (writer, *actions):
            try:
                closeable.close()
            except OSError as e:
                echo(f"odegan: closing the {type(closeable).__name__} failed: {e}")
    wall = time.perf_counter() - start
    return finish_run(calls.exp, state, mngr, writer, workdir, wall, echo,
                      rollbacks=calls.rollbacks, retries=calls.retries)


def open_checkpoints(exp: Experiment, workdir: str, changed: dict, echo):
    """The run's checkpoint manager (incomplete checkpoints set aside first) and
    ``(state, step, None)`` to train from, or ``(…, summary)`` of a run already complete."""
    loop = exp.config.loop
    ckpt_dir = os.path.join(workdir, "checkpoints")
    for name, moved in checkpoints.set_aside_incomplete(ckpt_dir):
        echo(f"odegan: checkpoints/{name} was never completed (no orbax commit); moved it "
             f"to {moved}")
    mngr = checkpoints.manager(ckpt_dir, loop.keep_checkpoints,
                               loop.checkpoint_every or exp.config.steps)
    return (mngr, *_resume(exp, mngr, workdir, changed, echo))


def start_logs(config, workdir: str, step: int, changed: dict) -> logs.MetricsWriter:
    """config.json, metrics.jsonl cut at ``step`` (a resumed run), the writer of new rows."""
    logs.write_json(os.path.join(workdir, "config.json"), config.to_dict())
    logs.truncate_metrics(os.path.join(workdir, "metrics.jsonl"), step)
    writer = logs.MetricsWriter(workdir)
    if changed:
        writer.write({"step": step, "event": "config_changed",
                      "changes": {k: list(v) for k, v in changed.items()}})
    return writer


def finish_run(exp: Experiment, state, mngr, writer: logs.MetricsWriter, workdir: str,
               wall: float, echo, **extra) -> dict:
    """The final checkpoint, the plots and ``summary.json`` (returned); ``extra`` goes into
    the summary."""
    config, steps = exp.config, exp.config.steps
    if steps not in mngr.all_steps():
        checkpoints.save(mngr, steps, state, force=True)
    mngr.close()
    rows = logs.read_metrics(writer.path)
    final = next((r for r in reversed(rows) if "loss_d" in r), {})
    if config.loop.plot:
        plots.write_run_plots(exp, state, workdir)
    summary = {
        "config": config.name, "seed": config.seed, "steps": steps, "rule": exp.rule.name,
        "final": final, "params_sha256": checkpoints.params_sha256(state.params,
                                                                   state.model_state),
        "wall_time_s": round(wall, 2), "steps_per_s": round(steps / max(wall, 1e-9), 1),
        "workdir": workdir, **extra, "final_h": config.rule.h,
    }
    logs.write_json(os.path.join(workdir, "summary.json"), summary)
    if "modes_covered" in final:
        echo(f"final: modes covered {final['modes_covered']}/{final['num_modes']}, "
             f"high-quality samples {100 * final['hq_fraction']:.1f}% "
             f"({config.loop.eval_samples} samples, within {config.eval.num_sigmas:g}σ)")
    echo(f"done in {wall:.1f}s; params_sha256 {summary['params_sha256'][:16]}…; "
         f"summary in {os.path.join(workdir, 'summary.json')}")
    return summary


def _resume(exp: Experiment, mngr, workdir: str, changed: dict, echo):
    """``(state, step, None)`` to train from, or ``(…, summary)`` of a run already complete.

    Refuses (:class:`rundir.RunDirError`, nothing changed) a ``steps`` below the newest
    checkpoint: saving on would label a later state with an earlier step."""
    steps = exp.config.steps
    state, step = init_state(exp), 0
    if mngr.all_steps():
        restored, step = checkpoints.restore_or_quarantine(mngr, state, echo)
        state = state if restored is None else restored
        echo(f"odegan: resuming from the checkpoint at step {step} in {workdir}"
             if restored is not None else "odegan: no checkpoint could be restored; "
                                          "starting from step 0")
    summary_path = os.path.join(workdir, "summary.json")
    if step > steps or (step == steps and os.path.exists(summary_path) and not changed):
        mngr.close()
        if step > steps:
            raise rundir.RunDirError(
                f"{workdir} is at step {step}, past config.steps={steps}; nothing was "
                f"changed. Raise --config.steps to extend the run, or train into another "
                f"--workdir")
        echo(f"odegan: the run in {workdir} is complete ({steps} steps); nothing to do. "
             f"Raise --config.steps to extend it. Its summary: {summary_path}")
        with open(summary_path, encoding="utf-8") as f:
            return state, step, json.load(f)
    return state, step, None


class Calls:
    """Compiled calls of n training steps, and what ``loop.nonfinite`` does when one goes
    non-finite (ODE rules; the optax rules always stop):

    * ``retry``: redo the call from a copy of the state before it with h halved (again if need
      be, at most ``loop.max_retries`` halvings a run), then go on at the scheduled h;
    * ``rollback``: go back to the newest good checkpoint with h halved for the rest of the run;
    * ``stop``: raise :class:`NonFiniteError` naming the step and the quantity.
    """

    def __init__(self, exp: Experiment, mesh, state, mngr, writer: logs.MetricsWriter,
                 echo: Callable[[str], None]):
        self.exp, self.mesh, self.mngr, self.writer, self.echo = exp, mesh, mngr, writer, echo
        self.policy = exp.config.loop.nonfinite if exp.config.rule.name == "ode" else "stop"
        self.retries = self.rollbacks = 0
        # A resumed run goes on as the interrupted one would: metrics.jsonl (already cut at the
        # resumed step) keeps the retry / rollback rows, and the last rollback's h holds.
        for row in logs.read_metrics(writer.path):
            if row.get("event") == "retry":
                self.retries += 1
            elif row.get("event") == "rollback":
                self.rollbacks += 1
                self.exp = _with_h(self.exp, row["h"])
            elif row.get("event") == "config_changed" and "rule.h" in row["changes"]:
                self.exp = _with_h(self.exp, exp.config.rule.h)  # the user's new h wins
        if self.rollbacks:
            echo(f"odegan: going on with h {self.exp.config.rule.h:g} after "
                 f"{self.rollbacks} rollback(s) recorded in metrics.jsonl")
        self._fns: dict[tuple[int, float], Callable] = {}
        train = None if exp.dataset.train is None else jnp.asarray(exp.dataset.train)
        self.state, self.train = state, train
        if mesh is not None:
            self.state = parallel.replicate(state, mesh)
            self.train = None if train is None else parallel.replicate(train, mesh)

    def _compiled(self, exp: Experiment, n: int) -> Callable:
        key = (n, exp.config.rule.h)
        if key not in self._fns:
            self._fns[key] = make_train_fn(exp, n, self.mesh)
        return self._fns[key]

    def run(self, step: int, n: int):
        """``(state, metrics, step)`` after the call; metrics None after a rollback."""
        loop = self.exp.config.loop
        before = _copy_tree(self.state) if self.policy == "retry" else None
        self.state, metrics = self._compiled(self.exp, n)(self.state, self.train)
        bad = _first_nonfinite(metrics)
        retry_exp = self.exp
        while bad is not None and self.policy == "retry" and self.retries < loop.max_retries:
            self.retries += 1
            retry_exp = _halve_h(retry_exp)
            h = retry_exp.config.rule.h
            self.writer.write({"step": step + bad[0] + 1, "event": "retry", "h": h})
            self.echo(f"odegan: non-finite {bad[1]} at step {step + bad[0] + 1}: redoing steps "
                      f"{step + 1}-{step + n} with h {h:g} (retry {self.retries} of at most "
                      f"{loop.max_retries})")
            self.state, metrics = self._compiled(retry_exp, n)(_copy_tree(before), self.train)
            bad = _first_nonfinite(metrics)
        if bad is None:
            return self.state, metrics, step + n
        where = f"non-finite {bad[1]} at step {step + bad[0] + 1}"
        if self.policy == "retry":
            where += f" (all {self.retries} retries with h halved used)"
        saved = self.mngr.all_steps()
        if self.policy == "rollback" and self.rollbacks < loop.max_rollbacks and saved:
            return self._roll_back(where)
        raise NonFiniteError(f"{where}: training stopped. {self._advice(saved)}; metrics up "
                             f"to step {step} are kept in {os.path.dirname(self.writer.path)}")

    def _advice(self, saved) -> str:
        fixes = "lower config.rule.h" if self.exp.config.rule.name == "ode" else \
            "lower config.optimizer.learning_rate"
        if self.exp.config.rule.name == "ode":
            fixes += " or raise config.rule.reg_weight"
            if self.policy != "rollback":
                fixes += ", or set config.loop.nonfinite=rollback"
        kept = (f"the last checkpoint (step {max(saved)}) is kept" if saved
                else "no checkpoint had been saved yet")
        return f"To go on, {fixes}; {kept}"

    def _roll_back(self, where: str):
        self.rollbacks += 1
        self.exp = _halve_h(self.exp)
        self._fns.clear()
        restored, step = checkpoints.restore_or_quarantine(self.mngr, init_state(self.exp),
                                                           self.echo)
        self.state = restored if self.mesh is None else parallel.replicate(restored, self.mesh)
        self.writer.truncate(step)
        self.writer.write({"step": step, "event": "rollback", "h": self.exp.config.rule.h})
        self.echo(f"odegan: {where}: rolled back to the checkpoint at step {step} and halved h "
                  f"to {self.exp.config.rule.h:g} (rollback {self.rollbacks} of at most "
                  f"{self.exp.config.loop.max_rollbacks})")
        return self.state, None, step


def _first_nonfinite(metrics: dict) -> Optional[tuple[int, str]]:
    """(index in the call, quantity) of the first non-finite step of a call, or None."""
    finite = np.asarray(metrics["finite"])
    if finite.all():
        return None
    i = int(np.argmin(finite))
    for name in ("loss_d", "loss_g"):
        if not np.isfinite(np.asarray(metrics[name])[i]):
            return i, name
    return i, "parameters"


def _copy_tree(tree):
    """A copy in fresh buffers (same shardings) that survives donating ``tree``."""
    return jax.tree.map(jnp.copy, tree)


def _with_h(exp: Experiment, h: float) -> Experiment:
    """The experiment with base step size ``h`` (the schedule scales it as before)."""
    config = ml_collections.ConfigDict(exp.config.to_dict())
    config.rule.h = h
    return dataclasses.replace(exp, config=config, rule=build_rule(config, exp.game))


def _halve_h(exp: Experiment) -> Experiment:
    return _with_h(exp, exp.config.rule.h / 2)
