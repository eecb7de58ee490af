"""Step time of every training rule, measured in one run, with ratios to Adam.

    python -m benchmarks.step_time --json benchmarks/results/step_time.json

Rules: Adam (simultaneous), Euler, Heun, RK4, each ODE rule with and without the gradient-norm
regulariser, Adam with the regulariser (Euler direction fed to Adam + post-step term) and
RK4 + Adam. Models: the notebook MLP (2×25, batch 512, 32 latents) on the 16-Gaussian grid,
run as the training loop runs it (``steps_per_call`` steps fused in one compiled call), and
DCGAN-28 (Yamazaki17 M0_B) and NGAN (Varshney19 Figures 4.1 / 4.2; RK4, one step per block), batch
64,
100 latents, on random 28×28 images, one step per call.
Writes ``{model: {rule: median_ms}}`` (plus metadata) and prints each rule's ratio to Adam.
Machines are noisy: compare ratios from one run, not absolute times across runs.
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp

from benchmarks.common import jax_meta, write_results
from odegan_jax import rules, train
from odegan_jax.config import base_config
from odegan_jax.experiment import KEY_NAMES, Experiment, build, build_game, init_state
from odegan_jax.integrators import EULER, HEUN, RK4
from odegan_jax.models import build_networks

REG = 0.02


def rule_table(game, config):
    adam = lambda: rules.make_optimizer("adam", 1e-4, b1=0.5, b2=0.999)  # noqa: E731
    h = config.rule.h
    return {
        "adam": rules.gradient_rule(game, adam(), adam()),
        "adam+reg": rules.ode_rule(game, EULER, h, reg_weight=REG, optimizer=adam()),
        "euler": rules.ode_rule(game, EULER, h),
        "euler+reg": rules.ode_rule(game, EULER, h, reg_weight=REG),
        "heun": rules.ode_rule(game, HEUN, h),
        "heun+reg": rules.ode_rule(game, HEUN, h, reg_weight=REG),
        "rk4": rules.ode_rule(game, RK4, h),
        "rk4+reg": rules.ode_rule(game, RK4, h, reg_weight=REG),
        "rk4+adam": rules.ode_rule(game, RK4, h, optimizer=adam()),
    }


def model_config(name: str):
    c = base_config()
    if name == "mlp":  # the notebook's MLP (the main job's is 2×50)
        c.model.width = 25
        c.loop.steps_per_call = 100
        return c
    if name in ("dcgan28", "ngan"):
        c.model.name = name
        c.model.latent_size = 100
        c.model.init = "normal"
        c.model.init_std = 0.02
        c.data.batch_size = 64
        c.loop.steps_per_call = 1
        return c
    raise ValueError(f"unknown model {name!r}")


def time_calls(fn, state, *args, reps: int, steps_per_call: int) -> tuple[float, float]:
    """(seconds of the first call, i.e. compilation and warm-up; median milliseconds per step
    over ``reps`` further calls) of ``fn(state, *args) -> (state, metrics)``, a compiled call
    of ``steps_per_call`` steps."""
    t0 = time.perf_counter()
    state, m = fn(state, *args)
    jax.block_until_ready(m)
    first = time.perf_counter() - t0
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        state, m = fn(state, *args)
        jax.block_until_ready((state, m))
        times.append((time.perf_counter() - t0) * 1000 / steps_per_call)
    return first, statistics.median(times)


def time_rule(config, game, rule, dataset, reps: int) -> float:
    """Median milliseconds per training step."""
    keys = dict(zip(KEY_NAMES, jax.random.split(jax.random.PRNGKey(0), len(KEY_NAMES))))
    exp = Experiment(
        config, game, rule, dataset, keys, eval_latents=None, generate=None, discriminate=None
    )
    k = config.loop.steps_per_call
    train_array = None if dataset.train is None else jnp.asarray(dataset.train)
    return time_calls(
        train.make_train_fn(exp, k), init_state(exp), train_array, reps=reps, steps_per_call=k
    )[1]


def image_dataset(config):
    from odegan_jax.data import Dataset

    x = jax.random.uniform(jax.random.PRNGKey(0), (1024, 28, 28, 1), minval=-1, maxval=1)
    return Dataset("random28", (28, 28, 1), None, jax.device_get(x), None)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--json", help="write results here")
    p.add_argument("--models", default="mlp,dcgan28,ngan")
    p.add_argument("--rules", default="", help="comma-separated subset (default: all)")
    p.add_argument(
        "--reps", type=int, default=0, help="timed repetitions (default 20 MLP / 5 conv)"
    )
    args = p.parse_args(argv)
    results = {"_meta": jax_meta(reg_weight=REG)}
    for model in args.models.split(","):
        config = model_config(model)
        exp = build(config) if model == "mlp" else None
        if model == "mlp":
            game, dataset = exp.game, exp.dataset
        else:
            dataset = image_dataset(config)
            game = build_game(config, build_networks(config.model, dataset.sample_shape))
        table = rule_table(game, config)
        wanted = [r for r in args.rules.split(",") if r] or list(table)
        reps = args.reps or (20 if model == "mlp" else 5)
        results[model] = {}
        for name in wanted:
            ms = time_rule(config, game, table[name], dataset, reps)
            results[model][name] = round(ms, 4)
            print(f"{model:8s} {name:10s} {ms:10.3f} ms/step", flush=True)
        if "adam" in results[model]:
            base = results[model]["adam"]
            results[model + "_ratio_to_adam"] = {
                k: round(v / base, 3) for k, v in results[model].items()
            }
            print(
                f"{model}: ratio to adam: "
                + ", ".join(f"{k} {v:.2f}" for k, v in results[model + "_ratio_to_adam"].items()),
                flush=True,
            )
    write_results(args.json, results)


if __name__ == "__main__":
    main()
