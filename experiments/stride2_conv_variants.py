"""M0_B's two 4×4 stride-2 layers, batch 64, forward and forward+backward on this CPU, in
other mathematically equal forms, against the layers as they are.

    python -m experiments.stride2_conv_variants            # G's 128→64 transposed conv
    python -m experiments.stride2_conv_variants --layer d  # D's 64→128 conv

``--layer g`` (7×7×128 → 14×14×64), against ``models.layers.ConvTranspose`` (four sub-pixel
2×2 convolutions, interleaved):

* ``im2col``: each phase as one matrix product of 2×2 patches (built by concatenating four
  shifted slices) with that phase's kernel taps;
* ``batched``: the four products as one batched ``einsum``;
* ``grouped``: one convolution with ``feature_group_count=4`` over the four shifted inputs;
* ``hybrid``: ``im2col``'s forward with a ``custom_vjp``: the input gradient is the current
  layer's, each phase's weight gradient one matrix product of its saved patches with that
  phase of the output gradient.

``--layer d`` (14×14×64 → 7×7×128, PyTorch padding 1), against flax's ``nn.Conv``:
``im2col`` (one matrix product of the 4×4 patches, built from 16 strided slices) and
``hybrid`` (its forward; the current input gradient; the weight gradient one product of the
patches with the output gradient).

Prints each variant's largest difference from the current layer (outputs; for ``hybrid`` the
gradients too) and median times over 20 calls, two rounds. A probe: the
layers are not changed by it.
"""

import argparse
import statistics
import time

import flax.linen as nn
import jax
import jax.numpy as jnp

from odegan_jax.models.layers import _PHASE_TAPS, ConvTranspose

B, H, C, O = 64, 7, 128, 64
PHASES = ((0, 0), (0, 1), (1, 0), (1, 1))
LAYER = ConvTranspose(O, (4, 4), strides=(2, 2), padding=((2, 2), (2, 2)), use_bias=False)


def current(x, k):
    return LAYER.apply({"params": {"kernel": k}}, x)


def _taps(a: int):
    return jnp.asarray([tap for tap, _ in _PHASE_TAPS[a]])


def phase_kernels(k) -> list:
    """The 2×2 kernel of each output phase, in PHASES order."""
    return [k[_taps(a)][:, _taps(c)] for a, c in PHASES]


def patches(x) -> list:
    """Per phase, the 2×2 input patches of every output position: ``[b·h·w, 4·C]``."""
    b, h, w, cin = x.shape
    xp = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    return [
        jnp.concatenate(
            [xp[:, a + dy : a + dy + h, c + dx : c + dx + w, :] for dy in (0, 1) for dx in (0, 1)],
            axis=-1,
        ).reshape(-1, 4 * cin)
        for a, c in PHASES
    ]


def interleave(outs: list, b: int, h: int, w: int):
    y = jnp.stack([jnp.stack(outs[0:2], 3), jnp.stack(outs[2:4], 3)], 2)
    return y.reshape(b, 2 * h, 2 * w, -1)


def im2col(x, k):
    b, h, w, cin = x.shape
    return interleave(
        [
            (p @ s.reshape(4 * cin, -1)).reshape(b, h, w, -1)
            for p, s in zip(patches(x), phase_kernels(k))
        ],
        b,
        h,
        w,
    )


def batched(x, k):
    b, h, w, cin = x.shape
    kernels = jnp.stack([s.reshape(4 * cin, -1) for s in phase_kernels(k)])
    y = jnp.einsum("pnk,pko->pno", jnp.stack(patches(x)), kernels).reshape(2, 2, b, h, w, -1)
    return y.transpose(2, 3, 0, 4, 1, 5).reshape(b, 2 * h, 2 * w, -1)


def grouped(x, k):
    b, h, w, cin = x.shape
    xp = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    shifted = jnp.concatenate([xp[:, a : a + h + 1, c : c + w + 1, :] for a, c in PHASES], -1)
    y = jax.lax.conv_general_dilated(
        shifted,
        jnp.concatenate(phase_kernels(k), axis=-1),
        (1, 1),
        "VALID",
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
        feature_group_count=4,
    )
    return y.reshape(b, h, w, 2, 2, -1).transpose(0, 1, 3, 2, 4, 5).reshape(b, 2 * h, 2 * w, -1)


def with_patch_gradient(forward, layer, kernel_gradient):
    """``forward`` with a ``custom_vjp``: the input gradient is ``layer``'s (the current
    form's), the kernel gradient ``kernel_gradient(x, output gradient, kernel)``."""

    @jax.custom_vjp
    def f(x, k):
        return forward(x, k)

    def f_bwd(res, gy):
        x, k = res
        return jax.vjp(lambda x_: layer(x_, k), x)[1](gy)[0], kernel_gradient(x, gy, k)

    f.defvjp(lambda x, k: (forward(x, k), (x, k)), f_bwd)
    return f


def _phase_kernel_gradient(x, gy, k):
    """Each phase's 2×2 kernel gradient, one product of its patches with that phase of the
    output gradient, scattered back into the 4×4 kernel (each tap is one phase's)."""
    dk = jnp.zeros_like(k)
    for (a, c), p in zip(PHASES, patches(x)):
        d = (p.T @ gy[:, a::2, c::2, :].reshape(-1, gy.shape[-1])).reshape(2, 2, x.shape[-1], -1)
        dk = dk.at[_taps(a)[:, None], _taps(c)[None, :]].add(d)
    return dk


hybrid = with_patch_gradient(im2col, current, _phase_kernel_gradient)


D_CONV = nn.Conv(128, (4, 4), strides=(2, 2), padding=((1, 1), (1, 1)), use_bias=False)


def d_current(x, k):
    return D_CONV.apply({"params": {"kernel": k}}, x)


def d_patches(x):
    """The 4×4 stride-2 patches (padding 1) of every output position: ``[b·h/2·w/2, 16·C]``."""
    b, h, w, c = x.shape
    xp = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    return jnp.concatenate(
        [xp[:, i : i + h : 2, j : j + w : 2, :] for i in range(4) for j in range(4)], -1
    ).reshape(-1, 16 * c)


def d_im2col(x, k):
    b, h, w, c = x.shape
    return (d_patches(x) @ k.reshape(16 * c, -1)).reshape(b, h // 2, w // 2, -1)


d_hybrid = with_patch_gradient(
    d_im2col,
    d_current,
    lambda x, gy, k: (d_patches(x).T @ gy.reshape(-1, gy.shape[-1])).reshape(k.shape),
)


OPTIONS: dict = {}  # compiler options (--no-ynn: the training programs' on CPU)


def timed(f, x, k, g, reps: int = 20) -> tuple[float, float]:
    """Median ms of the jitted forward and of forward + backward (the pullback of g)."""
    out = []
    for fn in (
        jax.jit(f, compiler_options=OPTIONS),
        jax.jit(lambda x, k: jax.vjp(f, x, k)[1](g), compiler_options=OPTIONS),
    ):
        jax.block_until_ready(fn(x, k))
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            jax.block_until_ready(fn(x, k))
            ts.append(1000 * (time.perf_counter() - t0))
        out.append(statistics.median(ts))
    return out[0], out[1]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--layer", choices=["g", "d"], default="g")
    p.add_argument(
        "--no-ynn",
        action="store_true",
        help="compile as training does on CPU (xla_cpu.CPU_TRAINING_OPTIONS)",
    )
    args = p.parse_args(argv)
    if args.no_ynn:
        from odegan_jax import xla_cpu

        OPTIONS.update(xla_cpu.CPU_TRAINING_OPTIONS)
    if args.layer == "g":
        shapes = ((B, H, H, C), (4, 4, C, O), (B, 2 * H, 2 * H, O))
        variants = {
            "current": current,
            "im2col": im2col,
            "batched": batched,
            "grouped": grouped,
            "hybrid": hybrid,
        }
    else:
        shapes = ((B, 2 * H, 2 * H, O), (4, 4, O, C), (B, H, H, C))
        variants = {"current": d_current, "im2col": d_im2col, "hybrid": d_hybrid}
    x, k, g = (jax.random.normal(jax.random.PRNGKey(i), shape) for i, shape in enumerate(shapes))
    k = k * 0.02
    ref = variants["current"](x, k)
    grads = jax.jit(lambda x, k: jax.vjp(variants["current"], x, k)[1](g))(x, k)
    hybrid_grads = jax.jit(lambda x, k: jax.vjp(variants["hybrid"], x, k)[1](g))(x, k)
    for name, f in variants.items():
        print(f"{name}: max |output − current| {float(jnp.max(jnp.abs(f(x, k) - ref))):.3g}")
    print(
        "hybrid: max |gradient − current| input "
        f"{float(jnp.max(jnp.abs(hybrid_grads[0] - grads[0]))):.3g}, kernel "
        f"{float(jnp.max(jnp.abs(hybrid_grads[1] - grads[1]))):.3g} "
        f"(largest kernel gradient {float(jnp.max(jnp.abs(grads[1]))):.3g})"
    )
    for rnd in range(2):
        for name, f in variants.items():
            fwd, both = timed(f, x, k, g)
            print(f"round {rnd} {name:8s} forward {fwd:6.1f} ms, forward+backward {both:6.1f} ms")


if __name__ == "__main__":
    main()
