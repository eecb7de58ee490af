"""Checkpoints of the whole :class:`~odegan_jax.rules.TrainState` with orbax-checkpoint.

Orbax's ``CheckpointManager`` does the saving, the keep-K policy (``max_to_keep``) and the
interval (``save_interval_steps``). What it lacks is kept here: finding the newest checkpoint
that actually restores (:func:`restore_latest`) and moving a damaged one aside
(:func:`quarantine`) so that its step can be saved again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import jax
import numpy as np
import orbax.checkpoint as ocp
from chex import ArrayTree

if TYPE_CHECKING:
    from odegan_jax.rules import TrainState


def params_sha256(params: ArrayTree, model_state: Any) -> str:
    """sha256 of all parameter and model-state leaves' bytes, in tree order."""
    return state_sha256((params, model_state))


def manager(
    directory: str, max_to_keep: int = 3, save_interval_steps: int = 1, read_only: bool = False
) -> ocp.CheckpointManager:
    """A checkpoint manager in ``directory`` (made absolute: orbax requires it)."""
    return ocp.CheckpointManager(
        os.path.abspath(directory),
        options=ocp.CheckpointManagerOptions(
            max_to_keep=max_to_keep,
            save_interval_steps=save_interval_steps,
            create=not read_only,
            read_only=read_only,
        ),
    )


CHECKSUM = "state.sha256"  # beside orbax's files in each step folder: sha256 of every leaf
COMMITTED = "_CHECKPOINT_METADATA"  # orbax writes it when a step's save is complete


class SaveError(RuntimeError):
    """A checkpoint could not be written (read-only or full disk); earlier ones are intact."""


def state_sha256(state: TrainState) -> str:
    """sha256 of every leaf of a whole state, in tree order (the checkpoint checksum)."""
    digest = hashlib.sha256()
    for leaf in jax.tree.leaves(state):
        digest.update(np.ascontiguousarray(np.asarray(leaf)).tobytes())
    return digest.hexdigest()


def save(mngr: ocp.CheckpointManager, step: int, state: TrainState, force: bool = False) -> bool:
    """Saves ``state`` at ``step`` if the manager's interval policy (or ``force``) says so,
    waits for the asynchronous write to finish and writes the state's checksum beside it;
    returns whether it saved. A failed write raises :class:`SaveError`."""
    absl_logger = logging.getLogger("absl")
    level = absl_logger.level
    # orbax logs each failed write of a save with a traceback from its threads; the exception
    # it then raises says the same once, in the SaveError below
    absl_logger.setLevel(logging.CRITICAL)
    try:
        saved = mngr.save(int(step), args=ocp.args.StandardSave(state), force=force)
        mngr.wait_until_finished()
        if saved:
            path = os.path.join(os.fspath(mngr.directory), str(int(step)), CHECKSUM)
            with open(path + ".tmp", "w", encoding="utf-8") as f:
                f.write(state_sha256(state) + "\n")
            os.replace(path + ".tmp", path)
    except Exception as e:  # orbax / tensorstore raise many types for I/O failures
        level = logging.CRITICAL  # its threads may still log this failure while we stop
        raise SaveError(
            f"saving the checkpoint of step {step} in {mngr.directory} failed "
            f"({_problem(e)}); the earlier checkpoints are intact. Free disk space "
            f"or make the directory writable, then run the same command again to "
            f"resume"
        ) from None
    finally:
        absl_logger.setLevel(level)
    return saved


def restore(mngr: ocp.CheckpointManager, step: int, target: TrainState) -> TrainState:
    """Restores into the structure of ``target`` (so optimiser states keep their types)."""
    return mngr.restore(int(step), args=ocp.args.StandardRestore(target))


def layout_difference(mngr: ocp.CheckpointManager, step: int, target: TrainState) -> str | None:
    """How the checkpoint at ``step`` differs from ``target`` in layout (its leaves' paths,
    shapes and dtypes, read from orbax's metadata without restoring), e.g. after a config
    change that alters the state; None when they agree, or when the metadata cannot be read
    (a damaged checkpoint: restoring it reports that)."""
    path = os.path.join(os.fspath(mngr.directory), str(int(step)), "default")
    absl_logger = logging.getLogger("absl")
    level = absl_logger.level
    absl_logger.setLevel(logging.ERROR)  # orbax warns of the step-level file it looks for here
    try:
        saved = _layout(ocp.StandardCheckpointer().metadata(path).item_metadata)
    except Exception:  # orbax raises many types for unreadable metadata
        return None
    finally:
        absl_logger.setLevel(level)
    wanted = _layout(target)
    for key in sorted(set(wanted) | set(saved)):
        name = "/".join(key)
        if key not in saved:
            return f"it has no {name}"
        if key not in wanted:
            return f"it has {name}, which the new state lacks"
        if saved[key] != wanted[key]:
            return (
                f"its {name} is {saved[key][1]}{list(saved[key][0])}, now {wanted[key][1]}"
                f"{list(wanted[key][0])}"
            )
    return None


def _layout(tree) -> dict:
    """``{leaf path as names: (shape, dtype)}``; NamedTuple fields and dict keys alike (orbax's
    metadata holds the state's NamedTuples as dicts)."""

    def names(path):
        return tuple(
            str(next(getattr(k, a) for a in ("key", "name", "idx") if hasattr(k, a))) for k in path
        )

    return {
        names(p): (tuple(leaf.shape), str(leaf.dtype))
        for p, leaf in jax.tree_util.tree_leaves_with_path(tree)
    }


def _problem(exc: Exception) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"


def restore_latest(
    mngr: ocp.CheckpointManager,
    target: TrainState,
    *,
    up_to: int | None = None,
    on_damaged: Callable[[int, str], None] = lambda step, why: None,
    legacy: tuple[object, Callable] | None = None,
) -> tuple[TrainState | None, int]:
    """``(state, step)`` of the newest checkpoint (at most ``up_to``) that restores and holds
    its own step; ``(None, 0)`` when none does. Each damaged one is reported to
    ``on_damaged(step, reason)`` and skipped.

    ``legacy``: ``(old_target, upgrade)`` for checkpoints written in an earlier layout of the
    state: a checkpoint that does not restore into ``target`` but does into ``old_target``
    (and its checksum) is returned as ``upgrade(old_state)``."""
    for step in sorted(mngr.all_steps(), reverse=True):
        if up_to is not None and step > up_to:
            continue
        state, problem = _restore_checked(mngr, step, target)
        if problem is not None and legacy is not None:
            old, old_problem = _restore_checked(mngr, step, legacy[0])
            if old_problem is None:
                state, problem = legacy[1](old), None
        if problem is None:
            return state, step
        on_damaged(step, problem)
    return None, 0


def _restore_checked(mngr, step: int, target):
    """``(state, None)``, or ``(None, why)`` when the checkpoint does not restore into
    ``target``, holds another step or does not match its checksum."""
    try:
        state = restore(mngr, step, target)
        problem = None if int(state.step) == step else f"it holds step {int(state.step)}"
        problem = problem or _checksum_problem(mngr, step, state)
    except Exception as e:  # orbax raises many types for truncated / corrupt files
        state, problem = None, _problem(e)
    return (state, None) if problem is None else (None, problem)


def _checksum_problem(mngr, step: int, state) -> str | None:
    path = os.path.join(os.fspath(mngr.directory), str(step), CHECKSUM)
    if not os.path.exists(path):  # saved before checksums, or killed between the two writes
        return None
    with open(path, encoding="utf-8") as f:
        expected = f.read().strip()
    if state_sha256(state) != expected:
        return "its arrays do not match the checksum saved with it (corrupted bytes)"
    return None


def set_aside_incomplete(directory: str) -> list[tuple[str, str]]:
    """Moves step folders that orbax never committed (empty, or killed before the end of a
    save) to ``damaged_checkpoints/``; returns ``[(name, new path)]``. Left in place, orbax
    counts them as steps and its keep-K policy deletes real checkpoints instead."""
    moved = []
    if not os.path.isdir(directory):
        return moved
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if (
            name.isdigit()
            and os.path.isdir(path)
            and not os.path.exists(os.path.join(path, COMMITTED))
        ):
            moved.append((name, _move_aside(directory, name)))
    return moved


def _move_aside(root: str, name: str) -> str:
    target_dir = os.path.join(os.path.dirname(root), "damaged_checkpoints")
    os.makedirs(target_dir, exist_ok=True)
    target = os.path.join(target_dir, f"{name}-{int(time.time() * 1000)}")
    os.replace(os.path.join(root, name), target)
    return target


def quarantine(mngr: ocp.CheckpointManager, step: int) -> str:
    """Moves a damaged checkpoint out of the manager's directory (into a sibling
    ``damaged_checkpoints/``, never deleted: a person may want to look at it) so that the step
    can be saved again; returns the new path."""
    target = _move_aside(os.fspath(mngr.directory), str(step))
    mngr.reload()
    return target


def restore_or_quarantine(
    mngr: ocp.CheckpointManager,
    target: TrainState,
    echo: Callable[[str], None],
    legacy: tuple[object, Callable] | None = None,
) -> tuple[TrainState | None, int]:
    """:func:`restore_latest` for a run that goes on training: each damaged checkpoint is
    moved to ``damaged_checkpoints/`` (so its step can be saved again) and reported."""

    def damaged(step: int, why: str) -> None:
        moved = quarantine(mngr, step)
        echo(
            f"odegan: checkpoint {step} is damaged ({why}); moved it to {moved} and falling "
            f"back to the previous one"
        )

    return restore_latest(mngr, target, on_damaged=damaged, legacy=legacy)
