"""The SN-GAN baseline of Qin20 Table 1 on Fashion-MNIST: Yamazaki17's M0_B DCGAN (``dcgan28``) with
spectral normalisation in D and no BatchNorm there (the network of ``fashion_mnist_odegan``),
Adam 2e-4, β = (0.5, 0.999), one D step per G step, 128 latents N(0, I), the non-saturating
loss (as ``cifar10_sngan``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.configs._images import adam_image_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    c = adam_image_config("sngan_fashion_mnist", "fashion_mnist", "dcgan28", steps=100_000)
    c.model.spectral_norm = True
    c.model.d_batchnorm = False
    c.model.latent_size = 128
    return c
