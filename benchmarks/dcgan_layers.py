"""Where the DCGAN-28 (Yamazaki17 M0_B) Adam step's time goes, layer by layer: a ``jax.profiler``
trace of the compiled step (the one ``dcgan_vs_torch.py`` times), each op of the trace mapped
to its layer through the optimised HLO's ``op_name`` metadata (XLA's dump, written to a
temporary folder), summed per layer and direction (forward / backward).

    python -m benchmarks.dcgan_layers --json benchmarks/results/dcgan_layers.json

Ops XLA leaves without metadata (some of YNNPACK's fusions) are listed by name with their
output shape, so they can still be placed (a ``[128, 2, 2, 64]`` output is the weight
gradient of one of G's sub-pixel 2×2 convolutions). The per-op times add up to more than the
step's wall time when ops overlap on the threads.
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import os
import re
import tempfile
import time

DUMP = tempfile.mkdtemp(prefix="odegan_dcgan_hlo_")
os.environ["XLA_FLAGS"] = (
    f"{os.environ.get('XLA_FLAGS', '')} --xla_dump_to={DUMP} "
    f"--xla_dump_hlo_as_text --xla_dump_hlo_module_re=jit_run"
).strip()

import jax  # noqa: E402  (after XLA_FLAGS, which jax reads on import)
import jax.numpy as jnp  # noqa: E402

from benchmarks.common import write_results  # noqa: E402
from benchmarks.step_time import image_dataset, model_config  # noqa: E402
from odegan_jax import rules, train  # noqa: E402
from odegan_jax.experiment import KEY_NAMES, Experiment, build_game, init_state  # noqa: E402
from odegan_jax.models import build_networks  # noqa: E402

OUTER = ("PjitFunction", "jit_", "ThunkExecutor", "SlinkyThreadPool")


def _layers(hlo: str) -> dict:
    """{op name: (op_name metadata or '', output shape)} of an optimised HLO module."""
    out = {}
    for m in re.finditer(r"%([\w.\-]+) = (\w+\[[^\]]*\])?[^\n]*", hlo):
        line = m.group(0)
        meta = re.search(r'op_name="([^"]+)"', line)
        op_name = meta.group(1) if meta else ""
        called = re.search(r"calls=%([\w.\-]+)", line)
        if not op_name and called:  # a fusion without metadata: its body's first op_name
            body = re.search(r"%" + re.escape(called.group(1)) + r" \([^\n]*\{(.*?)\n\}", hlo, re.S)
            inner = re.search(r'op_name="([^"]+)"', body.group(1)) if body else None
            op_name = inner.group(1) if inner else ""
        out[m.group(1)] = (op_name, m.group(2) or "")
    return out


def _label(op_name: str, name: str, shape: str) -> str:
    found = re.search(r"(DCGAN\w+)\)*/(\w+)", op_name)
    if not found:
        return f"(no metadata) {name} {shape}"
    direction = "backward" if "transpose(" in op_name else "forward"
    return f"{found.group(1)}/{found.group(2)} {direction}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--steps", type=int, default=10, help="traced steps")
    p.add_argument("--json")
    args = p.parse_args(argv)
    config = model_config("dcgan28")
    dataset = image_dataset(config)
    game = build_game(config, build_networks(config.model, dataset.sample_shape))
    adam = lambda: rules.make_optimizer("adam", 2e-4, b1=0.5, b2=0.999)  # noqa: E731
    rule = rules.gradient_rule(game, adam(), adam())
    keys = dict(zip(KEY_NAMES, jax.random.split(jax.random.PRNGKey(0), len(KEY_NAMES))))
    exp = Experiment(
        config, game, rule, dataset, keys, eval_latents=None, generate=None, discriminate=None
    )
    fn = train.make_train_fn(exp, 1)
    state, data = init_state(exp), jnp.asarray(dataset.train)
    for _ in range(3):
        state, m = fn(state, data)
        jax.block_until_ready(m)
    options = jax.profiler.ProfileOptions()
    options.python_tracer_level = 0
    with tempfile.TemporaryDirectory() as trace_dir:
        t0 = time.perf_counter()
        with jax.profiler.trace(trace_dir, create_perfetto_trace=True, profiler_options=options):
            for _ in range(args.steps):
                state, m = fn(state, data)
                jax.block_until_ready(m)
        wall_ms = 1000 * (time.perf_counter() - t0) / args.steps
        trace = sorted(glob.glob(os.path.join(trace_dir, "**", "*.trace.json.gz"), recursive=True))[
            -1
        ]
        with gzip.open(trace, "rt") as f:
            events = json.load(f)["traceEvents"]
    hlo = max(
        glob.glob(os.path.join(DUMP, "*jit_run*after_optimizations.txt")), key=os.path.getsize
    )
    layers = _layers(open(hlo).read())
    per_layer: collections.Counter = collections.Counter()
    for e in events:
        name = e.get("name", "")
        if e.get("ph") != "X" or "dur" not in e or name.startswith(OUTER):
            continue
        op_name, shape = layers.get(name, ("", ""))
        per_layer[_label(op_name, name, shape)] += e["dur"] / 1000 / args.steps
    total = sum(per_layer.values())
    rows = [(k, round(v, 2), round(v / total, 4)) for k, v in per_layer.most_common()]
    for k, ms, share in rows[:25]:
        print(f"{ms:8.2f} ms {share:6.3f}  {k}")
    print(f"{total:8.2f} ms summed over ops; {wall_ms:.1f} ms wall per traced step")
    write_results(
        args.json,
        {
            "_meta": {
                "jax": jax.__version__,
                "backend": jax.default_backend(),
                "cpu_count": os.cpu_count(),
                "time": time.strftime("%Y-%m-%d %H:%M:%S"),
            },
            "wall_ms_per_step": round(wall_ms, 2),
            "ops_ms_per_step": round(total, 2),
            "per_layer_ms": rows,
        },
    )


if __name__ == "__main__":
    main()
