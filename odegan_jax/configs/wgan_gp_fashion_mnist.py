"""GANnotes: WGAN-GP on Fashion-MNIST, with Yamazaki17's DCGAN (M0_B, ``dcgan28``): λ = 10, n_critic
= 5,
Adam 1e-4 with β = (0, 0.9) (Algorithm 1 of the WGAN-GP paper), batch 64. The critic has no
BatchNorm: the penalty is on the gradient for each input alone, which batch statistics mix
(the WGAN-GP paper, §4). Steps count generator iterations, each after n_critic critic updates."""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.configs._images import adam_image_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    c = adam_image_config("wgan_gp_fashion_mnist", "fashion_mnist", "dcgan28", steps=10_000)
    c.game.loss = "wgan_gp"
    c.game.gp_weight = 10.0
    c.rule.n_critic = 5
    c.model.d_batchnorm = False
    c.optimizer.learning_rate = 1e-4
    c.optimizer.b1 = 0.0
    c.optimizer.b2 = 0.9
    return c
