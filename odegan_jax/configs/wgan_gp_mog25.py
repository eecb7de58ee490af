"""GANnotes: WGAN-GP (λ = 10, n_critic = 5, Adam 1e-4, β = (0, 0.9)) on mog25."""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.configs._wgan2d import wgan_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    return wgan_config("wgan_gp_mog25", "mog25", gradient_penalty=True)
