"""Where the time of one MLP ODE-GAN step goes, on this machine, measured in one run.

    python -m experiments.step_anatomy --json experiments/results/step_anatomy.json

For ``mog16_rk4`` (2×50 MLPs, batch 512, RK4 joint, λ 0.3)
and the notebook's task (``mog16_official``: 2×25, RK4 frozen, λ 0.07) it measures, each in
a fresh process so XLA's flags can differ:

* ms per step with ``k`` steps fused in one ``lax.scan`` call (k = 1, 10, 100, 1000);
* the same under XLA's CPU threading choices (default Eigen thread pool, or one thread) and
  with YNNPACK fusions off (``--threading default,no_ynn``);
* XLA's own cost analysis of the compiled step (flops, bytes accessed) and the flops of its
  parts (one forward pass, ``player_gradients`` with and without the regulariser);
* the per-op breakdown of a ``jax.profiler`` trace of fused steps (``--trace DIR``).

Everything is a ratio within this run; the machine is noisy (say what else was running).
"""

from __future__ import annotations

import argparse
import glob
import gzip
import json
import os
import platform
import sys
import time
from collections import Counter

from benchmarks.common import print_result, run_child, write_results

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

THREADING = {  # name -> XLA_FLAGS added to the child's environment
    "default": "",
    "single_thread": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    # XLA's YNNPACK fusions off (the image training programs compile so, xla_cpu.py; the 2D
    # MLP programs keep XLA's default, which this setting overrides for the measurement)
    "no_ynn": "--xla_cpu_experimental_ynn_fusion_type=",
}


def _child(args) -> dict:
    """Runs in the child process: times the fused calls of ``args.config``."""
    import jax
    import jax.numpy as jnp

    from benchmarks.step_time import time_calls
    from odegan_jax import game as game_lib
    from odegan_jax import train
    from odegan_jax.config import load_config
    from odegan_jax.experiment import build, init_state

    config = load_config(args.config)
    exp = build(config)
    train_array = None if exp.dataset.train is None else jnp.asarray(exp.dataset.train)
    out = {"config": args.config, "threading": args.threading, "ms_per_step": {}, "compile_s": {}}
    for k in [int(x) for x in args.calls.split(",")]:
        first, ms = time_calls(
            train.make_train_fn(exp, k),
            jax.tree.map(jnp.copy, init_state(exp)),
            train_array,
            reps=max(3, args.steps // k),
            steps_per_call=k,
        )
        out["compile_s"][k], out["ms_per_step"][k] = round(first, 2), round(ms, 4)
    if args.costs:
        state = jax.tree.map(jnp.copy, init_state(exp))
        fn = train.make_train_fn(exp, 1)
        out["cost_step"] = _cost(fn, state, train_array)
        if exp.dataset.sampler is not None:
            batch = exp.dataset.sampler(jax.random.PRNGKey(0), config.data.batch_size)
            key = jax.random.PRNGKey(1)
            g = exp.game
            z = g.sample_latents(key, config.data.batch_size)
            out["cost_forward"] = _cost(
                jax.jit(
                    lambda s: g.discriminate(
                        s.params,
                        s.model_state,
                        jnp.concatenate([batch, g.generate(s.params, s.model_state, z)]),
                    )
                ),
                state,
            )
            for pen in (False, True):
                out[f"cost_player_gradients{'_penalty' if pen else ''}"] = _cost(
                    jax.jit(
                        lambda s, pen=pen: game_lib.player_gradients(
                            g, s.params, s.model_state, batch, key, penalty=pen
                        )
                    ),
                    state,
                )
    if args.trace:
        fn = train.make_train_fn(exp, 100)
        state = jax.tree.map(jnp.copy, init_state(exp))
        state, m = fn(state, train_array)
        jax.block_until_ready(m)
        with jax.profiler.trace(args.trace):
            for _ in range(3):
                state, m = fn(state, train_array)
                jax.block_until_ready(m)
        out["trace_ops"] = _trace_ops(args.trace)
    return out


def _cost(fn, *args) -> dict:
    analysis = getattr(fn, "jitted", fn).lower(*args).compile().cost_analysis()
    if isinstance(analysis, list):
        analysis = analysis[0]
    return {k: float(analysis[k]) for k in ("flops", "bytes accessed") if k in analysis}


def _trace_ops(trace_dir: str, top: int = 25) -> list:
    """The ops of a profiler trace by total time: [(name, ms, share)]."""
    files = sorted(glob.glob(os.path.join(trace_dir, "**", "*.trace.json.gz"), recursive=True))
    if not files:
        return []
    with gzip.open(files[-1], "rt") as f:
        events = json.load(f).get("traceEvents", [])
    total: Counter = Counter()
    for e in events:
        if e.get("ph") == "X" and "dur" in e:
            name = e.get("name", "")
            total[name] += e["dur"]
    # XLA's thunks (per-op events) are the ones without the outer call names
    outer = {n for n in total if n.startswith(("PjitFunction", "jit_", "ThunkExecutor"))}
    ops = Counter({n: d for n, d in total.items() if n not in outer})
    all_us = sum(ops.values()) or 1
    return [(n, round(d / 1000, 2), round(d / all_us, 4)) for n, d in ops.most_common(top)]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--json", help="write the results here")
    p.add_argument("--configs", default="mog16_rk4,mog16_official")
    p.add_argument("--calls", default="1,10,100,1000", help="steps fused per call")
    p.add_argument("--steps", type=int, default=2000, help="timed steps per setting")
    p.add_argument("--threading", default="default,single_thread")
    p.add_argument("--trace", default="", help="also write a profiler trace here (child)")
    p.add_argument("--costs", action="store_true", help="(child) XLA cost analysis")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--config", default="mog16_rk4", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print_result(_child(args))
        return
    import jax

    results = {
        "_meta": {
            "jax": jax.__version__,
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "time": time.strftime("%Y-%m-%d %H:%M:%S"),
            "threading_flags": THREADING,
            "load_before": os.getloadavg(),
        }
    }
    for config in args.configs.split(","):
        results[config] = {}
        for i, threading in enumerate(args.threading.split(",")):
            env = dict(os.environ)
            env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " " + THREADING[threading]).strip()
            cmd = [
                sys.executable,
                "-m",
                __spec__.name,
                "--child",
                "--config",
                config,
                "--calls",
                args.calls,
                "--steps",
                str(args.steps),
            ]
            cmd += ["--threading", threading]
            if i == 0:
                cmd.append("--costs")
                if args.trace:
                    cmd += ["--trace", os.path.join(args.trace, config)]
            res, err = run_child(cmd, env=env)
            if res is None:
                sys.exit(f"{config} / {threading} failed:\n{err}")
            results[config][threading] = res
            print(config, threading, res["ms_per_step"], flush=True)
    write_results(args.json, results)


if __name__ == "__main__":
    main()
