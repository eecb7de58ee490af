"""DCGAN-28 (Yamazaki17 M0_B) layer by layer: each layer of ours (``odegan_jax.models.dcgan``'s own
modules, compiled with the image training programs' CPU options) next to the same layer in
PyTorch, forward and forward + backward, in one run, alternating fresh processes.

    python -m experiments.dcgan_layers_vs_torch --torch-python ~/.venvs/odegan-torch/bin/python \\
        --rounds 2 --json experiments/results/dcgan_layers_vs_torch.json

Where the DCGAN-28 step stays slower than PyTorch's, this shows whether the kernels are the
wall. ``dcgan_vs_torch.py`` times the whole Adam step; ``dcgan_layers.py``
splits ours by layer from a profiler trace. This one times each layer alone in both
frameworks, so the ratio per layer is measured in one run rather than estimated.

Layers, batch 64 (D's layers run once here; the step runs them on the real and the fake
batch): G's 7×7/1 transposed conv 100→128 on the 1×1 latent, its 4×4/2 128→64 and 64→1
transposed convs, D's 4×4/2 1→64 and 64→128 convs, BatchNorm (training mode) over G's
7×7×128 and D's 7×7×128 maps, D's dense 6272→1. Forward + backward is the gradient of
``sum(y · c)`` (a fixed random cotangent ``c``) with respect to the input and the
parameters, as the GAN step needs both. Each time is the median of ``--reps`` calls after
warm-up; PyTorch with its default intra-op threads (= the cores) and glibc's allocator
defaults, ours with ``xla_cpu.retain_freed_memory()`` as ``odegan`` runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

from benchmarks.common import print_result, run_child, write_results

BATCH = 64
# name -> (input shape NHWC, kind, args): kind "deconv"/"conv" (out channels, kernel, stride,
# PyTorch padding), "bn" (), "dense" (out features)
LAYERS = {
    "G deconv 7x7/1 100->128": ((1, 1, 100), "deconv", (128, 7, 1, 0)),
    "G deconv 4x4/2 128->64": ((7, 7, 128), "deconv", (64, 4, 2, 1)),
    "G deconv 4x4/2 64->1": ((14, 14, 64), "deconv", (1, 4, 2, 1)),
    "D conv 4x4/2 1->64": ((28, 28, 1), "conv", (64, 4, 2, 1)),
    "D conv 4x4/2 64->128": ((14, 14, 64), "conv", (128, 4, 2, 1)),
    "BN 7x7x128": ((7, 7, 128), "bn", ()),
    "BN 14x14x64": ((14, 14, 64), "bn", ()),
    "D dense 6272->1": ((7, 7, 128), "dense", (1,)),
}


def _median_ms(fn, reps: int) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - t0))
    return statistics.median(times)


def _torch_child(reps: int) -> dict:
    import torch
    from torch import nn

    torch.manual_seed(0)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "layers": {}}
    for name, (shape, kind, args) in LAYERS.items():
        h, w, c = shape
        x = torch.randn(BATCH, c, h, w, requires_grad=True)
        if kind == "deconv":
            layer = nn.ConvTranspose2d(c, args[0], args[1], args[2], args[3])
        elif kind == "conv":
            layer = nn.Conv2d(c, args[0], args[1], args[2], args[3])
        elif kind == "bn":
            layer = nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)
        else:
            layer = nn.Sequential(nn.Flatten(), nn.Linear(h * w * c, args[0]))
        layer.train()
        with torch.no_grad():
            cot = torch.randn_like(layer(x))
        params = list(layer.parameters())

        def forward():
            with torch.no_grad():
                layer(x).sum().item()

        def backward():
            y = layer(x)
            grads = torch.autograd.grad((y * cot).sum(), [x] + params)
            grads[0].sum().item()

        out["layers"][name] = {
            "forward_ms": round(_median_ms(forward, reps), 3),
            "forward_backward_ms": round(_median_ms(backward, reps), 3),
        }
    return out


def _jax_child(reps: int) -> dict:
    import flax.linen as nn
    import jax
    import jax.numpy as jnp

    from odegan_jax import xla_cpu
    from odegan_jax.models.layers import batch_norm, conv, deconv, kernel_init

    xla_cpu.retain_freed_memory()  # as an `odegan` process runs

    init = kernel_init("normal", 0.02)
    options = xla_cpu.compiler_options((28, 28, 1))
    out = {"jax": jax.__version__, "compiler_options": options, "layers": {}}
    for i, (name, (shape, kind, args)) in enumerate(LAYERS.items()):
        kx, kp, kc = jax.random.split(jax.random.PRNGKey(i), 3)
        x = jax.random.normal(kx, (BATCH, *shape), jnp.float32)
        if kind == "deconv":
            module = deconv(args[0], args[1], args[2], args[3], init)
        elif kind == "conv":
            module = conv(args[0], args[1], args[2], args[3], init)
        elif kind == "bn":
            module = batch_norm(True)
        else:

            class Flat(nn.Module):
                @nn.compact
                def __call__(self, v):
                    return nn.Dense(args[0], kernel_init=init)(v.reshape(v.shape[0], -1))

            module = Flat()
        variables = module.init(kp, x)
        params = variables["params"]
        state = {k: v for k, v in variables.items() if k != "params"}

        def apply(p, v):
            if state:
                y, _ = module.apply({"params": p, **state}, v, mutable=list(state))
                return y
            return module.apply({"params": p}, v)

        cot = jax.random.normal(kc, apply(params, x).shape, jnp.float32)
        fwd = jax.jit(lambda p, v: jnp.sum(apply(p, v)), compiler_options=options)
        bwd = jax.jit(
            jax.grad(lambda p, v, c: jnp.sum(apply(p, v) * c), argnums=(0, 1)),
            compiler_options=options,
        )
        out["layers"][name] = {
            "forward_ms": round(_median_ms(lambda: fwd(params, x).block_until_ready(), reps), 3),
            "forward_backward_ms": round(
                _median_ms(lambda: jax.block_until_ready(bwd(params, x, cot)), reps), 3
            ),
        }
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--torch-python", default=os.path.expanduser("~/.venvs/odegan-torch/bin/python"))
    p.add_argument("--rounds", type=int, default=2, help="alternations of torch / ours")
    p.add_argument("--reps", type=int, default=30)
    p.add_argument("--json")
    p.add_argument("--child", choices=["torch", "jax"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        res = _torch_child(args.reps) if args.child == "torch" else _jax_child(args.reps)
        print_result(res)
        return
    rounds = []
    for r in range(args.rounds):
        row = {}
        for who, python in (("torch", args.torch_python), ("ours", sys.executable)):
            cmd = [
                python,
                "-m",
                __spec__.name,
                "--child",
                "torch" if who == "torch" else "jax",
                "--reps",
                str(args.reps),
            ]
            row[who], err = run_child(cmd)
            if row[who] is None:
                sys.exit(f"{who} child failed:\n{err}")
        rounds.append(row)
        print(f"round {r + 1}:", flush=True)
        for name in LAYERS:
            t, o = row["torch"]["layers"][name], row["ours"]["layers"][name]
            print(
                f"  {name:26s} fwd torch {t['forward_ms']:7.2f} ours {o['forward_ms']:7.2f}"
                f"  fwd+bwd torch {t['forward_backward_ms']:7.2f} ours "
                f"{o['forward_backward_ms']:7.2f}  "
                f"ratio {t['forward_backward_ms'] / o['forward_backward_ms']:.2f}",
                flush=True,
            )
    summary = {}
    for name in LAYERS:
        t = statistics.median(x["torch"]["layers"][name]["forward_backward_ms"] for x in rounds)
        o = statistics.median(x["ours"]["layers"][name]["forward_backward_ms"] for x in rounds)
        summary[name] = {
            "torch_fwd_bwd_ms": round(t, 3),
            "ours_fwd_bwd_ms": round(o, 3),
            "torch_over_ours": round(t / o, 3),
        }
    results = {
        "_meta": {
            "time": time.strftime("%Y-%m-%d %H:%M:%S"),
            "cpu_count": os.cpu_count(),
            "machine": platform.processor() or platform.machine(),
            "load_before": os.getloadavg(),
            "batch": BATCH,
            "reps": args.reps,
        },
        "rounds": rounds,
        "summary_median_over_rounds": summary,
    }
    write_results(args.json, results)


if __name__ == "__main__":
    main()
