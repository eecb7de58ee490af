"""Initialisers and the small building blocks shared by the networks (NHWC).

``conv`` / ``deconv`` take PyTorch's ``padding=p`` convention (the seeds' layer tables are
written in it); ``sn_apply`` wraps a layer in spectral normalisation on request."""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from odegan_jax.config import choose

INITS = ("normal", "haiku", "lecun")


def kernel_init(name: str, std: float = 0.02):
    """Weight initialiser by name.

    normal: N(0, std²), as in 001 (std 0.1 for 2D models, 0.02 for images) and DCGAN.
    haiku:  truncated normal with stddev 1/√fan_in, cut at ±2 stddev and *not* rescaled
            (haiku.Linear's default, used by the official ODE-GAN notebook).
    lecun:  flax's default (truncated normal rescaled to variance 1/fan_in).
    """
    choose("model.init", name, INITS)
    if name == "normal":
        return nn.initializers.normal(stddev=std)
    if name == "haiku":
        def init(key, shape, dtype=jnp.float32):
            fan_in = 1
            for dim in shape[:-1]:
                fan_in *= dim
            return jax.random.truncated_normal(key, -2.0, 2.0, shape, dtype) / jnp.sqrt(fan_in)
        return init
    return nn.initializers.lecun_normal()  # lecun


def batch_norm(train: bool, name: str | None = None) -> nn.BatchNorm:
    """BatchNorm with the PyTorch/Chainer convention (running averages decay 0.9)."""
    return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, name=name)


def deconv(features: int, kernel: int, stride: int, pad: int, init, use_bias: bool = True):
    """ConvTranspose with PyTorch's ``padding=pad`` (flax pads the dilated input k - 1 - pad)."""
    p = kernel - 1 - pad
    return nn.ConvTranspose(features, (kernel, kernel), strides=(stride, stride),
                            padding=((p, p), (p, p)), kernel_init=init, use_bias=use_bias)


def conv(features: int, kernel: int, stride: int, pad: int, init, use_bias: bool = True):
    """Conv with ``pad`` pixels of zero padding on every side (PyTorch's ``padding=pad``)."""
    return nn.Conv(features, (kernel, kernel), strides=(stride, stride),
                   padding=((pad, pad), (pad, pad)), kernel_init=init, use_bias=use_bias)


def sn_apply(layer: nn.Module, spectral_norm: bool, x, train: bool):
    """Applies ``layer``, spectrally normalised (flax ``nn.SpectralNorm``) when asked."""
    if spectral_norm:
        return nn.SpectralNorm(layer, collection_name="batch_stats")(x, update_stats=train)
    return layer(x)
