"""Qin20 "ODE-GAN (RK4 + Adam)" (Table 1, Fig. 7) on Fashion-MNIST as the official code runs it:
``fashion_mnist_odegan`` (RK4, λ = 0.01, M0_B DCGAN without BatchNorm in D) with every RK4
stage point and the step itself an Adam step (2e-4, β = (0.5, 0.999); configs/_images.py
``rk4_adam``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.configs._images import odegan_image_config, rk4_adam

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    c = rk4_adam(
        odegan_image_config(
            "fashion_mnist_odegan_adam",
            "fashion_mnist",
            "dcgan28",
            steps=100_000,
            h=0.04,
            reg_weight=0.01,
        )
    )
    c.model.d_batchnorm = False
    return c
