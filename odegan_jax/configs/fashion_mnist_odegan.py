"""Qin20 ODE-GAN (RK4, h = 0.04, λ = 0.01: Figs 6 / 7) on Fashion-MNIST with Yamazaki17's M0_B DCGAN
(``dcgan28``) **without BatchNorm in D**, as the official ODE-GAN discriminator has none, and
the official code's options (configs/_images.py: regulariser in the stage-1 D gradient, a fresh
minibatch per stage, h/4 for the first 500 steps). With BatchNorm in D
(``--config.model.d_batchnorm=true``) the field is ~45x stiffer at initialisation and h = 0.04
lies far outside RK4's stable range (``odegan stiffness fashion_mnist_odegan``). Runs offline
(``apt-get install dataset-fashion-mnist``); the ``odegan_vs_adam_images`` study trains it
next to ``fashion_mnist_odegan_adam``, ``dcgan_fashion_mnist`` and ``sngan_fashion_mnist``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.configs._images import odegan_image_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    c = odegan_image_config(
        "fashion_mnist_odegan", "fashion_mnist", "dcgan28", steps=100_000, h=0.04, reg_weight=0.01
    )
    c.model.d_batchnorm = False
    return c
