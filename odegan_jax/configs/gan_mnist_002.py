"""Bhope19 vanilla GAN on MNIST: MLP G and D (two hidden layers of 256), Adam, 100 latents.
The latent-size study: ``--config.model.latent_size=10|100|200``; Fashion-MNIST:
``--config.data.name=fashion_mnist``; optimisers: ``--config.optimizer.name=...``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.configs._images import adam_image_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    c = adam_image_config("gan_mnist_002", "mnist", "mlp", steps=30_000)
    c.model.width = 256
    c.model.depth = 2
    return c
