"""DCGAN networks for images (NHWC).

:class:`DCGANGenerator28` / :class:`DCGANDiscriminator28` are 001 Table A.2 M0_B (28×28×1):
G: z → deconv 7×7/1 128 BN ReLU → deconv 4×4/2 64 BN ReLU → deconv 4×4/2 1 tanh;
D: conv 4×4/2 64 LReLU → conv 4×4/2 128 BN LReLU → linear 1.
Transposed convolutions use the padding of PyTorch/Chainer's ``pad=1`` (flax pads the dilated
input by ``k - 1 - pad``).
"""
from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from odegan_jax.models.layers import batch_norm, kernel_init


def _deconv(features: int, kernel: int, stride: int, pad: int, init):
    p = kernel - 1 - pad
    return nn.ConvTranspose(features, (kernel, kernel), strides=(stride, stride),
                            padding=((p, p), (p, p)), kernel_init=init)


def _conv(features: int, kernel: int, stride: int, pad: int, init):
    return nn.Conv(features, (kernel, kernel), strides=(stride, stride),
                   padding=((pad, pad), (pad, pad)), kernel_init=init)


class DCGANGenerator28(nn.Module):
    channels: int = 1
    init_scheme: str = "normal"
    init_std: float = 0.02

    @nn.compact
    def __call__(self, z: jnp.ndarray, train: bool = True) -> jnp.ndarray:
        init = kernel_init(self.init_scheme, self.init_std)
        h = z.reshape(z.shape[0], 1, 1, -1)
        h = nn.relu(batch_norm(train)(_deconv(128, 7, 1, 0, init)(h)))  # 7×7
        h = nn.relu(batch_norm(train)(_deconv(64, 4, 2, 1, init)(h)))  # 14×14
        return jnp.tanh(_deconv(self.channels, 4, 2, 1, init)(h))  # 28×28


class DCGANDiscriminator28(nn.Module):
    batchnorm: bool = True
    init_scheme: str = "normal"
    init_std: float = 0.02
    leak: float = 0.2

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = True) -> jnp.ndarray:
        init = kernel_init(self.init_scheme, self.init_std)
        h = nn.leaky_relu(_conv(64, 4, 2, 1, init)(x), self.leak)  # 14×14
        h = _conv(128, 4, 2, 1, init)(h)  # 7×7
        if self.batchnorm:
            h = batch_norm(train)(h)
        h = nn.leaky_relu(h, self.leak)
        return nn.Dense(1, kernel_init=init)(h.reshape(h.shape[0], -1))
