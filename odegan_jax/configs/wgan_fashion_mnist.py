"""GANnotes / Bhope19 Experiment E: WGAN with weight clipping on Fashion-MNIST, with Yamazaki17's
DCGAN (M0_B,
``dcgan28``): RMSprop 5e-5, c = 0.01, n_critic = 5 (Algorithm 1 of the WGAN paper), batch 64.
Steps count generator iterations, each after n_critic critic updates."""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.configs._images import adam_image_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    c = adam_image_config("wgan_fashion_mnist", "fashion_mnist", "dcgan28", steps=10_000)
    c.game.loss = "wgan"
    c.game.clip_value = 0.01
    c.rule.n_critic = 5
    c.optimizer.name = "rmsprop"
    c.optimizer.learning_rate = 5e-5
    c.optimizer.b1 = None
    c.optimizer.b2 = None
    return c
