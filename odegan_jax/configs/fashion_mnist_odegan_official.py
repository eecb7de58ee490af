"""ODE-GAN with the official code's own networks and recipe on Fashion-MNIST: ``dcgan_official``
(``ConvGenNet`` / ``ConvMetricNet`` of ``cs_gan/nets.py``, Sonnet 1's initialiser, two-logit
D), RK4, h = 0.04 after the h/4 warm-up, λ = 0.02 in the stage-1 D gradient, a fresh minibatch
per stage, batch 64, 128 latents. The 28×28 images are padded with the background to 32×32
(``data.pad_to``) and keep one channel; scores crop samples back to 28×28."""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.configs._images import odegan_image_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    c = odegan_image_config("fashion_mnist_odegan_official", "fashion_mnist", "dcgan_official")
    c.data.pad_to = 32
    return c
