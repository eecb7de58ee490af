"""Convolutional GANs for images (NHWC, pixels in [−1, 1]).

* :class:`DCGANGenerator` / :class:`DCGANDiscriminator`: Yamazaki17 Table A.2.
  ``dcgan28`` is M0_B (28×28×1): G z → deconv 7×7/1 128 BN ReLU → deconv 4×4/2 64 BN ReLU →
  deconv 4×4/2 1 tanh; D conv 4×4/2 64 LReLU → conv 4×4/2 128 BN LReLU → linear 1.
  ``dcgan32`` is M0_C (32×32×3): G deconv 4×4/1 256 → 4×4/2 128 → 4×4/2 64 → 4×4/2 3 tanh;
  D conv 4×4/2 64 → 128 BN → 256 BN → linear.
  ``res_blocks = c`` (M_cB) or ``d`` (M_dC, "2d residual blocks": d at each of its two
  stages) adds, after every hidden up/down-sampling layer, that many residual blocks of two
  size-preserving 3×3 layers with BN and the layer's non-linearity, ``h + f₂(f₁(h))`` (the
  table's 3×3/1 rows; "each residual block consists of two non-linear transformations").
* :class:`OfficialDCGANGenerator` / :class:`OfficialDCGANDiscriminator`: ``ConvGenNet`` and
  ``ConvMetricNet`` of the official ODE-GAN code (``cs_gan/nets.py``; the SN-GAN paper's
  DCGAN), layer for layer, with Sonnet 1's initialiser and BatchNorm defaults and D's two
  logits; 32×32 images with any number of channels (Fashion-MNIST padded to 32×32, one
  channel).

Every discriminator (and :mod:`.resnet`'s) takes ``spectral_norm``: each conv / linear wrapped
in flax's ``nn.SpectralNorm`` (one power iteration per training call; its vectors live in
``batch_stats`` beside BatchNorm's statistics): the SN-GAN baseline of Qin20 Table 1.
Transposed convolutions use the padding of PyTorch's ``ConvTranspose2d(padding=p)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp
from jax import Array

from odegan_jax.models.layers import (
    batch_norm,
    conv,
    deconv,
    kernel_init,
    sn_apply,
    sonnet_batch_norm,
)


class DCGANGenerator(nn.Module):
    """Yamazaki17 Table A.2 generators (see the module doc)."""

    features: Sequence[int] = (128, 64)  # first layer, then each 4×4/2 up-sampling layer
    first_kernel: int = 7  # 7 (28×28) or 4 (32×32)
    channels: int = 1
    res_blocks: int = 0
    init_scheme: str = "normal"
    init_std: float = 0.02

    @nn.compact
    def __call__(self, z: Array, train: bool = True) -> Array:
        init = kernel_init(self.init_scheme, self.init_std)
        h = z.reshape(z.shape[0], 1, 1, -1)
        h = nn.relu(batch_norm(train)(deconv(self.features[0], self.first_kernel, 1, 0, init)(h)))
        for f in self.features[1:]:
            h = nn.relu(batch_norm(train)(deconv(f, 4, 2, 1, init)(h)))
            for _ in range(self.res_blocks):
                r = nn.relu(batch_norm(train)(deconv(f, 3, 1, 1, init)(h)))
                h = h + nn.relu(batch_norm(train)(deconv(f, 3, 1, 1, init)(r)))
        return jnp.tanh(deconv(self.channels, 4, 2, 1, init)(h))


class DCGANDiscriminator(nn.Module):
    """Yamazaki17 Table A.2 discriminators (see the module doc); returns logits ``[B, 1]``."""

    features: Sequence[int] = (64, 128)
    res_blocks: int = 0
    batchnorm: bool = True
    spectral_norm: bool = False
    init_scheme: str = "normal"
    init_std: float = 0.02
    leak: float = 0.2

    @nn.compact
    def __call__(self, x: Array, train: bool = True) -> Array:
        init = kernel_init(self.init_scheme, self.init_std)
        sn = self.spectral_norm
        act = lambda v: nn.leaky_relu(v, self.leak)  # noqa: E731

        def layer(h, module):
            h = sn_apply(module, sn, h, train)
            return batch_norm(train)(h) if self.batchnorm else h

        h = act(sn_apply(conv(self.features[0], 4, 2, 1, init), sn, x, train))
        for f in self.features[1:]:
            h = act(layer(h, conv(f, 4, 2, 1, init)))
            for _ in range(self.res_blocks):
                r = act(layer(h, conv(f, 3, 1, 1, init)))
                h = h + act(layer(r, conv(f, 3, 1, 1, init)))
        h = h.reshape(h.shape[0], -1)
        return sn_apply(nn.Dense(1, kernel_init=init), sn, h, train)


class OfficialDCGANGenerator(nn.Module):
    """``ConvGenNet`` of the official ODE-GAN code (``cs_gan/nets.py``, the SN-GAN paper's
    DCGAN): z → Linear to 4×4×512 (no norm, no activation) → transposed convs 4×4/2 to 256,
    128, 64, each with BatchNorm (Sonnet's ``BatchNormV2``, scale and offset) and ReLU → a
    3×3/1 transposed conv to ``channels`` → tanh. "SAME" padding; every layer has a bias.
    Output ``[B, 32, 32, channels]``."""

    channels: int = 3
    init_scheme: str = "sonnet"
    init_std: float = 0.02

    @nn.compact
    def __call__(self, z: Array, train: bool = True) -> Array:
        init = kernel_init(self.init_scheme, self.init_std)
        h = nn.Dense(4 * 4 * 512, kernel_init=init)(z).reshape(z.shape[0], 4, 4, 512)
        for f in (256, 128, 64):
            h = nn.relu(sonnet_batch_norm(train)(deconv(f, 4, 2, 1, init)(h)))
        return jnp.tanh(deconv(self.channels, 3, 1, 1, init)(h))


# (features, kernel, stride) of ConvMetricNet's seven convolutions, "SAME" padding
OFFICIAL_D_LAYERS = (
    (64, 3, 1),
    (64, 4, 2),
    (128, 3, 1),
    (128, 4, 2),
    (256, 3, 1),
    (256, 4, 2),
    (512, 3, 1),
)


class OfficialDCGANDiscriminator(nn.Module):
    """``ConvMetricNet`` of the official ODE-GAN code (``use_sn=False`` there; ``spectral_norm``
    gives the SN-GAN baseline): seven convs (:data:`OFFICIAL_D_LAYERS`) with leaky ReLU 0.1
    after each, no normalisation, then Linear to ``num_outputs`` logits (2: the two-class
    softmax cross-entropy of ``gan.py``; the losses read it as ``logit[1] − logit[0]``)."""

    spectral_norm: bool = False
    init_scheme: str = "sonnet"
    init_std: float = 0.02
    leak: float = 0.1
    num_outputs: int = 2

    @nn.compact
    def __call__(self, x: Array, train: bool = True) -> Array:
        init = kernel_init(self.init_scheme, self.init_std)
        h = x
        for f, k, s in OFFICIAL_D_LAYERS:
            # "SAME": 3×3/1 pads 1 on each side; 4×4/2 on an even size pads 1 on each side
            h = nn.leaky_relu(
                sn_apply(conv(f, k, s, 1, init), self.spectral_norm, h, train), self.leak
            )
        h = h.reshape(h.shape[0], -1)
        return sn_apply(nn.Dense(self.num_outputs, kernel_init=init), self.spectral_norm, h, train)
