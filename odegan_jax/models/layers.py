"""Initialisers and the small building blocks shared by the networks (NHWC).

``conv`` / ``deconv`` take PyTorch's ``padding=p`` convention (the source documents' layer tables
are
written in it); ``sn_apply`` wraps a layer in spectral normalisation on request."""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import Array

from odegan_jax.config import choose

INITS = ("normal", "haiku", "sonnet", "lecun")


def kernel_init(name: str, std: float = 0.02) -> Callable:
    """Weight initialiser by name.

    normal: N(0, std²), as in Yamazaki17 (std 0.1 for 2D models, 0.02 for images) and DCGAN.
    haiku:  truncated normal with stddev 1/√fan_in, cut at ±2 stddev and *not* rescaled
            (haiku.Linear's default, used by the official ODE-GAN notebook).
    sonnet: the same distribution: Sonnet 1's default for Linear, Conv2D and
            Conv2DTranspose (``create_weight_initializer``: TF's truncated normal with
            stddev 1/√fan_in, fan_in = kernel height · width · input channels), which the
            official ODE-GAN TF code's networks use. Biases are zeros in every scheme.
    lecun:  flax's default (truncated normal rescaled to variance 1/fan_in).
    """
    choose("model.init", name, INITS)
    if name == "normal":
        return nn.initializers.normal(stddev=std)
    if name in ("haiku", "sonnet"):

        def init(key: Array, shape, dtype=jnp.float32):
            fan_in = 1
            for dim in shape[:-1]:
                fan_in *= dim
            return jax.random.truncated_normal(key, -2.0, 2.0, shape, dtype) / jnp.sqrt(fan_in)

        return init
    return nn.initializers.lecun_normal()  # lecun


def batch_norm(train: bool, name: str | None = None) -> nn.BatchNorm:
    """BatchNorm with the PyTorch/Chainer convention (running averages decay 0.9)."""
    return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, name=name)


def sonnet_batch_norm(train: bool, name: str | None = None) -> nn.BatchNorm:
    """Sonnet 1's ``BatchNormV2`` defaults (running averages decay 0.999, ε = 1e-3, offset and
    scale), as the official ODE-GAN generator uses it."""
    return nn.BatchNorm(use_running_average=not train, momentum=0.999, epsilon=1e-3, name=name)


# A 4×4 stride-2 transposed convolution with flax padding 2 (PyTorch's padding 1), as
# PyTorch computes it: input pixel m times kernel row k lands on output row 2m + 2 − k, so
# output row 2m + a sums, over (k, s) in _PHASE_TAPS[a], input row m + s times kernel row k.
_PHASE_TAPS = (((0, -1), (2, 0)), ((1, 0), (3, 1)))


class ConvTranspose(nn.ConvTranspose):
    """flax's ``ConvTranspose`` (no kernel flip, explicit padding, NHWC), computing the two
    shapes of the DCGAN generators that XLA's CPU back end runs slowly as convolutions over
    a zero-dilated input in other, mathematically equal forms:

    * stride 2, kernel 4, padding 2, ≥ 16 output channels: sub-pixel, each of the four
      output phases a 2×2 stride-1 convolution with that phase's kernel taps, interleaved
      (depth-to-space). Forward and backward of M0_B's 128→64 layer, batch 64: 318 → 70 ms
      on this CPU (PyTorch 67 ms). Into 1 channel (the last layer) the dilated convolution
      is the faster (7 against 22 ms) and stays;
    * stride 1 on a 1×1 input with padding k − 1 (the first layer of G): a matrix product
      with the spatially flipped kernel.

    Every other shape runs ``lax.conv_transpose`` as flax does. The class keeps flax's name,
    so parameter names, shapes and initial values are those of ``nn.ConvTranspose``
    (checkpoints and seeds are unchanged); outputs agree to float rounding
    (tests/test_models.py)."""

    @nn.compact
    def __call__(self, inputs: jax.Array) -> jax.Array:
        kh, kw = self.kernel_size
        kernel = self.param(
            "kernel", self.kernel_init, (kh, kw, inputs.shape[-1], self.features), self.param_dtype
        )
        bias = (
            self.param("bias", self.bias_init, (self.features,), self.param_dtype)
            if self.use_bias
            else None
        )
        padding, strides = tuple(map(tuple, self.padding)), tuple(self.strides)
        b, h, w, _ = inputs.shape
        sub_pixel = (
            strides == (2, 2)
            and (kh, kw) == (4, 4)
            and padding == ((2, 2), (2, 2))
            and self.features >= 16
        )
        if sub_pixel:
            # output phase (a, c) is a 2×2 stride-1 convolution with the kernel rows and
            # columns of that phase over the input padded on the side its taps reach
            phases = []
            for a in (0, 1):
                row = []
                for c in (0, 1):
                    rows = [k for k, _ in _PHASE_TAPS[a]]
                    cols = [k for k, _ in _PHASE_TAPS[c]]
                    sub = kernel[jnp.asarray(rows)][:, jnp.asarray(cols)]
                    pad = ((1, 0) if a == 0 else (0, 1), (1, 0) if c == 0 else (0, 1))
                    row.append(
                        jax.lax.conv_general_dilated(
                            inputs, sub, (1, 1), pad, dimension_numbers=("NHWC", "HWIO", "NHWC")
                        )
                    )
                phases.append(jnp.stack(row, axis=3))
            y = jnp.stack(phases, axis=2).reshape(b, 2 * h, 2 * w, self.features)
        elif (
            (h, w) == (1, 1)
            and strides == (1, 1)
            and padding == ((kh - 1, kh - 1), (kw - 1, kw - 1))
        ):
            y = jnp.einsum("bc,yxco->byxo", inputs[:, 0, 0, :], kernel[::-1, ::-1])
        else:
            y = jax.lax.conv_transpose(inputs, kernel, strides, padding)
        return y if bias is None else y + bias


def deconv(
    features: int, kernel: int, stride: int, pad: int, init: Callable, use_bias: bool = True
) -> nn.Module:
    """Transposed convolution with PyTorch's ``padding=pad`` (flax pads the dilated input
    k - 1 - pad): :class:`ConvTranspose`."""
    p = kernel - 1 - pad
    return ConvTranspose(
        features,
        (kernel, kernel),
        strides=(stride, stride),
        padding=((p, p), (p, p)),
        kernel_init=init,
        use_bias=use_bias,
    )


def conv(
    features: int, kernel: int, stride: int, pad: int, init: Callable, use_bias: bool = True
) -> nn.Module:
    """Conv with ``pad`` pixels of zero padding on every side (PyTorch's ``padding=pad``)."""
    return nn.Conv(
        features,
        (kernel, kernel),
        strides=(stride, stride),
        padding=((pad, pad), (pad, pad)),
        kernel_init=init,
        use_bias=use_bias,
    )


def sn_apply(layer: nn.Module, spectral_norm: bool, x: Array, train: bool) -> Array:
    """Applies ``layer``, spectrally normalised (flax ``nn.SpectralNorm``) when asked."""
    if spectral_norm:
        return nn.SpectralNorm(layer, collection_name="batch_stats")(x, update_stats=train)
    return layer(x)
