"""Fully connected networks for 2D data.

* :class:`MLP`: the official ODE-GAN notebook's network (depth × width ReLU, no BatchNorm).
* :class:`ResidualMLP`: 001 Table A.1. ``num_blocks=0`` is M0_A (Linear-32 ×2 + output),
  ``num_blocks=7`` is M1_A: the second hidden layer is replaced by 7 residual blocks of two
  Linear-32 layers each, giving 1 + 14 + 1 = 16 linear layers per network as the text says.
  A block computes ``h + act(BN(W₂ act(BN(W₁ h))))``.
"""
from __future__ import annotations

from typing import Callable, Sequence

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from odegan_jax.models.layers import batch_norm, kernel_init


class MLP(nn.Module):
    """ReLU MLP on flattened inputs. ``out_shape`` an int or a per-sample shape; image shapes
    (rank 3) get a tanh output in [−1, 1] (002's vanilla GAN)."""
    hidden: Sequence[int] = (25, 25)
    out_shape: int | Sequence[int] = 2
    init_scheme: str = "haiku"
    init_std: float = 0.1

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = True) -> jnp.ndarray:
        del train
        k_init = kernel_init(self.init_scheme, self.init_std)
        shape = (self.out_shape,) if isinstance(self.out_shape, int) else tuple(self.out_shape)
        x = x.reshape(x.shape[0], -1)
        for width in self.hidden:
            x = nn.relu(nn.Dense(width, kernel_init=k_init)(x))
        out = nn.Dense(int(np.prod(shape)), kernel_init=k_init)(x)
        if len(shape) == 3:
            out = jnp.tanh(out)
        return out.reshape((x.shape[0],) + shape)


class ResidualMLP(nn.Module):
    """001 Table A.1 (M0_A / M1_A); ``discriminator`` picks the D column of the table."""
    out_dim: int
    width: int = 32
    num_blocks: int = 0
    batchnorm: bool = True
    discriminator: bool = False
    init_scheme: str = "normal"
    init_std: float = 0.1
    leak: float = 0.2

    def _act(self) -> Callable:
        if self.discriminator:
            return lambda h: nn.leaky_relu(h, self.leak)
        return nn.relu

    def _layer(self, h, train: bool, use_bn: bool):
        h = nn.Dense(self.width, kernel_init=kernel_init(self.init_scheme, self.init_std))(h)
        if use_bn:
            h = batch_norm(train)(h)
        return self._act()(h)

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = True) -> jnp.ndarray:
        x = x.reshape(x.shape[0], -1)
        # D's first layer has no BatchNorm (DCGAN practice, Table A.1).
        h = self._layer(x, train, self.batchnorm and not self.discriminator)
        if self.num_blocks == 0:
            h = self._layer(h, train, self.batchnorm)
        for _ in range(self.num_blocks):
            r = self._layer(h, train, self.batchnorm)
            h = h + self._layer(r, train, self.batchnorm)
        return nn.Dense(self.out_dim, kernel_init=kernel_init(self.init_scheme, self.init_std))(h)
