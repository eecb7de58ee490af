"""Qin20 ODE-GAN on CIFAR-10 with the DCGAN of the official code (Table 1): RK4, h = 0.04,
λ = 0.02, the official code's options (see configs/_images.py), 1M steps. Needs CIFAR-10 via
tfds, or ``--config.data.source=files --config.data.path=cifar10.npz`` (x_train uint8
[N, 32, 32, 3])."""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.configs._images import odegan_image_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    return odegan_image_config("cifar10_odegan_dcgan", "cifar10", "dcgan_official")
