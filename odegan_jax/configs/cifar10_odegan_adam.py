"""Qin20 Table 1 "ODE-GAN (RK4 + Adam)" on CIFAR-10 with the official DCGAN as the official code
runs it: every RK4 stage point and the step an Adam step (2e-4, β = (0.5, 0.999); λ = 0.01;
configs/_images.py ``rk4_adam``);
``--config.model.name=resnet32`` for the ResNet row. Data and scoring as in
``cifar10_odegan_dcgan_fig12``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.configs._images import odegan_image_config, rk4_adam

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    return rk4_adam(
        odegan_image_config(
            "cifar10_odegan_adam", "cifar10", "dcgan_official", h=0.04, reg_weight=0.01
        )
    )
