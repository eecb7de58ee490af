"""How busy the real training loop keeps the GPU: a ``jax.profiler`` trace of ``train.train``
(the loop ``odegan train`` runs: minibatches gathered on the device from the step counter,
metrics read back after each call, rows logged, sample grids written), and the share of the
training window in which the GPU executes something.

    python -m benchmarks.gpu_busy --configs dcgan_fashion_mnist,fashion_mnist_odegan \\
        --steps 2000 --json benchmarks/results/gpu_busy_h100.json

Each (config, steps per call) runs in a fresh process. The window runs from the start of the
third call of the compiled training program (the first calls compile) to the end of the last
one, so it holds the host's work between calls (reading metrics, logging, grids) but not the
first compilation; ``steady`` starts after the first sample grid (``loop.sample_every``), when
every one-off program (the grid's generator too) is compiled: what a long run sees.

``busy``: the union of the GPU's kernel and copy intervals in the window over the window's
length; ``kernels``: kernels alone; ``busy_in_calls``: the share inside the training calls
(gaps there are the program's own: kernel launches, syncs); ``between_calls_ms``: the loop's
host time between calls. ``--per-call 1`` beside the default shows what fusing steps buys: one
step per call makes the host read each step's metrics while the GPU waits.

Target: busy ≥ 90% for the image configs.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import json
import os
import platform
import sys
import tempfile
import time

from benchmarks.common import print_result, run_child, write_results

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARK = "odegan_train_call"


def _child(config_name: str, steps: int, per_call: int, trace_dir: str) -> dict:
    import jax

    from odegan_jax import train
    from odegan_jax.config import load_config

    config = load_config(config_name)
    config.steps = steps
    config.loop.checkpoint_every = 0
    config.loop.plot = False
    if per_call:
        config.loop.steps_per_call = per_call
    run, starts = train.Calls.run, []

    def annotated(self, step, n):  # marks each call of the training program in the trace
        starts.append(step)
        with jax.profiler.TraceAnnotation(MARK):
            return run(self, step, n)

    train.Calls.run = annotated
    options = jax.profiler.ProfileOptions()
    options.python_tracer_level = 0  # Python calls would flood the trace (it keeps 1M events)
    with tempfile.TemporaryDirectory() as workdir:
        t0 = time.perf_counter()
        with jax.profiler.trace(trace_dir, create_perfetto_trace=True, profiler_options=options):
            summary = train.train(config, workdir, echo=lambda _: None)
        wall = time.perf_counter() - t0
    out = {
        "config": config_name,
        "steps": steps,
        "steps_per_call": per_call or "default",
        "wall_s": round(wall, 2),
        "train_wall_s": summary.get("wall_time_s"),
        "backend": jax.default_backend(),
        "device": str(jax.devices()[0]),
    }
    # steady: from the first call after the first sample grid (every one-off program, the
    # grid's generator included, is compiled by then)
    steady = next((i for i, st in enumerate(starts) if st >= config.loop.sample_every), None)
    out.update(busy_share(trace_dir, 2))
    if steady is not None and steady < len(starts) - 2:
        out["steady"] = {
            k: v
            for k, v in busy_share(trace_dir, steady).items()
            if k
            in (
                "window_ms",
                "busy",
                "kernels",
                "calls_in_window",
                "busy_in_calls",
                "between_calls_ms",
                "kernels_in_window",
                "median_kernel_us",
            )
        }
        out["steady"]["from_step"] = starts[steady]
    return out


def busy_share(trace_dir: str, first_call: int) -> dict:
    """The GPU's busy share of the newest trace under ``trace_dir`` in the window from the
    start of training call ``first_call`` (0-based) to the end of the last call."""
    files = sorted(glob.glob(os.path.join(trace_dir, "**", "*.trace.json.gz"), recursive=True))
    with gzip.open(files[-1], "rt") as f:
        events = json.load(f).get("traceEvents", [])
    names = {
        e["pid"]: e["args"]["name"]
        for e in events
        if e.get("ph") == "M" and e.get("name") == "process_name"
    }
    threads = {
        (e["pid"], e.get("tid")): e["args"]["name"]
        for e in events
        if e.get("ph") == "M" and e.get("name") == "thread_name"
    }
    gpu = {pid for pid, name in names.items() if "GPU" in name}
    spans = [e for e in events if e.get("ph") == "X" and "dur" in e]
    calls = sorted((e["ts"], e["ts"] + e["dur"]) for e in spans if e.get("name") == MARK)
    out = {
        "processes": sorted(set(names.values())),
        "calls": len(calls),
        "gpu_threads": sorted(
            {threads.get((e["pid"], e.get("tid")), "?") for e in spans if e["pid"] in gpu}
        )[:20],
    }
    if not gpu or len(calls) < first_call + 2:
        return dict(out, busy=None, note="no GPU in the trace" if not gpu else "too few calls")
    lo, hi = calls[first_call][0], calls[-1][1]
    out["calls_in_window"] = len(calls) - first_call

    def merged(intervals) -> list:  # disjoint, sorted, clipped to the window
        out: list = []
        for a, b in sorted(intervals):
            a, b = max(a, lo), min(b, hi)
            if b <= a:
                continue
            if out and a <= out[-1][1]:
                out[-1][1] = max(out[-1][1], b)
            else:
                out.append([a, b])
        return out

    def overlap(xs, ys) -> float:  # total length of the intersection of two merged lists
        total, i, j = 0.0, 0, 0
        while i < len(xs) and j < len(ys):
            total += max(0.0, min(xs[i][1], ys[j][1]) - max(xs[i][0], ys[j][0]))
            if xs[i][1] < ys[j][1]:
                i += 1
            else:
                j += 1
        return total

    # the streams' rows hold the kernels and copies; other GPU rows (XLA modules / ops) span
    # whole programs, gaps included
    on_gpu = [e for e in spans if e["pid"] in gpu]
    streams = [e for e in on_gpu if "stream" in threads.get((e["pid"], e.get("tid")), "").lower()]
    device = [(e["ts"], e["ts"] + e["dur"], e.get("name", "")) for e in streams or on_gpu]
    kernels = [
        (a, b) for a, b, n in device if "memcpy" not in n.lower() and "memset" not in n.lower()
    ]
    window = hi - lo
    busy = merged((a, b) for a, b, _ in device)
    in_calls = merged(calls[first_call:])
    call_time = sum(b - a for a, b in in_calls)
    durations = sorted(b - a for a, b in kernels if a >= lo and b <= hi)
    # busy inside the calls (the compiled program's own gaps: kernel launches, host syncs)
    # and the time between calls (the loop's host work: metrics, logs, grids, dispatch)
    return dict(
        out,
        window_ms=round(window / 1000, 1),
        rows="streams" if streams else "all",
        busy=round(sum(b - a for a, b in busy) / window, 4),
        kernels=round(sum(b - a for a, b in merged(kernels)) / window, 4),
        busy_in_calls=round(overlap(busy, in_calls) / max(call_time, 1e-9), 4),
        between_calls_ms=round((window - call_time) / 1000, 1),
        kernels_in_window=len(durations),
        median_kernel_us=round(durations[len(durations) // 2], 2) if durations else None,
    )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--configs", default="dcgan_fashion_mnist,fashion_mnist_odegan")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument(
        "--per-call", default="0,1", help="steps per call to compare (0: the loop's default)"
    )
    p.add_argument("--json")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--trace-dir", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        res = _child(args.child, args.steps, int(args.per_call), args.trace_dir)
        print_result(res)
        return
    results = {
        "_meta": {
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        },
        "runs": [],
    }
    for name in args.configs.split(","):
        for per_call in args.per_call.split(","):
            with tempfile.TemporaryDirectory() as trace_dir:
                res, err = run_child(
                    [
                        sys.executable,
                        "-m",
                        __spec__.name,
                        "--child",
                        name,
                        "--steps",
                        str(args.steps),
                        "--per-call",
                        per_call,
                        "--trace-dir",
                        trace_dir,
                    ]
                )
            if res is None:
                res = {
                    "config": name,
                    "steps_per_call": per_call,
                    "failed": True,
                    "stderr": err[-2000:],
                }
            results["runs"].append(res)
            print(json.dumps(res), flush=True)
            write_results(args.json, results)  # after each run: a killed command keeps them


if __name__ == "__main__":
    main()
