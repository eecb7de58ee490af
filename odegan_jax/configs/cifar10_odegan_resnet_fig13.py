"""Qin20 Fig. 13: ODE-GAN on CIFAR-10 with the SN-GAN ResNet, RK4, h = 0.01, λ = 0.01, the
official code's options, 1M steps. Data and scoring as in ``cifar10_odegan_dcgan_fig12``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.configs._images import odegan_image_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    return odegan_image_config(
        "cifar10_odegan_resnet_fig13", "cifar10", "resnet32", h=0.01, reg_weight=0.01
    )
