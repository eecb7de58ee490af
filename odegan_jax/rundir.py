"""The rules of a run directory: one run per directory, never two processes, never mixed.

* :func:`open_run` checks that the directory can be written before anything trains, takes the
  directory's lock (``.lock``, an ``fcntl`` lock the kernel drops when the process dies, so a
  killed run never leaves it stuck) and compares the config with the one the directory was
  started with (``config.json``).
* What may differ on a resume: ``steps`` (a longer run extends, bit-exact), ``name``, and the
  bookkeeping blocks ``loop`` and ``eval`` (logging, checkpoint cadence, plots, scoring).
  Every other key defines the trajectory; a difference there is refused with the keys listed,
  unless the caller allows it (``odegan train --resume-with-changes``), which is recorded as an
  ``"event": "config_changed"`` row in ``metrics.jsonl``.
* :func:`default_workdir`: ``runs/<name>-<seed>``, plus a short digest of the trajectory keys
  that differ from the named config's own values, so that reusing the default with other
  overrides starts a new directory instead of colliding with the old one.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os

import ml_collections

from odegan_jax.config import with_defaults


def _bookkeeping(key: str) -> bool:
    """Keys that may change on a resume (see the module doc)."""
    return key in ("steps", "name") or key.startswith(("loop.", "eval."))


class RunDirError(RuntimeError):
    """The run directory cannot be used as asked; the message says what to change."""


def _flat(tree: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = list(value) if isinstance(value, tuple) else value
    return out


def trajectory_differences(old: dict, new: dict) -> dict:
    """``{key: (old, new)}`` for the keys that define the trajectory and differ. A key the
    old config lacks (added since it was written) counts as its default, which keeps the
    behaviour of before."""
    a, b = _flat(with_defaults(old).to_dict()), _flat(new)
    diff = {}
    for key in sorted(set(a) | set(b)):
        if not _bookkeeping(key) and a.get(key) != b.get(key):
            diff[key] = (a.get(key, "<missing>"), b.get(key, "<missing>"))
    return diff


def default_workdir(
    config: ml_collections.ConfigDict, reference: ml_collections.ConfigDict | None = None
) -> str:
    """``runs/<name>-<seed>``; with ``reference`` (the named config before overrides), a digest
    of the trajectory keys that the overrides changed is appended."""
    base = os.path.join("runs", f"{config.name}-{config.seed}")
    if reference is None:
        return base
    diff = trajectory_differences(reference.to_dict(), config.to_dict())
    diff.pop("seed", None)
    if not diff:
        return base
    digest = hashlib.sha256(
        json.dumps({k: v[1] for k, v in diff.items()}, sort_keys=True, default=str).encode()
    ).hexdigest()[:8]
    return f"{base}-{digest}"


class RunLock:
    """An exclusive ``fcntl`` lock on ``workdir/.lock`` for the life of the process."""

    def __init__(self, workdir: str) -> None:
        self.path = os.path.join(workdir, ".lock")
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(self._fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(self._fd)
            raise RunDirError(
                f"another `odegan train` (pid {holder}) is running in {workdir}; "
                f"wait for it to finish, or train into another --workdir"
            ) from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, str(os.getpid()).encode(), 0)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def check_writable(workdir: str) -> None:
    """One clear error when ``workdir`` is a file, lies under a file or cannot be written."""
    path = os.path.abspath(workdir)
    probe = path
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        what = "is a file" if probe == path else f"lies under the file {probe}"
        raise RunDirError(f"--workdir {workdir} {what}; choose a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise RunDirError(
            f"--workdir {workdir}: {probe} is not writable; choose a directory you can write to"
        )


def open_run(
    workdir: str, config: ml_collections.ConfigDict, allow_changes: bool = False
) -> tuple[RunLock, dict]:
    """Makes and locks ``workdir`` and checks its config; returns the lock and the differing
    trajectory keys (empty unless ``allow_changes``). Raises :class:`RunDirError`."""
    check_writable(workdir)
    os.makedirs(workdir, exist_ok=True)
    lock = RunLock(workdir)
    path = os.path.join(workdir, "config.json")
    diff: dict = {}
    if os.path.exists(path):
        try:
            with open(path, encoding="utf-8") as f:
                old = json.load(f)
        except (OSError, ValueError) as e:
            lock.release()
            raise RunDirError(
                f"{path} is unreadable ({e}); move the directory aside or "
                f"train into another --workdir"
            ) from None
        diff = trajectory_differences(old, config.to_dict())
        if diff and not allow_changes:
            lock.release()
            listed = "; ".join(
                f"{k}: {a!r} there, {b!r} now" for k, a, b in ((k, *v) for k, v in diff.items())
            )
            raise RunDirError(
                f"{workdir} holds a run of another config ({listed}). Nothing was changed. "
                f"Train into another --workdir, or pass --resume-with-changes to go on from "
                f"its checkpoints with the new settings"
            )
    return lock, diff
