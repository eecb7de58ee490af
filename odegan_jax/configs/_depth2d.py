"""Shared settings of Yamazaki17's 2D experiments (Appendix A): Adam, lr 1e-4, β = (0.5, 0.999),
weight decay 1e-5 on each loss, batch 64, z ~ U(-1, 1) in R^32, init N(0, 0.1), biases 0,
the non-saturating loss, 10,000 training points, 200,000 iterations (CPU default: 20,000;
the full run: --config.steps=200000)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.config import base_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def depth_config(name: str, dataset: str, network: str, d_batchnorm: bool = True) -> ConfigDict:
    c = base_config()
    c.name = name
    c.steps = 20_000
    c.data.name = dataset
    c.data.batch_size = 64
    c.data.num_train = 10_000
    c.model.name = network
    c.model.width = 32
    c.model.num_blocks = 7
    c.model.g_batchnorm = True
    c.model.d_batchnorm = d_batchnorm
    c.model.latent_size = 32
    c.model.latent_prior = "uniform"
    c.model.init = "normal"
    c.model.init_std = 0.1
    c.game.loss = "non_saturating"
    c.rule.name = "alternating"
    c.optimizer.name = "adam"
    c.optimizer.learning_rate = 1e-4
    c.optimizer.b1 = 0.5
    c.optimizer.b2 = 0.999
    c.optimizer.weight_decay = 1e-5
    c.loop.log_every = 500
    return c
