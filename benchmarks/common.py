"""What every benchmark script shares (standard library only: the peer and PyTorch children
import the scripts in their own environments)."""

from __future__ import annotations

import json
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the repository
RESULT = "RESULT "  # a child process's line that carries its results as JSON


def jax_meta(**extra: object) -> dict:
    """The ``_meta`` of a JAX benchmark's results: backend, devices, versions, core count and
    time, then ``extra`` (the benchmark's own settings). Imports JAX when called, so the
    PyTorch and peer children that import this module never need it."""
    import platform
    import time

    import jax

    return {
        "backend": jax.default_backend(),
        "devices": str(jax.devices()),
        "jax": jax.__version__,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        **extra,
    }


def write_results(path: str | None, results: dict) -> None:
    """Writes ``results`` as indented JSON to ``path`` (folders made), when a path is given."""
    if not path:
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(results, f, indent=2)
    print(f"wrote {path}")


def print_result(result: dict) -> None:
    """In a child process: its results, as the one line :func:`run_child` reads."""
    print(RESULT + json.dumps(result), flush=True)


def run_child(cmd: list, **run_kwargs) -> tuple[dict | None, str]:
    """Runs a benchmark's child process (``subprocess.run`` keywords: ``env``, ``cwd``);
    ``(its results, None)``, or ``(None, the end of its stderr)`` when it printed none."""
    run_kwargs.setdefault("cwd", ROOT)  # children run as ``python -m benchmarks.NAME``
    proc = subprocess.run(cmd, capture_output=True, text=True, **run_kwargs)
    line = next((x for x in proc.stdout.splitlines() if x.startswith(RESULT)), None)
    if line is None:
        return None, proc.stderr[-3000:]
    return json.loads(line[len(RESULT) :]), None
