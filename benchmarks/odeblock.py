"""Forward and forward+backward time of the NGAN discriminator's ODE block, in one run.

    python -m benchmarks.odeblock --json benchmarks/results/odeblock.json

The block (Varshney19 Figure 4.2): dh/dt = LReLU(Conv2dTime(17→10, 1×1)(LReLU(Conv2dTime(17→16,
3×3)(
LReLU(Conv2dTime(11→16, 1×1)(h, t)), t)), t)) on a 14×14×10 state, batch 64, t ∈ [0, 1].
Rows, each timed as a jitted forward and a jitted gradient of sum(h(1)²) w.r.t. the weights:

* ``odegan_jax/<solver>/<gradient>``: :class:`odegan_jax.models.odeblock.ODEBlock` with the
  fixed-step solvers (euler, heun, rk4; ``--steps`` steps, unrolled) and the adaptive ones
  (tsit5, dopri5; rtol = atol = 1e-3), gradients by backprop or diffrax's BacksolveAdjoint;
* ``reference/<solver>``: the same fixed-step solve hand-unrolled in plain JAX (``lax.conv``,
  no flax, no diffrax): the floor for the fixed-step rows;
* ``torchdiffeq/<solver>/<gradient>``: torchdiffeq's ``odeint`` / ``odeint_adjoint`` on the same
  function and weights in PyTorch (CPU), when ``torch`` and ``torchdiffeq`` import (install them
  in the benchmark's own environment: ``pip install torch==2.13.0 torchdiffeq``; they are not
  project dependencies);
* ``kernel/conv3x3/{jax,torch}``: the block's dominant operation alone (the 17→16 3×3 conv,
  9/10 of its multiply-adds), forward and gradient w.r.t. input and kernel, in XLA and in
  PyTorch. When both frameworks are bound by this kernel (small tensors on CPU), torchdiffeq /
  ours cannot exceed about torch / jax of this row, whatever the solver code does.

The fixed-step backprop rows and the reference rows also record the size of their compiled
forward+backward program (``compiled_fwd_bwd``: convolutions and entry-computation
instructions), so a timing gap between two programs of the same size reads as noise.

Reports ratios to the reference (target ≤ 1.5 for fixed-step rows) and torchdiffeq / ours
(target ≥ 2). Machines are noisy: compare ratios from one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.common import jax_meta, write_results
from odegan_jax.models.odeblock import ODEBlock

LAYERS = ((16, 1, 0), (16, 3, 1), (10, 1, 0))
SHAPE = (64, 14, 14, 10)  # NHWC
LEAK = 0.2
TABLEAUX = {  # (a rows, b, c) for the hand-unrolled reference
    "euler": ([], [1.0], [0.0]),
    "heun": ([[1.0]], [0.5, 0.5], [0.0, 1.0]),
    "rk4": (
        [[0.5], [0.0, 0.5], [0.0, 0.0, 1.0]],
        [1 / 6, 1 / 3, 1 / 3, 1 / 6],
        [0.0, 0.5, 0.5, 1.0],
    ),
}


def timeit(fn, *args, reps: int) -> float:
    out = fn(*args)
    jax.block_until_ready(out)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def ours(solver: str, gradient: str, steps: int, x, key):
    block = ODEBlock(
        layers=LAYERS,
        activation="leaky_relu",
        leak=LEAK,
        solver=solver,
        steps=steps,
        gradient=gradient,
        rtol=1e-3,
        atol=1e-3,
    )
    params = block.init(key, x)["params"]
    fwd = jax.jit(lambda p, x_: block.apply({"params": p}, x_))
    grad = jax.jit(jax.grad(lambda p, x_: jnp.sum(block.apply({"params": p}, x_) ** 2)))
    return params, fwd, grad


def _layers_from(params):
    """[(kernel HWIO, bias)] of the block's three TimeConv layers, in order."""
    func = params["func"]
    return [
        (func[f"TimeConv_{i}"]["Conv_0"]["kernel"], func[f"TimeConv_{i}"]["Conv_0"]["bias"])
        for i in range(len(LAYERS))
    ]


def reference(solver: str, steps: int):
    """The fixed-step solve hand-unrolled in plain JAX."""
    a_rows, b, c = TABLEAUX[solver]

    def f(layers, t, h):
        for (kernel, bias), (_, _k, p) in zip(layers, LAYERS):
            tt = jnp.full(h.shape[:-1] + (1,), t, h.dtype)
            h = jax.lax.conv_general_dilated(
                jnp.concatenate([tt, h], -1),
                kernel,
                (1, 1),
                ((p, p), (p, p)),
                dimension_numbers=("NHWC", "HWIO", "NHWC"),
            )
            h = jax.nn.leaky_relu(h + bias, LEAK)
        return h

    def solve(layers, y):
        dt = 1.0 / steps
        for i in range(steps):
            t = i * dt
            ks = [f(layers, t, y)]
            for row, ci in zip(a_rows, c[1:]):
                ks.append(f(layers, t + ci * dt, y + dt * sum(a * k for a, k in zip(row, ks))))
            y = y + dt * sum(bi * k for bi, k in zip(b, ks))
        return y

    fwd = jax.jit(solve)
    grad = jax.jit(jax.grad(lambda layers, y: jnp.sum(solve(layers, y) ** 2)))
    return fwd, grad


def torch_rows(params, x, steps: int, reps: int, threads: int, use_cuda: bool = False):
    try:
        import torch
        from torchdiffeq import odeint, odeint_adjoint
    except ImportError as e:
        print(f"torchdiffeq rows skipped ({e}); pip install torch==2.13.0 torchdiffeq")
        return {}
    torch.set_num_threads(threads)

    class Func(torch.nn.Module):
        def __init__(self, layers):
            super().__init__()
            self.convs = torch.nn.ModuleList()
            for (kernel, bias), (_, k, p) in zip(layers, LAYERS):
                kernel = np.asarray(kernel)  # HWIO -> OIHW
                conv = torch.nn.Conv2d(kernel.shape[2], kernel.shape[3], k, padding=p)
                conv.weight.data = torch.from_numpy(
                    np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))
                )
                conv.bias.data = torch.from_numpy(np.asarray(bias).copy())
                self.convs.append(conv)

        def forward(self, t, h):
            for conv in self.convs:
                tt = torch.ones_like(h[:, :1]) * t
                h = torch.nn.functional.leaky_relu(conv(torch.cat([tt, h], 1)), LEAK)
            return h

    device = "cuda" if use_cuda and torch.cuda.is_available() else "cpu"
    func = Func(_layers_from(params)).to(device)
    x_t = torch.from_numpy(np.ascontiguousarray(np.asarray(x).transpose(0, 3, 1, 2))).to(device)
    t = torch.tensor([0.0, 1.0], device=device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    rows = {}
    for solver, opts in (
        ("euler", {"method": "euler", "options": {"step_size": 1 / steps}}),
        ("heun", {"method": "heun2", "options": {"step_size": 1 / steps}}),
        ("rk4", {"method": "rk4", "options": {"step_size": 1 / steps}}),
        ("dopri5", {"method": "dopri5", "rtol": 1e-3, "atol": 1e-3}),
    ):
        for gradient, integrate in (("backprop", odeint), ("adjoint", odeint_adjoint)):

            def forward():
                with torch.no_grad():
                    out = integrate(func, x_t, t, **opts)[-1]
                sync()
                return out

            def backward():
                func.zero_grad()
                loss = (integrate(func, x_t, t, **opts)[-1] ** 2).sum()
                loss.backward()
                sync()
                return loss

            fwd_ms = _torch_time(forward, reps)
            bwd_ms = _torch_time(backward, reps)
            rows[f"torchdiffeq/{solver}/{gradient}"] = {
                "forward_ms": fwd_ms,
                "forward_backward_ms": bwd_ms,
                "device": device,
            }
            print(
                f"torchdiffeq/{solver}/{gradient:9s} fwd {fwd_ms:9.2f} ms  "
                f"fwd+bwd {bwd_ms:9.2f} ms",
                flush=True,
            )
    return rows


def conv_kernel_rows(reps: int, threads: int, use_torch: bool) -> dict:
    """The 17→16 3×3 conv of the block on a [64, 14, 14, 17] input, in XLA and in PyTorch."""
    (features_in, _, _), (features, k, p), _ = LAYERS
    x = jax.random.normal(jax.random.PRNGKey(2), SHAPE[:3] + (features_in + 1,))  # + t channel
    kernel = 0.1 * jax.random.normal(jax.random.PRNGKey(3), (k, k, x.shape[-1], features))

    def conv(kernel, x):
        return jax.lax.conv_general_dilated(
            x, kernel, (1, 1), ((p, p), (p, p)), dimension_numbers=("NHWC", "HWIO", "NHWC")
        )

    grad = jax.jit(jax.grad(lambda kernel, x: jnp.sum(conv(kernel, x) ** 2), argnums=(0, 1)))
    rows = {
        "kernel/conv3x3/jax": time_row(
            "kernel/conv3x3/jax        ", jax.jit(conv), grad, kernel, x, reps
        )
    }
    if not use_torch:
        return rows
    try:
        import torch
    except ImportError:
        return rows
    torch.set_num_threads(threads)
    x_t = torch.from_numpy(np.ascontiguousarray(np.asarray(x).transpose(0, 3, 1, 2)))
    w_t = torch.from_numpy(np.ascontiguousarray(np.asarray(kernel).transpose(3, 2, 0, 1)))
    x_t.requires_grad_(True)
    w_t.requires_grad_(True)

    def forward():
        with torch.no_grad():
            return torch.nn.functional.conv2d(x_t, w_t, padding=p)

    def backward():
        x_t.grad = w_t.grad = None
        (torch.nn.functional.conv2d(x_t, w_t, padding=p) ** 2).sum().backward()

    row = {
        "forward_ms": _torch_time(forward, reps),
        "forward_backward_ms": _torch_time(backward, reps),
    }
    print(
        f"kernel/conv3x3/torch       fwd {row['forward_ms']:9.2f} ms  "
        f"fwd+bwd {row['forward_backward_ms']:9.2f} ms",
        flush=True,
    )
    rows["kernel/conv3x3/torch"] = row
    return rows


def _torch_time(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 3)


def compiled_ops(fn, *args) -> dict:
    """Size of the compiled program: convolutions (XLA's or cuDNN's) and top-level
    instructions of the entry computation (about one kernel launch each on a GPU)."""
    text = fn.lower(*args).compile().as_text()
    entry = text[text.index("ENTRY") :]
    entry = entry[: entry.index("\n}")]
    return {
        "convolutions": text.count(" convolution(") + text.count("cudnn$conv"),
        "entry_instructions": sum(1 for line in entry.splitlines()[1:] if " = " in line),
    }


def time_row(label: str, fwd, grad, weights, x, reps: int) -> dict:
    """Forward and forward+backward medians of one row, printed as they are measured."""
    row = {
        "forward_ms": round(timeit(fwd, weights, x, reps=reps), 3),
        "forward_backward_ms": round(timeit(grad, weights, x, reps=reps), 3),
    }
    print(
        f"{label} fwd {row['forward_ms']:9.2f} ms  fwd+bwd {row['forward_backward_ms']:9.2f} ms",
        flush=True,
    )
    return row


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--json")
    p.add_argument("--steps", type=int, default=4, help="fixed-step solver steps")
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--torch-cuda", action="store_true", help="run torchdiffeq on the GPU")
    args = p.parse_args(argv)
    key = jax.random.PRNGKey(0)
    x = jax.random.normal(jax.random.PRNGKey(1), SHAPE)
    results = {"_meta": jax_meta(steps=args.steps, shape=SHAPE)}
    rows = {}
    params = None
    for solver in ("euler", "heun", "rk4", "tsit5", "dopri5"):
        for gradient in ("backprop", "adjoint"):
            params, fwd, grad = ours(solver, gradient, args.steps, x, key)
            rows[f"odegan_jax/{solver}/{gradient}"] = time_row(
                f"odegan_jax/{solver}/{gradient:9s}", fwd, grad, params, x, args.reps
            )
            if solver in TABLEAUX and gradient == "backprop":
                rows[f"odegan_jax/{solver}/{gradient}"]["compiled_fwd_bwd"] = compiled_ops(
                    grad, params, x
                )
    layers = _layers_from(params)
    for solver in TABLEAUX:
        fwd, grad = reference(solver, args.steps)
        rows[f"reference/{solver}"] = time_row(
            f"reference/{solver:16s}", fwd, grad, layers, x, args.reps
        )
        rows[f"reference/{solver}"]["compiled_fwd_bwd"] = compiled_ops(grad, layers, x)
        print(
            f"compiled fwd+bwd {solver}: odegan_jax "
            f"{rows[f'odegan_jax/{solver}/backprop']['compiled_fwd_bwd']}, reference "
            f"{rows[f'reference/{solver}']['compiled_fwd_bwd']}",
            flush=True,
        )
    if not args.no_torch:
        rows.update(
            torch_rows(params, x, args.steps, args.reps, os.cpu_count() or 1, args.torch_cuda)
        )
    rows.update(
        conv_kernel_rows(
            args.reps, os.cpu_count() or 1, use_torch=not args.no_torch and not args.torch_cuda
        )
    )
    results["rows"] = rows
    ratios = {}
    for solver in TABLEAUX:
        ref, mine = rows[f"reference/{solver}"], rows[f"odegan_jax/{solver}/backprop"]
        ratios[f"{solver}: odegan_jax / reference"] = {
            k: round(mine[k] / ref[k], 3) for k in ("forward_ms", "forward_backward_ms")
        }
    for name in ("euler", "heun", "rk4", "dopri5"):
        for gradient in ("backprop", "adjoint"):
            theirs = rows.get(f"torchdiffeq/{name}/{gradient}")
            if theirs:
                mine = rows[f"odegan_jax/{name}/{gradient}"]
                ratios[f"{name}/{gradient}: torchdiffeq / odegan_jax"] = {
                    k: round(theirs[k] / mine[k], 3) for k in ("forward_ms", "forward_backward_ms")
                }
    if "kernel/conv3x3/torch" in rows:
        ratios["conv3x3 kernel: torch / jax"] = {
            k: round(rows["kernel/conv3x3/torch"][k] / rows["kernel/conv3x3/jax"][k], 3)
            for k in ("forward_ms", "forward_backward_ms")
        }
    results["ratios"] = ratios
    for k, v in ratios.items():
        print(f"{k:45s} fwd {v['forward_ms']:6.2f}  fwd+bwd {v['forward_backward_ms']:6.2f}")
    write_results(args.json, results)


if __name__ == "__main__":
    main()
