"""Resident memory over a 10,000-step MoG16 run (``mog16_rk4``, the larger of the 2D
configs, shortened).

    python -m benchmarks.memory --json benchmarks/results/memory.json

Trains in this process while a thread samples VmRSS from /proc/self/status every 0.2 s; reports
RSS after the first logged step (compilation done), at the end, and the slope between them.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time

from odegan_jax import train
from odegan_jax.config import load_config


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--json")
    p.add_argument("--steps", type=int, default=10_000)
    args = p.parse_args(argv)
    samples = []
    stop = threading.Event()

    def sampler():
        t0 = time.perf_counter()
        while not stop.is_set():
            samples.append((time.perf_counter() - t0, rss_mib()))
            time.sleep(0.2)

    config = load_config("mog16_rk4")
    config.steps = args.steps
    config.loop.plot = False
    marks = []
    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    with tempfile.TemporaryDirectory() as workdir:

        def echo(msg):
            marks.append((msg, rss_mib()))
            print(msg, flush=True)

        config.loop.log_every = 500
        train.train(config, workdir, echo=echo, progress=False)
    stop.set()
    thread.join()
    logged = [m for m in marks if m[0].startswith("step ")]
    start_rss, end_rss = logged[0][1], logged[-1][1]
    result = {
        "steps": args.steps,
        "rss_mib_after_first_log": round(start_rss, 1),
        "rss_mib_at_last_log": round(end_rss, 1),
        "rss_mib_peak": round(max(r for _, r in samples), 1),
        "growth_mib": round(end_rss - start_rss, 1),
        "per_log_rss_mib": [round(r, 1) for _, r in logged],
    }
    print(json.dumps(result, indent=1))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
