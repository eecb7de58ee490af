"""GANnotes: WGAN with weight clipping (RMSprop 5e-5, c = 0.01, n_critic = 5) on mog8."""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.configs._wgan2d import wgan_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    return wgan_config("wgan_mog8", "mog8", gradient_penalty=False)
