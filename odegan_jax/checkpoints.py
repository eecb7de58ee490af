"""Checkpoints of the whole :class:`~odegan_jax.rules.TrainState` with orbax-checkpoint."""
from __future__ import annotations

import hashlib
import os
import time

import jax
import numpy as np
import orbax.checkpoint as ocp


def params_sha256(params, model_state) -> str:
    """sha256 of all parameter and model-state leaves' bytes, in tree order."""
    digest = hashlib.sha256()
    for leaf in jax.tree.leaves((params, model_state)):
        digest.update(np.ascontiguousarray(np.asarray(leaf)).tobytes())
    return digest.hexdigest()


def manager(directory: str, max_to_keep: int = 3) -> ocp.CheckpointManager:
    """A checkpoint manager in ``directory`` (made absolute: orbax requires it)."""
    return ocp.CheckpointManager(
        os.path.abspath(directory),
        options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True))


def save(mngr: ocp.CheckpointManager, step: int, state) -> None:
    """Saves ``state`` at ``step`` and waits for the asynchronous write to finish."""
    mngr.save(int(step), args=ocp.args.StandardSave(state), force=True)
    mngr.wait_until_finished()


def restore(mngr: ocp.CheckpointManager, step: int, target):
    """Restores into the structure of ``target`` (so optimiser states keep their types)."""
    return mngr.restore(int(step), args=ocp.args.StandardRestore(target))


def quarantine(mngr: ocp.CheckpointManager, step: int) -> str:
    """Moves a damaged checkpoint out of the manager's directory (into a sibling
    ``damaged_checkpoints/``) so that the step can be saved again; returns the new path."""
    root = os.fspath(mngr.directory)
    target_dir = os.path.join(os.path.dirname(root), "damaged_checkpoints")
    os.makedirs(target_dir, exist_ok=True)
    target = os.path.join(target_dir, f"{step}-{int(time.time())}")
    os.replace(os.path.join(root, str(step)), target)
    mngr.reload()
    return target
