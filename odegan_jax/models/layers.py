"""Initialisers and small building blocks shared by the networks."""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

INITS = ("normal", "haiku", "lecun")


def kernel_init(name: str, std: float = 0.02):
    """Weight initialiser by name.

    normal: N(0, std²), as in 001 (std 0.1 for 2D models, 0.02 for images) and DCGAN.
    haiku:  truncated normal with stddev 1/√fan_in, cut at ±2 stddev and *not* rescaled
            (haiku.Linear's default, used by the official ODE-GAN notebook).
    lecun:  flax's default (truncated normal rescaled to variance 1/fan_in).
    """
    if name == "normal":
        return nn.initializers.normal(stddev=std)
    if name == "haiku":
        def init(key, shape, dtype=jnp.float32):
            fan_in = 1
            for dim in shape[:-1]:
                fan_in *= dim
            return jax.random.truncated_normal(key, -2.0, 2.0, shape, dtype) / jnp.sqrt(fan_in)
        return init
    if name == "lecun":
        return nn.initializers.lecun_normal()
    raise ValueError(f"unknown init {name!r}; allowed: {', '.join(INITS)}")


def batch_norm(train: bool, name: str | None = None) -> nn.BatchNorm:
    """BatchNorm with the PyTorch/Chainer convention (running averages decay 0.9)."""
    return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, name=name)
