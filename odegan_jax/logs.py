"""Run logs: metrics as JSON lines and TensorBoard event files (tensorboardX, no TensorFlow),
JSON files written atomically, and the one-line summary of a logged row."""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Iterable
from typing import Any


def _jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN/Inf; keep them readable
    return value


def summary_writer(logdir: str) -> Any:
    """tensorboardX's ``SummaryWriter`` for ``logdir``, imported without PyTorch.

    tensorboardX imports ``torch`` when it is installed, only to accept torch tensors: 3.5-4 s
    of every run's start on a GPU machine with CUDA PyTorch beside JAX (as on Colab). The rows
    hold Python floats, so ``torch`` is hidden while tensorboardX is first imported; a process
    that has imported either already is left as it is."""
    if "tensorboardX" in sys.modules or "torch" in sys.modules:
        from tensorboardX import SummaryWriter
    else:
        sys.modules["torch"] = None  # type: ignore[assignment]  # `import torch` fails fast
        try:
            from tensorboardX import SummaryWriter
        finally:
            del sys.modules["torch"]
    return SummaryWriter(logdir)


class MetricsWriter:
    """Appends one JSON object per logged step to ``metrics.jsonl`` and mirrors scalars to
    TensorBoard under ``tb/``."""

    def __init__(self, workdir: str, tensorboard: bool = True) -> None:
        self.path = os.path.join(workdir, "metrics.jsonl")
        self._file = open(self.path, "a", encoding="utf-8")
        self._tb = None
        if tensorboard:
            self._tb = summary_writer(os.path.join(workdir, "tb"))

    def write(self, row: dict) -> None:
        self._file.write(json.dumps({k: _jsonable(v) for k, v in row.items()}) + "\n")
        self._file.flush()
        if self._tb is not None:
            step = int(row["step"])
            for key, value in row.items():
                if (
                    key != "step"
                    and isinstance(value, (int, float))
                    and not isinstance(value, bool)
                ):
                    self._tb.add_scalar(key, value, step)

    def truncate(self, step: int) -> None:
        """Drops the rows after ``step`` and goes on appending to the trimmed file (not to the
        replaced one, whose rows would be lost)."""
        self._file.close()
        truncate_metrics(self.path, step)
        self._file = open(self.path, "a", encoding="utf-8")

    def close(self) -> None:
        try:
            self._file.close()
        finally:
            if self._tb is not None:
                self._tb.close()


def read_metrics(path: str) -> list[dict]:
    """The rows of a ``metrics.jsonl``; a torn last line (a process killed mid-write) is
    skipped, a malformed line elsewhere is an error naming the file and line."""
    with open(path, encoding="utf-8") as f:
        lines = [line for line in f.read().split("\n") if line.strip()]
    rows = []
    for i, line in enumerate(lines):
        try:
            rows.append(json.loads(line))
        except ValueError:
            if i == len(lines) - 1:
                break
            raise ValueError(f"{path}, line {i + 1}: not a JSON object") from None
    return rows


def truncate_metrics(path: str, step: int) -> None:
    """Drops the rows logged after ``step`` (a resumed run recomputes them identically);
    rewrites the file atomically, so a reader never sees half of it."""
    if not os.path.exists(path):
        return
    rows = read_metrics(path)
    kept = [r for r in rows if int(r.get("step", 0)) <= step]
    if len(kept) != len(rows) or _has_torn_line(path):
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            for r in kept:
                f.write(json.dumps(r) + "\n")
        os.replace(tmp, path)


def _has_torn_line(path: str) -> bool:
    with open(path, "rb") as f:
        data = f.read()
    return bool(data) and not data.endswith(b"\n")


def format_row(row: dict) -> str:
    """One line for the terminal: step, losses, and the 2D quality or NFE when logged."""
    parts = [f"step {row['step']}", f"loss_d {row['loss_d']:.4f}", f"loss_g {row['loss_g']:.4f}"]
    if "modes_covered" in row:
        parts += [
            f"modes {row['modes_covered']}/{row['num_modes']}",
            f"hq {100 * row['hq_fraction']:.1f}%",
        ]
    if "nfe_g" in row:
        parts += [f"nfe G/D {row['nfe_g']:.0f}/{row['nfe_d']:.0f}"]
    return "  ".join(parts)


def write_json(path: str, obj: object) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=True, default=_jsonable)
        f.write("\n")
    os.replace(tmp, path)


def read_json(path: str) -> Any:
    """The JSON object in ``path``, or None when there is no such file."""
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def columns(rows: Iterable[dict], key: str) -> tuple[list, list]:
    """(steps, values) of the rows that carry ``key``."""
    steps, values = [], []
    for row in rows:
        if key in row and isinstance(row[key], (int, float)):
            steps.append(row["step"])
            values.append(row[key])
    return steps, values
