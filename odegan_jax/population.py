"""Populations: N runs of one config that differ in one value (the seed, h, λ or a learning
rate), trained as one compiled program (``jax.vmap`` over the members of fused steps).

    odegan train --population seed=0:16
    odegan train --config mog16_euler --population rule.h=0.02,0.04,0.08

Each member is an ordinary run directory (``WORKDIR/<key>=<value>/``: config.json,
metrics.jsonl, checkpoints, plots, summary.json) that ``odegan eval`` / ``plot`` / ``train``
read as any other. What differs between members enters the program as data: the PRNG keys
drawn from the seed (initial parameters, minibatch stream, latents), or h / λ / the learning
rates as traced scalars (:data:`experiment.TRACEABLE`); everything else is one static config.

A member follows the same trajectory as its single run up to floating-point rounding (batched
matrix products sum in another order), so a member reproduces against the same population,
bit for bit, not against a single run. A member that goes non-finite stops there (its rows and
checkpoints are kept, ``diverged.json`` says where); the others go on (``loop.nonfinite`` retry
/ rollback would change one member's h mid-program: populations always stop a member). For the
same reason ``loop.dead_generator`` does not act in a population: a member whose G dies trains
on, and its summary shows it.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import re
import time
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from odegan_jax import logs, rundir
from odegan_jax.actions import Progress, training_actions
from odegan_jax.config import ConfigError, apply_override
from odegan_jax.data import get_batches
from odegan_jax.experiment import TRACEABLE, Experiment, build, build_rule
from odegan_jax.train import finish_run, jit_steps, open_checkpoints, start_logs, steps_per_call

KEYS = ("seed",) + TRACEABLE


def parse_population(text: str) -> tuple[str, list]:
    """``KEY=a:b`` (integers a … b−1), ``KEY=v1,v2,...`` → (key, values); a ConfigError
    naming what to write otherwise."""
    key, sep, spec = text.partition("=")
    key = key.strip()
    if not sep or not spec.strip():
        raise ConfigError(
            f"--population {text!r}: write KEY=VALUES, e.g. seed=0:16 or rule.h=0.2,0.4,0.8"
        )
    if key not in KEYS:
        raise ConfigError(
            f"--population {text!r}: {key!r} cannot vary within one compiled "
            f"program; choose one of {', '.join(KEYS)} (other keys change the "
            f"program: run them as separate `odegan train` runs)"
        )
    m = re.fullmatch(r"\s*(-?\d+)\s*:\s*(-?\d+)\s*", spec)
    try:
        if m:
            values = list(range(int(m.group(1)), int(m.group(2))))
        else:
            values = [int(v) if key == "seed" else float(v) for v in spec.split(",")]
    except ValueError:
        raise ConfigError(
            f"--population {text!r}: the values of {key} must be "
            f"{'integers' if key == 'seed' else 'numbers'} (a:b or v1,v2,...)"
        ) from None
    if len(values) < 1:
        raise ConfigError(f"--population {text!r}: a:b needs b > a")
    if len(set(values)) != len(values):
        raise ConfigError(f"--population {text!r}: a value is repeated")
    return key, values


def member_name(key: str, value: object) -> str:
    return f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}"


def member_configs(config: ml_collections.ConfigDict, key: str, values: Sequence[float]) -> list:
    out = []
    for v in values:
        c = copy.deepcopy(config)  # keeps the placeholders' types (ConfigDict(dict) does not)
        apply_override(c, key, str(v))
        out.append(c)
    return out


def _check_members(exps: list[Experiment]) -> None:
    """The members share one program: the same data (and training set, when there is one)."""
    first = exps[0]
    if first.dataset.sampler is None:
        for e in exps[1:]:
            if not np.array_equal(np.asarray(e.dataset.train), np.asarray(first.dataset.train)):
                raise ConfigError(
                    "--population: the members' training sets differ (config.data."
                    "num_train draws them from the seed); a population needs one training "
                    "set: set data.num_train=0 or vary something other than the seed"
                )


def make_population_fn(exp: Experiment, varied: tuple[str, ...], num_steps: int) -> Callable:
    """A jitted ``(states, members, train) -> (states, metrics)`` running ``num_steps`` fused
    steps of every member (leading axis N of ``states`` and of each array in ``members``:
    ``stream`` keys and the values of ``varied`` traced keys)."""
    cfg = exp.config.copy_and_resolve_references()
    cfg.loop.nonfinite = "stop"  # a member never rejects a step: the members stay in step

    def one(state, member, train):
        rule = build_rule(cfg, exp.game, {k: member[k] for k in varied})
        batches = get_batches(
            exp.dataset,
            member["stream"],
            state.step,
            rule.batches_per_step,
            cfg.data.batch_size,
            train,
        )
        return rule.step(state, batches)

    def member_run(state, member, train):
        return jax.lax.scan(lambda s, _: one(s, member, train), state, None, length=num_steps)

    def run(states, members, train):
        return jax.vmap(member_run, in_axes=(0, 0, None))(states, members, train)

    return jit_steps(exp, run)


def _stack(trees):
    return jax.tree.map(lambda *xs: jnp.stack(xs), *trees)


def _member(tree, i: int):
    return jax.tree.map(lambda x: x[i], tree)


@dataclasses.dataclass
class _Member:
    name: str
    exp: Experiment
    workdir: str
    lock: rundir.RunLock
    mngr: object = None
    writer: logs.MetricsWriter | None = None
    actions: list = dataclasses.field(default_factory=list)
    summary: dict | None = None
    diverged: str | None = None


def train_population(
    config: ml_collections.ConfigDict,
    key: str,
    values: list,
    workdir: str,
    *,
    echo: Callable[[str], None] = print,
    progress: bool = False,
) -> dict:
    """Trains the members of ``config`` with ``key`` set to each of ``values`` into
    ``workdir/<key>=<value>``; returns ``{member name: summary or None (diverged)}``.

    Resumes when every member has a checkpoint at the same step (a killed population saves
    its members one after another: members at different steps are refused, nothing changed).
    """
    if config.rule.name == "ode" and config.rule.step_control == "adaptive":
        raise ConfigError(
            "--population with config.rule.step_control='adaptive': each member "
            "would reject different steps, and the members of one program "
            "move in step; train them as separate runs (e.g. `odegan "
            "reproduce` runs them side by side)"
        )
    configs = member_configs(config, key, values)
    exps = [build(c) for c in configs]  # every member's config checked before any compile
    _check_members(exps)
    first = exps[0]
    exps = [
        dataclasses.replace(e, generate=first.generate, discriminate=first.discriminate)
        for e in exps
    ]  # one compiled G / D for the evaluations of every member
    workdir = os.path.abspath(workdir)
    members: list[_Member] = []
    try:
        for v, exp in zip(values, exps):
            d = os.path.join(workdir, member_name(key, v))
            lock, _ = rundir.open_run(d, exp.config)
            members.append(_Member(member_name(key, v), exp, d, lock))
        return _train_members(members, key, values, workdir, echo, progress)
    finally:
        for m in members:
            m.lock.release()


def _train_members(
    members: list[_Member], key: str, values: list, workdir: str, echo: Callable, progress: bool
) -> dict:
    first = members[0].exp
    config, steps = first.config, first.config.steps
    echo(
        f"odegan: training a population of {len(members)} {config.name} runs "
        f"({key} = {', '.join(str(v) for v in values)}; {steps} steps, rule "
        f"{first.rule.name}) into {workdir}"
    )
    quiet = lambda _: None  # noqa: E731
    states, at = [], {}
    for m in members:
        m.mngr, state, step, m.summary = open_checkpoints(m.exp, m.workdir, {}, quiet)
        states.append(state)  # a diverged member stays in the program (same N, same numbers)
        diverged = logs.read_json(os.path.join(m.workdir, "diverged.json"))
        if diverged is not None:
            m.diverged = diverged["error"]
            echo(f"odegan: member {m.name} diverged earlier ({m.diverged}); it stays stopped")
        else:
            at[m.name] = step
    if all(m.summary is not None or m.diverged is not None for m in members):
        echo(f"odegan: every member is complete ({steps} steps); nothing to do")
        for m in members:
            m.mngr.close()
        return {m.name: m.summary for m in members}
    if len(set(at.values())) > 1:
        for m in members:
            m.mngr.close()
        raise rundir.RunDirError(
            f"the members in {workdir} are at different steps "
            f"({', '.join(f'{k}: {s}' for k, s in at.items())}); nothing was changed. "
            f"Finish each with `odegan train --workdir "
            f"{workdir}/<member> --config {workdir}/<member>/config.json`, or train the "
            f"population into another --workdir"
        )
    step = max(at.values())
    if step:
        echo(f"odegan: resuming every member from its checkpoint at step {step}")
    train = None if first.dataset.train is None else jnp.asarray(first.dataset.train)
    start = time.perf_counter()
    for i, m in enumerate(members):
        m.writer = start_logs(m.exp.config, m.workdir, step, {})
        m.actions = training_actions(
            m.exp,
            m.workdir,
            step,
            start,
            m.mngr,
            m.writer,
            echo if i == 0 else quiet,
            progress and i == 0,
            train,
        )
        if i > 0:
            m.actions = [a for a in m.actions if not isinstance(a, Progress)]
    varied = () if key == "seed" else (key,)
    inputs = {"stream": jnp.stack([m.exp.keys["stream"] for m in members])}
    if varied:
        inputs[key] = jnp.asarray(values, jnp.float32)
    stacked = _stack(states)
    del states
    fns: dict[int, Callable] = {}
    per_call = steps_per_call(first)
    try:
        while step < steps and any(m.diverged is None for m in members):
            live = [m for m in members if m.diverged is None]
            n = int(
                min(
                    per_call,
                    steps - step,
                    *(a.next_step(step) - step for m in live for a in m.actions),
                )
            )
            if n not in fns:
                fns[n] = make_population_fn(first, varied, n)
            stacked, metrics = fns[n](stacked, inputs, train)
            failed = np.asarray(metrics["failed"])
            for i, m in enumerate(members):
                if m.diverged is not None:
                    continue
                if failed[i].any():
                    bad = step + int(np.argmax(failed[i])) + 1
                    m.diverged = f"non-finite loss or parameters at step {bad}"
                    logs.write_json(
                        os.path.join(m.workdir, "diverged.json"), {"step": bad, "error": m.diverged}
                    )
                    echo(
                        f"odegan: member {m.name}: {m.diverged}; it stops here (rows and "
                        f"checkpoints up to step {step} kept), the others go on"
                    )
                    continue
                state, row = _member(stacked, i), {}
                m_metrics = _member(metrics, i)
                for action in m.actions:
                    if action.due(step + n):
                        action(step + n, state, m_metrics, row)
            step += n
    finally:
        for m in members:
            for closeable in (m.writer, *m.actions):
                try:
                    if closeable is not None:
                        closeable.close()
                except OSError as e:
                    echo(f"odegan: {m.name}: closing the {type(closeable).__name__} failed: {e}")
    wall = time.perf_counter() - start
    out = {}
    for i, m in enumerate(members):
        if m.diverged is not None:
            m.mngr.close()
            out[m.name] = None
            continue
        m.summary = finish_run(
            m.exp,
            _member(stacked, i),
            m.mngr,
            m.writer,
            m.workdir,
            wall,
            quiet,
            rollbacks=0,
            population={"key": key, "values": values, "index": i, "size": len(members)},
        )
        out[m.name] = m.summary
        final = m.summary["final"]
        quality = (
            f"modes {final['modes_covered']}/{final['num_modes']}, HQ "
            f"{100 * final['hq_fraction']:.1f}%"
            if "modes_covered" in final
            else f"loss_d {final.get('loss_d', float('nan')):.4f}"
        )
        echo(f"odegan: {m.name}: {quality}; params_sha256 {m.summary['params_sha256'][:16]}…")
    echo(
        f"done: {len(members)} members in {wall:.1f}s "
        f"({len(members) * steps / max(wall, 1e-9):.0f} member-steps/s)"
    )
    return out
