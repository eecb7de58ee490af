"""Throughput of a population (N members in one vmapped program) against single runs, in one
run: member-steps per second of ``odegan_jax.population.make_population_fn`` at several N
and of the single-run program (``train.make_train_fn``), both with 100 fused steps a call.

    python -m benchmarks.population --json benchmarks/results/population.json
    python -m benchmarks.population --sizes 1,8,64 --json benchmarks/results/population.json

Target: on the GPU, where one MLP run is launch-bound, ≥ 10x the per-run
throughput of single runs at N = 64. On a 2-core CPU the single run already keeps the cores
busy, so the gain there is what batching the small products buys.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp

from benchmarks.common import jax_meta, write_results
from benchmarks.step_time import time_calls
from odegan_jax import population, train
from odegan_jax.config import load_config
from odegan_jax.experiment import build, init_state


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--config", default="mog16_rk4")
    p.add_argument("--sizes", default="1,4,16")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--json")
    args = p.parse_args(argv)
    config = load_config(args.config)
    k = 100
    results = {"_meta": jax_meta(config=args.config, steps_per_call=k)}
    exp = build(config)
    single = (
        1000
        / time_calls(
            train.make_train_fn(exp, k),
            jax.tree.map(jnp.copy, init_state(exp)),
            None,
            reps=args.reps,
            steps_per_call=k,
        )[1]
    )
    results["single_run_steps_per_s"] = round(single, 1)
    print(f"single run: {single:.1f} steps/s", flush=True)
    results["population"] = {}
    for n in [int(x) for x in args.sizes.split(",")]:
        exps = [build(c) for c in population.member_configs(config, "seed", list(range(n)))]
        states = population._stack([init_state(e) for e in exps])
        inputs = {"stream": jnp.stack([e.keys["stream"] for e in exps])}
        fn = population.make_population_fn(exps[0], (), k)
        member_steps = (
            1000 / time_calls(fn, states, inputs, None, reps=args.reps, steps_per_call=k * n)[1]
        )
        results["population"][n] = {
            "member_steps_per_s": round(member_steps, 1),
            "ratio_to_single_runs": round(member_steps / single, 2),
        }
        print(
            f"N={n}: {member_steps:.1f} member-steps/s, {member_steps / single:.2f}x single runs",
            flush=True,
        )
    write_results(args.json, results)


if __name__ == "__main__":
    main()
