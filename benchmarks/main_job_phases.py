"""Where a training run's wall time goes: ``train.train`` (what ``odegan train`` runs) in a
fresh process, with its phases timed by wrapping the loop's own functions.

    python -m benchmarks.main_job_phases --json benchmarks/results/main_job_phases.json
    python -m benchmarks.main_job_phases --variant cmdbuf=--xla_gpu_enable_command_buffer=+WHILE

Each variant (``NAME=XLA flags``, appended to ``XLA_FLAGS``; ``default`` adds none) runs
``--runs`` times, each in a fresh process, the variants alternating. Phases (seconds):

* ``interpreter``: from the parent's spawn to the child's first line;
* ``imports``: jax, the package and the CLI's modules; ``backend``: ``jax.devices()``;
* ``build``, ``open_checkpoints`` (``init_state`` within it: the resumed run's template),
  ``start_logs``;
* ``first_call``: the first compiled call (compilation included), ``calls``: the others,
  ``n_calls``, ``ms_per_step`` over them; each call waits for the device (the loop reads
  the call's flags before going on);
* one entry per loop action (``Quality2D`` …; ``*_first``: its first call, which compiles);
* ``finish_run`` (final checkpoint, orbax's close, plots, summary), ``plots`` within it;
* ``unaccounted``: the child's wall minus the phases above (Python between them, exit);
  ``process_wall``: the parent's wall around the child.

Target: the main job ≤ 90 s on 2 CPU cores, ≤ 15 s on the H100, compilation
included.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

from benchmarks.common import write_results

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _child(config_name: str, overrides: list[str], spawned: float) -> dict:
    first_line = time.time()
    t0 = time.perf_counter()
    import jax

    from odegan_jax import actions, cli, plots, train  # noqa: F401  (cli: its imports count)
    from odegan_jax.config import resolve_config

    t_imports = time.perf_counter()
    devices = jax.devices()
    t_backend = time.perf_counter()

    times: dict[str, float] = {}
    counts: dict[str, int] = {}

    def timed(owner, name: str, label: str, first_apart: bool = False):
        fn = getattr(owner, name)

        def wrapper(*args, **kwargs):
            key = label
            if first_apart and counts.get(label + "_first", 0) == 0:
                key = label + "_first"
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                times[key] = times.get(key, 0.0) + time.perf_counter() - start
                counts[key] = counts.get(key, 0) + 1

        setattr(owner, name, wrapper)

    for name in ("build", "init_state", "open_checkpoints", "start_logs", "finish_run"):
        timed(train, name, name)
    timed(plots, "write_run_plots", "plots")
    timed(train.Calls, "run", "calls", first_apart=True)
    for cls in (
        "LogMetrics",
        "Quality2D",
        "ImageScores",
        "WriteRow",
        "Progress",
        "SampleGrid",
        "Checkpoint",
        "TruncationError",
        "Snapshots",
    ):
        timed(
            getattr(actions, cls),
            "__call__",
            cls,
            first_apart=cls in ("Quality2D", "ImageScores", "SampleGrid", "Checkpoint"),
        )

    config = resolve_config(config_name, [f"--config.{o}" for o in overrides])
    with tempfile.TemporaryDirectory() as workdir:
        summary = train.train(config, workdir, echo=lambda _: None)
        t_done = time.perf_counter()
    phases = {
        "interpreter": round(first_line - spawned, 3),
        "imports": round(t_imports - t0, 3),
        "backend": round(t_backend - t_imports, 3),
    }
    phases.update({k: round(v, 3) for k, v in sorted(times.items())})
    if "calls_first" in times:
        phases["first_call"] = phases.pop("calls_first")
    nested = ("init_state", "plots")  # inside open_checkpoints and finish_run
    accounted = (t_backend - t0) + sum(v for k, v in times.items() if k not in nested)
    phases["unaccounted"] = round((t_done - t0) - accounted, 3)
    steps = config.steps
    calls = counts.get("calls", 0)
    per_call = steps / max(calls + 1, 1)
    return {
        "config": config_name,
        "overrides": overrides,
        "backend": jax.default_backend(),
        "device": str(devices[0]),
        "steps": steps,
        "n_calls": calls + 1,
        "ms_per_step": round(1000 * times.get("calls", 0.0) / max(steps - per_call, 1), 4),
        "phases": phases,
        "counts": counts,
        "loop_wall_s": summary["wall_time_s"],
        "child_wall_s": round(t_done - t0, 3),
        "final": {k: summary["final"].get(k) for k in ("modes_covered", "hq_fraction")},
        "params_sha256": summary["params_sha256"],
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--config", default="mog16_main")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config overrides (odegan train's --config.KEY=VALUE without --config.)",
    )
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=XLA_FLAGS",
        help="XLA flags appended to XLA_FLAGS for this variant (repeatable)",
    )
    p.add_argument("--runs", type=int, default=1, help="fresh processes per variant")
    p.add_argument("--json")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--spawned", type=float, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.config, args.set, args.spawned)))
        return
    variants = [("default", "")] + [tuple(v.split("=", 1)) for v in args.variant]
    results = {
        "config": args.config,
        "overrides": args.set,
        "host": platform.node(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "runs": [],
    }
    for run in range(args.runs):
        for name, flags in variants:
            env = dict(os.environ, CI="true")
            env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} {flags}".strip()
            cmd = [
                sys.executable,
                "-m",
                __spec__.name,
                "--child",
                "--config",
                args.config,
                "--spawned",
                repr(time.time()),
            ]
            for s in args.set:
                cmd += ["--set", s]
            start = time.perf_counter()
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
            wall = time.perf_counter() - start
            if proc.returncode != 0:
                out = {"error": proc.stderr[-2000:]}
            else:
                out = json.loads(proc.stdout.strip().splitlines()[-1])
            out.update(variant=name, run=run, process_wall=round(wall, 3))
            results["runs"].append(out)
            phases = out.get("phases", {})
            print(
                f"{name} run {run}: {wall:.2f} s process, loop {out.get('loop_wall_s')} s, "
                f"{out.get('ms_per_step')} ms/step; "
                + ", ".join(f"{k} {v:.2f}" for k, v in phases.items() if v >= 0.05)
                + (f"; ERROR {out['error'][-300:]}" if "error" in out else ""),
                flush=True,
            )
            write_results(args.json, results)  # after each run: a killed job keeps its rows


if __name__ == "__main__":
    main()
