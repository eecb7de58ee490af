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

import json
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from jax import Array
from ml_collections import ConfigDict

from odegan_jax import checkpoints, logs, parallel, plots, rules, rundir, xla_cpu
from odegan_jax.actions import training_actions
from odegan_jax.data import get_batches
from odegan_jax.experiment import Experiment, build, init_state, legacy_layout, read_run_config
from odegan_jax.scoring import quality_2d

if TYPE_CHECKING:
    import orbax.checkpoint as ocp
    from jax.sharding import Mesh

    from odegan_jax.rules import TrainState


class TrainingStopped(RuntimeError):
    """A policy of the loop (``loop.nonfinite``, ``loop.dead_generator``) stopped training;
    the message names the step and what to change. Checkpoints and metrics are kept."""


class NonFiniteError(TrainingStopped):
    """Training produced NaN/Inf; the message names the step and the quantity."""


class DeadGeneratorError(TrainingStopped):
    """G's gradient became exactly 0 (``loop.dead_generator``); the message names the step."""


def make_train_fn(exp: Experiment, num_steps: int, mesh: Mesh | None = None) -> Callable:
    """A jitted function running ``num_steps`` training steps: ``(state, train) -> (state,
    metrics)`` with metrics stacked over steps. Minibatches are drawn inside, from the step
    counter, so the data position is part of the state. Several steps are fused with
    ``lax.scan`` (MLPs; conv nets on GPUs: :func:`steps_per_call` keeps them at 1 on CPU)."""
    cfg = exp.config

    def one(state, train):
        batches = get_batches(
            exp.dataset,
            exp.keys["stream"],
            state.step,
            exp.rule.batches_per_step,
            cfg.data.batch_size,
            train,
        )
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
        return parallel.jit_replicated(
            run, mesh, xla_cpu.compiler_options(exp.dataset.sample_shape)
        )
    return jit_steps(exp, run)


def jit_steps(exp: Experiment, run: Callable) -> Callable:
    """``run(state, ...) -> (state, metrics)`` jitted with the state donated and
    :func:`xla_cpu.compiler_options` (CPU: conv nets without YNNPACK fusions); the 2D (MLP)
    steps compiled with the unrolled threefry lowering (same random bits, faster on CPU,
    :mod:`.xla_cpu`)."""
    jitted = jax.jit(
        run,
        donate_argnums=(0,),
        compiler_options=xla_cpu.compiler_options(exp.dataset.sample_shape),
    )
    if exp.dataset.sample_shape == (2,):
        return xla_cpu.compile_with_unrolled_threefry(jitted)
    return jitted


def steps_per_call(exp: Experiment) -> int:
    """Training steps fused in one compiled call: ``loop.steps_per_call`` for 2D data (MLP
    steps in ``lax.scan``) and for conv nets on an accelerator (one call per step would leave
    the GPU idle while the host reads each step's metrics); 1 for conv nets on CPU (XLA on CPU
    differentiates convolutions inside loops 5-15x slower, JAX issue 12868)."""
    if exp.dataset.sample_shape == (2,) or jax.default_backend() != "cpu":
        return exp.config.loop.steps_per_call
    return 1


def train(
    config: ml_collections.ConfigDict,
    workdir: str | None = None,
    *,
    echo: Callable[[str], None] = print,
    progress: bool = False,
    resume_with_changes: bool = False,
) -> dict:
    """Trains ``config`` into ``workdir``; returns the summary (also in summary.json).

    Resumes from the newest good checkpoint in ``workdir/checkpoints`` when there is one; the
    run directory's rules (one process, one config, see :mod:`.rundir`) are checked first.
    ``progress``: a tqdm bar instead of a printed row every tenth of the run."""
    workdir = os.path.abspath(workdir or rundir.default_workdir(config))
    exp = _checked_step_size(config, build(config), workdir, echo)
    config = exp.config
    mesh = parallel.data_mesh(config.data.batch_size)
    lock, changed = rundir.open_run(workdir, config, resume_with_changes)
    try:
        return _train(exp, mesh, workdir, changed, echo, progress)
    finally:
        lock.release()


def _checked_step_size(
    config: ConfigDict, exp: Experiment, workdir: str, echo: Callable
) -> Experiment:
    """Before anything compiles, a fresh ODE run measures its field's stiffness at
    initialisation (:func:`stiffness.check_config`: a warning when an h of the schedule is
    outside the stable range); ``rule.h=auto`` takes its h from that measurement, or, when
    resuming, from the run's own config.json."""
    from odegan_jax import stiffness

    saved = os.path.join(workdir, "config.json")
    if config.rule.h_auto and os.path.exists(saved):
        old = read_run_config(workdir)
        if old.rule.get("h_auto"):
            config.rule.h = old.rule.h
            return build(config)
    if os.path.exists(saved) and not config.rule.h_auto:
        return exp  # a resumed run was checked when it started
    m = stiffness.check_config(config, exp, echo)
    if m is None or not config.rule.h_auto:
        return exp
    config.rule.h = stiffness.h_auto(config, m)
    echo(
        f"odegan: rule.h=auto: {config.rule.integrator} h_max "
        f"{stiffness.integrator_h_max(config, m):.4g} at initialisation, so h = "
        f"{config.rule.h:.4g} ({config.rule.h_auto_fraction:g} of it, over the schedule)"
    )
    return build(config)


def _train(
    exp: Experiment, mesh, workdir: str, changed: dict, echo: Callable, progress: bool
) -> dict:
    config = exp.config
    steps = config.steps
    echo(
        f"odegan: training {config.name} (seed {config.seed}, {steps} steps, "
        f"rule {exp.rule.name}) into {workdir}"
        + (f" on {mesh.size} devices (data parallel)" if mesh is not None else "")
    )
    mngr, state, step, finished = open_checkpoints(exp, workdir, changed, echo)
    if finished is not None:
        return finished
    writer = start_logs(config, workdir, step, changed)
    calls = Calls(exp, mesh, state, mngr, writer, echo)
    if step == 0 and calls.rolls_back and config.loop.checkpoint_every and not mngr.all_steps():
        # a step that fails before the first periodic checkpoint has somewhere to go back to
        checkpoints.save(mngr, 0, state, force=True)
    start = time.perf_counter()
    actions = training_actions(exp, workdir, step, start, mngr, writer, echo, progress, calls.train)
    try:
        while step < steps:
            n = calls.attempts(step, min(steps, *(a.next_step(step) for a in actions)))
            state, metrics, new_step = calls.run(step, n)
            step = new_step
            if metrics is None:  # rolled back, or every attempt rejected
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
    return finish_run(exp, state, mngr, writer, workdir, wall, echo, rollbacks=calls.rollbacks)


def open_checkpoints(exp: Experiment, workdir: str, changed: dict, echo: Callable) -> tuple:
    """The run's checkpoint manager (incomplete checkpoints set aside first) and
    ``(state, step, None)`` to train from, or ``(…, summary)`` of a run already complete."""
    loop = exp.config.loop
    ckpt_dir = os.path.join(workdir, "checkpoints")
    for name, moved in checkpoints.set_aside_incomplete(ckpt_dir):
        echo(
            f"odegan: checkpoints/{name} was never completed (no orbax commit); moved it to {moved}"
        )
    mngr = checkpoints.manager(
        ckpt_dir, loop.keep_checkpoints, loop.checkpoint_every or exp.config.steps
    )
    return (mngr, *_resume(exp, mngr, workdir, changed, echo))


def start_logs(config: ConfigDict, workdir: str, step: int, changed: dict) -> logs.MetricsWriter:
    """config.json, metrics.jsonl cut at ``step`` (a resumed run), the writer of new rows."""
    logs.write_json(os.path.join(workdir, "config.json"), config.to_dict())
    logs.truncate_metrics(os.path.join(workdir, "metrics.jsonl"), step)
    writer = logs.MetricsWriter(workdir)
    if changed:
        writer.write(
            {
                "step": step,
                "event": "config_changed",
                "changes": {k: list(v) for k, v in changed.items()},
            }
        )
    return writer


def finish_run(
    exp: Experiment,
    state: TrainState,
    mngr: ocp.CheckpointManager,
    writer: logs.MetricsWriter,
    workdir: str,
    wall: float,
    echo: Callable,
    **extra: Any,
) -> dict:
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
        "config": config.name,
        "seed": config.seed,
        "steps": steps,
        "rule": exp.rule.name,
        "final": final,
        "params_sha256": checkpoints.params_sha256(state.params, state.model_state),
        "wall_time_s": round(wall, 2),
        "steps_per_s": round(steps / max(wall, 1e-9), 1),
        "workdir": workdir,
        **step_control_summary(config, state),
        **image_scores(rows),
        **extra,
    }
    averaged = config.rule.g_ema_decay > 0
    if averaged and exp.is_2d:  # the last iterate's quality beside the average's
        summary["final_iterate"] = quality_2d(exp, rules.without_generator_ema(state))
    logs.write_json(os.path.join(workdir, "summary.json"), summary)
    if "modes_covered" in final:
        echo(
            f"final: modes covered {final['modes_covered']}/{final['num_modes']}, "
            f"high-quality samples {100 * final['hq_fraction']:.1f}% "
            f"({config.loop.eval_samples} samples, within {config.eval.num_sigmas:g}σ)"
            + (f", of G's moving average (decay {config.rule.g_ema_decay:g})" if averaged else "")
        )
    if "final_iterate" in summary:
        it = summary["final_iterate"]
        echo(
            f"the last iterate: modes covered {it['modes_covered']}/{it['num_modes']}, "
            f"high-quality samples {100 * it['hq_fraction']:.1f}%"
        )
    echo(
        f"done in {wall:.1f}s; params_sha256 {summary['params_sha256'][:16]}…; "
        f"summary in {os.path.join(workdir, 'summary.json')}"
    )
    return summary


SCORE_KEYS = (
    ("fid", min),
    ("is", max),
    ("kid", min),
    ("inception_fid", min),
    ("inception_is", max),
    ("inception_kid", min),
)


def image_scores(rows: list[dict]) -> dict:
    """``scores``: the last of the rows that ``loop.score_every`` filled, and the best of them
    (lowest FID and KID, highest IS; in the classifier's space and, with a weights file,
    ``inception_*`` in Inception-v3's) with their steps; nothing when no row was scored."""
    keys = [k for k, _ in SCORE_KEYS]
    scored = [r for r in rows if any(k in r for k in keys)]
    if not scored:
        return {}
    best = {}
    for key, pick in SCORE_KEYS:
        finite = [r for r in scored if key in r and np.isfinite(r[key])]
        if finite:
            row = pick(finite, key=lambda r: r[key])
            best[key], best[f"{key}_step"] = row[key], row["step"]
    final = {k: scored[-1][k] for k in ["step"] + keys if k in scored[-1]}
    return {"scores": {"final": final, "best": best}}


def step_control_summary(config: ConfigDict, state: TrainState) -> dict:
    """``final_h``: the step size in the state at the end (fixed steps: the base h the
    schedule multiplies, below ``rule.h`` after halvings); ``retries``: rejected attempts."""
    control = _control(state)
    if control is None:
        return {"final_h": config.rule.h, "retries": 0}
    return {"final_h": _decimal(control.h), "retries": int(control.rejected)}


def _decimal(x: Array) -> float:
    """A float32 as its shortest decimal (0.6, not 0.6000000238…), for summaries and rows."""
    return float(str(np.float32(x)))


def _control(state):
    """The ODE rule's :class:`rules.StepControl` in ``state``, or None (other rules)."""
    rule_state = state.rule_state
    return (
        rule_state["control"] if isinstance(rule_state, dict) and "control" in rule_state else None
    )


def _with_control(state, **changes):
    rule_state = dict(state.rule_state, control=_control(state)._replace(**changes))
    return state._replace(rule_state=rule_state)


def _check_layout(mngr, state, workdir: str, changed: dict) -> None:
    """Refuses (:class:`rundir.RunDirError`, nothing changed) config changes after which the
    state's layout differs from the newest checkpoint's (another width, G's moving average
    turned on or off, …): restoring would fail on every checkpoint, and each would be moved
    aside as damaged."""
    newest = max(mngr.all_steps())
    problem = checkpoints.layout_difference(mngr, newest, state)
    legacy = legacy_layout(state)
    if problem and legacy and checkpoints.layout_difference(mngr, newest, legacy[0]) is None:
        problem = None  # an earlier layout of the same state: restoring upgrades it
    if problem:
        mngr.close()
        listed = "; ".join(f"{k}: {a!r} there, {b!r} now" for k, (a, b) in changed.items())
        raise rundir.RunDirError(
            f"{workdir}: the checkpoints do not fit the state of the changed config "
            f"({listed}): checkpoint {newest} differs ({problem}); nothing was changed. "
            f"Resume without the changes that alter the state, or train into another "
            f"--workdir"
        )


def _resume(exp: Experiment, mngr, workdir: str, changed: dict, echo: Callable):
    """``(state, step, None)`` to train from, or ``(…, summary)`` of a run already complete.

    Refuses (:class:`rundir.RunDirError`, nothing changed) a ``steps`` below the newest
    checkpoint: saving on would label a later state with an earlier step; and changes
    (``--resume-with-changes``) after which the state no longer fits the checkpoints."""
    steps = exp.config.steps
    state, step = init_state(exp), 0
    if changed and mngr.all_steps():
        _check_layout(mngr, state, workdir, changed)
    if mngr.all_steps():
        restored, step = checkpoints.restore_or_quarantine(mngr, state, echo, legacy_layout(state))
        state = state if restored is None else restored
        echo(
            f"odegan: resuming from the checkpoint at step {step} in {workdir}"
            if restored is not None
            else "odegan: no checkpoint could be restored; starting from step 0"
        )
        control = _control(state)
        if control is not None and "rule.h" in changed:  # the user's new h wins
            state = _with_control(state, h=jnp.asarray(exp.config.rule.h, jnp.float32))
        elif control is not None and control.h != np.float32(exp.config.rule.h):
            echo(
                f"odegan: going on with h {float(control.h):g} from the checkpoint "
                f"({int(control.rejected)} rejected step(s) so far)"
            )
    summary_path = os.path.join(workdir, "summary.json")
    if step > steps or (step == steps and os.path.exists(summary_path) and not changed):
        mngr.close()
        if step > steps:
            raise rundir.RunDirError(
                f"{workdir} is at step {step}, past config.steps={steps}; nothing was "
                f"changed. Raise --config.steps to extend the run, or train into another "
                f"--workdir"
            )
        echo(
            f"odegan: the run in {workdir} is complete ({steps} steps); nothing to do. "
            f"Raise --config.steps to extend it. Its summary: {summary_path}"
        )
        with open(summary_path, encoding="utf-8") as f:
            return state, step, json.load(f)
    return state, step, None


class Calls:
    """Compiled calls of n attempted training steps, and what happens to steps that fail.

    An attempt whose candidate is rejected inside the compiled call (ODE rules, see
    :func:`rules.ode_rule`: non-finite, or over the adaptive control's tolerance) leaves the
    state as it was but for h, and the next attempt redoes the step: a call advances the
    step counter by its accepted attempts, with no copy of the state and no new program.
    An attempt that fails (it may not be rejected: the rules' bounds, or a non-ODE rule)
    leaves the state at the last good step, and ``loop.nonfinite`` acts:

    * ``retry`` (fixed steps reject non-finite candidates at most ``loop.max_retries`` times
      over the run, halving h each time): they are used up, so the run stops as below;
    * ``rollback``: back to the newest good checkpoint with h halved in the state (so a
      resumed run goes on with it), for the rest of the run or, with ``loop.rollback_steps``
      = N > 0, for the N steps after that checkpoint: then h is back to its value at the
      checkpoint (a rollback within those steps halves it again and starts N more; the
      pending step and h are in the rollback's row of metrics.jsonl, so a resumed run keeps
      them). A run that rolls back saves its initial state as the checkpoint of step 0, so a
      step that fails before the first periodic checkpoint goes back there (seed 818 of the
      main job blew up at step 1,914 and stopped before it was saved);
    * ``stop``: raise :class:`NonFiniteError` naming the step and the quantity.

    ``loop.dead_generator`` watches G's gradient norm at the last step of each call: exactly 0
    means no sample of G gets a gradient from D (every ReLU on the way dead), from which a run
    does not come back (seeds 11 and 671 of the main job: one large step, then 0 at every step
    to the end). ``rollback`` treats it as a failed step (as ``loop.nonfinite`` rollback, the
    same count and window), ``stop`` raises :class:`DeadGeneratorError`, ``continue`` (the
    default) trains on.
    """

    def __init__(
        self,
        exp: Experiment,
        mesh,
        state,
        mngr,
        writer: logs.MetricsWriter,
        echo: Callable[[str], None],
    ) -> None:
        self.exp, self.mesh, self.mngr, self.writer, self.echo = exp, mesh, mngr, writer, echo
        cfg = exp.config
        self.policy = cfg.loop.nonfinite if cfg.rule.name == "ode" else "stop"
        # the optax rules have no h to halve: their rollback stops, as loop.nonfinite's does
        self.dead_policy = (
            "stop"
            if cfg.loop.dead_generator == "rollback" and cfg.rule.name != "ode"
            else cfg.loop.dead_generator
        )
        self.rolls_back = "rollback" in (self.policy, self.dead_policy)
        self.adaptive = cfg.rule.name == "ode" and cfg.rule.step_control == "adaptive"
        # a resumed run keeps counting the rollbacks recorded in metrics.jsonl (already cut at
        # the resumed step); its h and rejected steps come back with the checkpoint
        rows = logs.read_metrics(writer.path)
        self.rollbacks = sum(row.get("event") == "rollback" for row in rows)
        # (step, h): where the halved h of a rollback goes back, and to what (rollback_steps)
        self.restore: tuple[int, float] | None = None
        for row in rows:
            if row.get("event") == "rollback" and "restore_step" in row:
                self.restore = (row["restore_step"], row["restore_h"])
            elif row.get("event") == "h_restored":
                self.restore = None
        self._fns: dict[int, Callable] = {}
        self.per_call, self.off_grid, self.target = steps_per_call(exp), False, -1
        train = None if exp.dataset.train is None else jnp.asarray(exp.dataset.train)
        self.state, self.train = state, train
        if mesh is not None:
            self.state = parallel.replicate(state, mesh)
            self.train = None if train is None else parallel.replicate(train, mesh)

    def attempts(self, step: int, target: int) -> int:
        """Attempts in the next call towards step ``target`` (the next step an action wants).
        After a rejection the call lengths are powers of two, so that reaching ``target``
        exactly compiles at most log2(loop.steps_per_call) more programs."""
        if step == self.target:  # the previous target was reached: back on the grid
            self.off_grid = False
        self.target = target
        if self.restore is not None and self.restore[0] > step:  # a call ends there
            target = min(target, self.restore[0])
        n = int(min(self.per_call, target - step))
        if self.off_grid and n < self.per_call:
            n = 1 << (n.bit_length() - 1)
        return n

    def run(self, step: int, n: int) -> tuple:
        """``(state, metrics, step)`` after a call of ``n`` attempts; ``metrics``: those of
        the accepted attempts (None after a rollback, or when none was accepted)."""
        if n not in self._fns:
            self._fns[n] = make_train_fn(self.exp, n, self.mesh)
        self.state, metrics = self._fns[n](self.state, self.train)
        accepted, failed = np.asarray(metrics["accepted"]), np.asarray(metrics["failed"])
        # attempt i works on step `at[i]` (a rejected attempt's step is attempted again)
        at = step + 1 + np.concatenate([[0], np.cumsum(accepted)[:-1]]).astype(int)
        if not accepted.all():
            self.off_grid = True
            if not self.adaptive:
                self._report_rejections(metrics, accepted, failed, at)
        if failed.any():
            return self._failed(metrics, int(np.argmax(failed)), at)
        new_step = step + int(accepted.sum())
        if (
            self.dead_policy != "continue"
            and accepted.any()
            and float(np.asarray(metrics["grad_norm_g"])[accepted][-1]) == 0.0
        ):
            return self._dead_generator(step, new_step)
        if self.restore is not None and new_step >= self.restore[0]:
            self._restore_h(new_step)
        if new_step == step:
            return self.state, None, step
        if not accepted.all():
            metrics = {k: np.asarray(v)[accepted] for k, v in metrics.items()}
        return self.state, metrics, new_step

    def _report_rejections(self, metrics, accepted, failed, at) -> None:
        limit = self.exp.config.loop.max_retries
        for i in np.flatnonzero(~accepted & ~failed):
            h = _decimal(np.asarray(metrics["h"])[i] / 2)
            self.writer.write({"step": int(at[i]), "event": "retry", "h": h})
            self.echo(
                f"odegan: non-finite {_quantity(metrics, i)} at step {at[i]}: rejected "
                f"and redone with h {h:g}, halved for the rest of the run (retry "
                f"{int(np.asarray(metrics['rejected'])[i])} of at most {limit})"
            )

    def _failed(self, metrics, i: int, at):
        loop, rule = self.exp.config.loop, self.exp.config.rule
        if self.adaptive:
            where = (
                f"{rule.max_rejections} rejected attempts in a row at step {at[i]} (the "
                f"last with h {float(np.asarray(metrics['h'])[i]):.3g}, error norm "
                f"{float(np.asarray(metrics['error_norm'])[i]):.3g})"
            )
        else:
            where = f"non-finite {_quantity(metrics, i)} at step {at[i]}"
            if self.policy == "retry":
                where += f" (all {loop.max_retries} retries with h halved used)"
        saved = self.mngr.all_steps()
        if self._may_roll_back(self.policy, saved):
            return self._roll_back(where)
        raise NonFiniteError(
            f"{where}: training stopped. {self._advice(saved)}; metrics up "
            f"to step {at[i] - 1} are kept in "
            f"{os.path.dirname(self.writer.path)}"
        )

    def _dead_generator(self, start: int, step: int):
        """G's gradient is exactly 0 at ``step``, the last of the call from ``start`` (nothing
        of the call is saved yet: its rows and checkpoint are written after it)."""
        where = (
            f"G's gradient is exactly 0 at step {step} (a dead generator: no sample gets "
            f"a gradient from D)"
        )
        saved = self.mngr.all_steps()
        if self._may_roll_back(self.dead_policy, saved):
            return self._roll_back(where)
        fixes = (
            "lower config.rule.h or raise config.rule.reg_weight"
            if self.exp.config.rule.name == "ode"
            else "lower config.optimizer.learning_rate"
        )
        if self.dead_policy == "rollback":
            where += (
                f" (all {self.exp.config.loop.max_rollbacks} rollbacks used)"
                if saved
                else " and no checkpoint had been saved yet to roll back to"
            )
        raise DeadGeneratorError(
            f"{where}: training stopped. To go on, {fixes}, or set "
            f"config.loop.dead_generator=continue to train on; {self._kept(saved)}; metrics "
            f"up to step {start} are kept in {os.path.dirname(self.writer.path)}"
        )

    def _advice(self, saved) -> str:
        rule = self.exp.config.rule
        if rule.name != "ode":
            fixes = "lower config.optimizer.learning_rate"
        elif self.adaptive:
            fixes = (
                "raise config.rule.max_rejections or config.rule.reg_weight, or loosen "
                "config.rule.rtol / atol"
            )
        else:
            fixes = "lower config.rule.h or raise config.rule.reg_weight"
            if self.policy != "rollback":
                fixes += (
                    ", set config.loop.nonfinite=rollback, or let an error estimate "
                    "choose h: config.rule.step_control=adaptive"
                )
        return f"To go on, {fixes}; {self._kept(saved)}"

    def _may_roll_back(self, policy: str, saved) -> bool:
        """``policy`` rolls back, a rollback is left and there is a checkpoint to go to."""
        return (
            policy == "rollback"
            and self.rollbacks < self.exp.config.loop.max_rollbacks
            and bool(saved)
        )

    @staticmethod
    def _kept(saved) -> str:
        return (
            f"the last checkpoint (step {max(saved)}) is kept"
            if saved
            else "no checkpoint had been saved yet"
        )

    def _roll_back(self, where: str):
        self.rollbacks += 1
        h_now = float(_control(self.state).h)
        rejected = _control(self.state).rejected
        target = init_state(self.exp)
        restored, step = checkpoints.restore_or_quarantine(
            self.mngr, target, self.echo, legacy_layout(target)
        )
        h_saved = _decimal(float(_control(restored).h))
        h = _decimal(min(h_now, h_saved) / 2)
        self._set_h(restored, h, rejected=rejected, streak=jnp.zeros((), jnp.int32))
        self.off_grid = False
        self.writer.truncate(step)
        row = {"step": step, "event": "rollback", "h": h}
        window = self.exp.config.loop.rollback_steps
        if window:  # back to h at the checkpoint after `window` steps (kept if one is pending)
            back_to = self.restore[1] if self.restore is not None else h_saved
            self.restore = (step + window, back_to)
            row.update(restore_step=step + window, restore_h=back_to)
        self.writer.write(row)
        until = (
            f"for the {window} steps to step {step + window}"
            if window
            else "for the rest of the run"
        )
        self.echo(
            f"odegan: {where}: rolled back to the checkpoint at step {step} and halved h "
            f"to {h:g} {until} (rollback {self.rollbacks} of at most "
            f"{self.exp.config.loop.max_rollbacks})"
        )
        return self.state, None, step

    def _set_h(self, state, h: float, **changes) -> None:
        state = _with_control(state, h=jnp.asarray(h, jnp.float32), **changes)
        self.state = state if self.mesh is None else parallel.replicate(state, self.mesh)

    def _restore_h(self, step: int) -> None:
        """The steps of ``loop.rollback_steps`` after a rollback are done: h is back."""
        h = self.restore[1]
        self.restore = None
        self._set_h(self.state, h)
        self.writer.write({"step": step, "event": "h_restored", "h": h})
        self.echo(
            f"odegan: step {step}: h back to {h:g} after the rollback's "
            f"{self.exp.config.loop.rollback_steps} steps at half of it"
        )


def _quantity(metrics: dict, i: int) -> str:
    """What was non-finite in attempt ``i`` of a call: ``loss_d``, ``loss_g`` or
    ``parameters``."""
    for name in ("loss_d", "loss_g"):
        if not np.isfinite(np.asarray(metrics[name])[i]):
            return name
    return "parameters"
