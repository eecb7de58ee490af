"""Qin20 ODE-GAN (RK4, h = 0.04, λ = 0.02) on CIFAR-10 with the SN-GAN ResNet (Table 1)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.configs._images import odegan_image_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    return odegan_image_config("cifar10_odegan_resnet", "cifar10", "resnet32")
