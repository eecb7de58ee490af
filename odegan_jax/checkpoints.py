"""Checkpoints of the whole :class:`~odegan_jax.rules.TrainState` with orbax-checkpoint.

Orbax's ``CheckpointManager`` does the saving, the keep-K policy (``max_to_keep``) and the
interval (``save_interval_steps``). What it lacks is kept here: finding the newest checkpoint
that actually restores (:func:`restore_latest`) and moving a damaged one aside
(:func:`quarantine`) so that its step can be saved again.
"""
from __future__ import annotations

import hashlib
import os
import time
from typing import Callable, Optional

import jax
import numpy as np
import orbax.checkpoint as ocp


def params_sha256(params, model_state) -> str:
    """sha256 of all parameter and model-state leaves' bytes, in tree order."""
    digest = hashlib.sha256()
    for leaf in jax.tree.leaves((params, model_state)):
        digest.update(np.ascontiguousarray(np.asarray(leaf)).tobytes())
    return digest.hexdigest()


def manager(directory: str, max_to_keep: int = 3, save_interval_steps: int = 1,
            read_only: bool = False) -> ocp.CheckpointManager:
    """A checkpoint manager in ``directory`` (made absolute: orbax requires it)."""
    return ocp.CheckpointManager(
        os.path.abspath(directory),
        options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep,
                                             save_interval_steps=save_interval_steps,
                                             create=not read_only, read_only=read_only))


def save(mngr: ocp.CheckpointManager, step: int, state, force: bool = False) -> bool:
    """Saves ``state`` at ``step`` if the manager's interval policy (or ``force``) says so,
    and waits for the asynchronous write to finish; returns whether it saved."""
    saved = mngr.save(int(step), args=ocp.args.StandardSave(state), force=force)
    mngr.wait_until_finished()
    return saved


def restore(mngr: ocp.CheckpointManager, step: int, target):
    """Restores into the structure of ``target`` (so optimiser states keep their types)."""
    return mngr.restore(int(step), args=ocp.args.StandardRestore(target))


def _problem(exc: Exception) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"


def restore_latest(mngr: ocp.CheckpointManager, target, *, up_to: Optional[int] = None,
                   on_damaged: Callable[[int, str], None] = lambda step, why: None):
    """``(state, step)`` of the newest checkpoint (at most ``up_to``) that restores and holds
    its own step; ``(None, 0)`` when none does. Each damaged one is reported to
    ``on_damaged(step, reason)`` and skipped."""
    for step in sorted(mngr.all_steps(), reverse=True):
        if up_to is not None and step > up_to:
            continue
        try:
            state = restore(mngr, step, target)
            problem = None if int(state.step) == step else f"it holds step {int(state.step)}"
        except Exception as e:  # orbax raises many types for truncated / corrupt files
            problem = _problem(e)
        if problem is None:
            return state, step
        on_damaged(step, problem)
    return None, 0


def quarantine(mngr: ocp.CheckpointManager, step: int) -> str:
    """Moves a damaged checkpoint out of the manager's directory (into a sibling
    ``damaged_checkpoints/``, never deleted: a person may want to look at it) so that the step
    can be saved again; returns the new path."""
    root = os.fspath(mngr.directory)
    target_dir = os.path.join(os.path.dirname(root), "damaged_checkpoints")
    os.makedirs(target_dir, exist_ok=True)
    target = os.path.join(target_dir, f"{step}-{int(time.time())}")
    os.replace(os.path.join(root, str(step)), target)
    mngr.reload()
    return target


def restore_or_quarantine(mngr: ocp.CheckpointManager, target, echo: Callable[[str], None]):
    """:func:`restore_latest` for a run that goes on training: each damaged checkpoint is
    moved to ``damaged_checkpoints/`` (so its step can be saved again) and reported."""
    def damaged(step: int, why: str) -> None:
        moved = quarantine(mngr, step)
        echo(f"odegan: checkpoint {step} is damaged ({why}); moved it to {moved} and falling "
             f"back to the previous one")
    return restore_latest(mngr, target, on_damaged=damaged)
