"""The SN-GAN baseline of Qin20 Table 1 on CIFAR-10: the official DCGAN with spectral
normalisation in D, Adam lr 2e-4, β = (0.5, 0.999), one D step per G step, 128 latents,
the non-saturating loss. ``--config.model.name=resnet32`` for the ResNet row."""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.configs._images import adam_image_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    c = adam_image_config("cifar10_sngan", "cifar10", "dcgan_official", steps=1_000_000)
    c.model.spectral_norm = True
    c.model.latent_size = 128
    return c
