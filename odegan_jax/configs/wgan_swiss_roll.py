"""GANnotes: WGAN with weight clipping (RMSprop 5e-5, c = 0.01, n_critic = 5) on swiss_roll."""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.configs._wgan2d import wgan_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    return wgan_config("wgan_swiss_roll", "swiss_roll", gradient_penalty=False)
