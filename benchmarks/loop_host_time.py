"""The training loop's host work, action by action: each action's ``__call__`` (log rows,
sample grids, progress) and each call of the compiled training program (``train.Calls.run``:
dispatch, the device's work, reading the metrics back) timed with a wall clock in one real
``train.train`` run.

    python -m benchmarks.loop_host_time --config dcgan_fashion_mnist --steps 300 \\
        --set loop.sample_every=100 --json benchmarks/results/loop_host_time.json

Tells the loop's own cost between calls (what keeps a GPU waiting after each call, beside the
program's own gaps: ``gpu_busy.py``) from the steps' cost. Per entry: calls, median and mean
milliseconds (the mean without the largest, which holds a first compilation) and the largest.
"""

from __future__ import annotations

import argparse
import collections
import os
import platform
import tempfile
import time

import jax

from benchmarks.common import write_results
from odegan_jax import actions, train
from odegan_jax.config import load_config


def _timed(cls, name: str, times: dict, method: str = "__call__") -> None:
    inner = getattr(cls, method)

    def wrapper(self, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return inner(self, *args, **kwargs)
        finally:
            times[name].append(time.perf_counter() - t0)

    setattr(cls, method, wrapper)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--config", default="dcgan_fashion_mnist")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config overrides, e.g. loop.sample_every=100",
    )
    p.add_argument("--json")
    args = p.parse_args(argv)
    config = load_config(args.config)
    config.steps, config.loop.checkpoint_every, config.loop.plot = args.steps, 0, False
    for item in args.set:
        key, value = item.split("=", 1)
        *parents, leaf = key.split(".")
        node = config
        for name in parents:
            node = node[name]
        node[leaf] = type(node[leaf])(value)
    times: dict = collections.defaultdict(list)
    for name in dir(actions):
        cls = getattr(actions, name)
        if (
            isinstance(cls, type)
            and issubclass(cls, actions.PeriodicAction)
            and cls is not actions.PeriodicAction
        ):
            _timed(cls, name, times)
    _timed(train.Calls, "Calls.run", times, "run")
    with tempfile.TemporaryDirectory() as workdir:
        train.train(config, workdir, echo=lambda _: None)
    rows = {}
    for name, ts in times.items():
        rest = sorted(ts)[:-1] or ts
        rows[name] = {
            "calls": len(ts),
            "median_ms": round(1000 * sorted(ts)[len(ts) // 2], 3),
            "mean_ms_without_largest": round(1000 * sum(rest) / len(rest), 3),
            "largest_ms": round(1000 * max(ts), 1),
        }
        print(f"{name:16s} {rows[name]}")
    write_results(
        args.json,
        {
            "_meta": {
                "config": args.config,
                "steps": args.steps,
                "set": args.set,
                "backend": jax.default_backend(),
                "jax": jax.__version__,
                "cpu_count": os.cpu_count(),
                "python": platform.python_version(),
                "time": time.strftime("%Y-%m-%d %H:%M:%S"),
            },
            "host_time": rows,
        },
    )


if __name__ == "__main__":
    main()
