"""The SN-GAN ResNet for 32×32 images (Miyato et al. 2018; Qin20 Figs 12 / 13 on CIFAR-10).

G: linear → 4×4×width, three up-sampling residual blocks (BN, ReLU, nearest ×2, two 3×3
convs, a 1×1 shortcut), BN ReLU, 3×3 conv to the channels, tanh. D: an optimised first block
(conv, pool, then a pooled 1×1 shortcut), a down-sampling block and two plain blocks, ReLU,
global sum pooling, linear. ``spectral_norm`` wraps every layer of D (the SN-GAN baseline).
Images are NHWC in [−1, 1].
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import Array

from odegan_jax.models.layers import batch_norm, conv, kernel_init, sn_apply


def _upsample(x: Array):
    b, hgt, wid, c = x.shape
    return jax.image.resize(x, (b, 2 * hgt, 2 * wid, c), "nearest")


def _downsample(x: Array):
    return nn.avg_pool(x, (2, 2), (2, 2))


class _GBlock(nn.Module):
    features: int
    init_scheme: str = "normal"
    init_std: float = 0.02

    @nn.compact
    def __call__(self, x: Array, train: bool):
        init = kernel_init(self.init_scheme, self.init_std)
        h = _upsample(nn.relu(batch_norm(train)(x)))
        h = conv(self.features, 3, 1, 1, init)(h)
        h = conv(self.features, 3, 1, 1, init)(nn.relu(batch_norm(train)(h)))
        return h + conv(self.features, 1, 1, 0, init)(_upsample(x))


class _DBlock(nn.Module):
    features: int
    down: bool
    first: bool = False
    spectral_norm: bool = False
    init_scheme: str = "normal"
    init_std: float = 0.02

    @nn.compact
    def __call__(self, x: Array, train: bool):
        init = kernel_init(self.init_scheme, self.init_std)
        sn = self.spectral_norm
        h = x if self.first else nn.relu(x)
        h = sn_apply(conv(self.features, 3, 1, 1, init), sn, h, train)
        h = sn_apply(conv(self.features, 3, 1, 1, init), sn, nn.relu(h), train)
        shortcut = x
        if self.down:
            h = _downsample(h)
            if self.first:  # the optimised block: pool, then project
                shortcut = sn_apply(conv(self.features, 1, 1, 0, init), sn, _downsample(x), train)
            else:
                shortcut = _downsample(sn_apply(conv(self.features, 1, 1, 0, init), sn, x, train))
        elif x.shape[-1] != self.features:
            shortcut = sn_apply(conv(self.features, 1, 1, 0, init), sn, x, train)
        return h + shortcut


class ResNetGenerator(nn.Module):
    """SN-GAN ResNet generator for 32×32: linear 4×4×width → 3 up-blocks → BN ReLU conv3 tanh."""

    width: int = 256
    channels: int = 3
    init_scheme: str = "normal"
    init_std: float = 0.02

    @nn.compact
    def __call__(self, z: jax.Array, train: bool = True) -> jax.Array:
        init = kernel_init(self.init_scheme, self.init_std)
        h = nn.Dense(4 * 4 * self.width, kernel_init=init)(z).reshape(z.shape[0], 4, 4, self.width)
        for _ in range(3):
            h = _GBlock(self.width, self.init_scheme, self.init_std)(h, train)
        h = nn.relu(batch_norm(train)(h))
        return jnp.tanh(conv(self.channels, 3, 1, 1, init)(h))


class ResNetDiscriminator(nn.Module):
    """SN-GAN ResNet discriminator for 32×32 (width 128)."""

    width: int = 128
    spectral_norm: bool = False
    init_scheme: str = "normal"
    init_std: float = 0.02

    @nn.compact
    def __call__(self, x: Array, train: bool = True) -> jax.Array:
        args = (self.spectral_norm, self.init_scheme, self.init_std)
        h = _DBlock(self.width, True, True, *args)(x, train)
        h = _DBlock(self.width, True, False, *args)(h, train)
        h = _DBlock(self.width, False, False, *args)(h, train)
        h = _DBlock(self.width, False, False, *args)(h, train)
        h = jnp.sum(nn.relu(h), axis=(1, 2))
        init = kernel_init(self.init_scheme, self.init_std)
        return sn_apply(nn.Dense(1, kernel_init=init), self.spectral_norm, h, train)
