"""GANnotes's WGAN recipes on 2D data (the WGAN / WGAN-GP papers' toy experiments).

WGAN (GANnotes, Algorithm 1 of the WGAN paper): RMSprop, α = 5e-5, c = 0.01, m = 64, n_critic = 5.
WGAN-GP (GANnotes, Algorithm 1 of the WGAN-GP paper): λ = 10, n_critic = 5, Adam α = 1e-4,
β = (0, 0.9). Both: D and G are ReLU MLPs 3 × 512 (the WGAN-GP paper's toy networks),
alternating updates, z ~ N(0, I) with 32 latents; batch 64 (WGAN) and 256 (the WGAN-GP toy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.config import base_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def wgan_config(name: str, dataset: str, gradient_penalty: bool) -> ConfigDict:
    c = base_config()
    c.name = name
    c.steps = 20_000  # generator iterations (each after n_critic critic steps)
    c.data.name = dataset
    c.data.stratified = False
    c.data.batch_size = 64 if not gradient_penalty else 256
    c.model.name = "mlp"
    c.model.depth = 3
    c.model.width = 512
    c.model.init = "lecun"
    c.rule.name = "alternating"
    c.rule.n_critic = 5
    if gradient_penalty:
        c.game.loss = "wgan_gp"
        c.game.gp_weight = 10.0
        c.optimizer.name = "adam"
        c.optimizer.learning_rate = 1e-4
        c.optimizer.b1 = 0.0
        c.optimizer.b2 = 0.9
    else:
        c.game.loss = "wgan"
        c.game.clip_value = 0.01
        c.optimizer.name = "rmsprop"
        c.optimizer.learning_rate = 5e-5
    c.loop.log_every = 500
    return c
