"""The official ODE-GAN notebook's code against ``odegan train --config mog16_official`` on
the notebook's own task, alternately, each run a fresh process, in one benchmark run.

    python -m benchmarks.vs_official_notebook --peer-python ~/.venvs/odegan-peer/bin/python \\
        --peer-script ../shared/peers/official_notebook_mog16.py --seeds 0,1,2 \\
        --json benchmarks/results/vs_official_notebook.json

The peer (``../shared/peers``, its own environment; called, never copied) prints its
per-step milliseconds (median of steps 100–1,100, each step synchronised), its loop's wall
time and the quality at steps 10,000 / 20,000 / the last. For ours:

* ``ms_per_step``: the median over the run's 1,000-step segments of (segment wall / 1,000),
  from ``metrics.jsonl``'s ``time_s``; each segment includes one logged evaluation (10,000
  samples), which the peer's per-step median leaves out, so the comparison is unfavourable
  to us by that evaluation;
* ``wall_s``: the whole process (interpreter start, imports, compilation, the loop, every
  evaluation, checkpoints, plots); the peer's ``process_s`` likewise, its ``wall_s`` its loop;
* the quality at 10,000 / 20,000 and the end, on the 16-Gaussian grid (modes, HQ share).

Targets: ours ≥ 2x faster per step and per whole run; final quality over the
seeds no worse than the peer's. The two runs of a seed draw different random numbers (the
notebook uses numpy), so quality is compared as a distribution over seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks.common import write_results

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHECK_STEPS = (10_000, 20_000)


def run_peer(python: str, script: str, seed: int, steps: int, tmp: str) -> dict:
    out = os.path.join(tmp, f"peer_{seed}.json")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            python,
            script,
            "--seed",
            str(seed),
            "--steps",
            str(steps),
            "--integrator",
            "rk4",
            "--json",
            out,
        ],
        capture_output=True,
        text=True,
    )
    process_s = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"error": proc.stderr[-2000:]}
    with open(out) as f:
        res = json.load(f)
    quality = {q["step"]: q for q in res["quality"]}
    last = max(quality)
    return {
        "ms_per_step": res["ms_per_step"],
        "loop_s": res["wall_s"],
        "wall_s": round(process_s, 1),
        "quality": {
            str(s): [quality[s]["modes"], quality[s]["hq"]] for s in CHECK_STEPS if s in quality
        }
        | {"last": [quality[last]["modes"], quality[last]["hq"]]},
    }


def run_ours(seed: int, steps: int, tmp: str, extra: list[str]) -> dict:
    workdir = os.path.join(tmp, f"ours_{seed}")
    cmd = [
        sys.executable,
        "-m",
        "odegan_jax.cli",
        "train",
        "--config",
        "mog16_official",
        "--workdir",
        workdir,
        f"--config.seed={seed}",
        f"--config.steps={steps}",
        *extra,
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(
        cmd, capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, CI="true")
    )
    process_s = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"error": proc.stderr[-2000:]}
    rows = [json.loads(x) for x in open(os.path.join(workdir, "metrics.jsonl"))]
    rows = [r for r in rows if "time_s" in r]
    segments = [
        1000 * (b["time_s"] - a["time_s"]) / (b["step"] - a["step"])
        for a, b in zip(rows, rows[1:])
        if b["step"] - a["step"] >= 500
    ]
    quality = {r["step"]: [r["modes_covered"], r["hq_fraction"]] for r in rows}
    summary = json.load(open(os.path.join(workdir, "summary.json")))
    return {
        "ms_per_step": round(statistics.median(segments), 3),
        "loop_s": summary["wall_time_s"],
        "wall_s": round(process_s, 1),
        "params_sha256": summary["params_sha256"],
        "quality": {str(s): quality[s] for s in CHECK_STEPS if s in quality}
        | {"last": quality[max(quality)]},
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--peer-python", default=os.path.expanduser("~/.venvs/odegan-peer/bin/python"))
    p.add_argument(
        "--peer-script",
        default=os.path.join(ROOT, "..", "shared", "peers", "official_notebook_mog16.py"),
    )
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--steps", type=int, default=30_001)
    p.add_argument("--json", help="write the results here")
    p.add_argument(
        "--ours-flag",
        action="append",
        default=[],
        help="extra `odegan train` argument for our runs (repeatable)",
    )
    args = p.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    results = {
        "_meta": {
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "time": time.strftime("%Y-%m-%d %H:%M:%S"),
            "steps": args.steps,
            "peer_script": os.path.abspath(args.peer_script),
            "ours_flags": args.ours_flag,
            "xla_flags": os.environ.get("XLA_FLAGS", ""),
        },
        "runs": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:  # alternately: peer, ours, peer, ours, ...
            for who in ("peer", "ours"):
                load = os.getloadavg()[0]
                res = (
                    run_peer(args.peer_python, args.peer_script, seed, args.steps, tmp)
                    if who == "peer"
                    else run_ours(seed, args.steps, tmp, args.ours_flag)
                )
                res.update(who=who, seed=seed, load_before=round(load, 2))
                results["runs"].append(res)
                print(json.dumps(res), flush=True)
    ok = {
        who: [r for r in results["runs"] if r["who"] == who and "error" not in r]
        for who in ("peer", "ours")
    }
    if ok["peer"] and ok["ours"]:
        med = lambda who, k: statistics.median(r[k] for r in ok[who])  # noqa: E731
        mean_last = lambda who, i: statistics.mean(r["quality"]["last"][i] for r in ok[who])  # noqa: E731
        results["summary"] = {
            "ms_per_step": {"peer": med("peer", "ms_per_step"), "ours": med("ours", "ms_per_step")},
            "wall_s": {"peer": med("peer", "wall_s"), "ours": med("ours", "wall_s")},
            "speedup_per_step": round(med("peer", "ms_per_step") / med("ours", "ms_per_step"), 2),
            "speedup_whole_run": round(med("peer", "wall_s") / med("ours", "wall_s"), 2),
            "final_modes_mean": {"peer": mean_last("peer", 0), "ours": mean_last("ours", 0)},
            "final_hq_mean": {
                "peer": round(mean_last("peer", 1), 4),
                "ours": round(mean_last("ours", 1), 4),
            },
        }
        print(json.dumps(results["summary"], indent=2))
    write_results(args.json, results)


if __name__ == "__main__":
    main()
