"""ODE-GAN with Heun steps on the 16-Gaussian grid: mog16_rk4 with another integrator.

The order study (Qin20 §5.2.1): compare with mog16_rk4 at the same h, λ and steps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.config import base_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    c = base_config()
    c.name = "mog16_heun"
    c.rule.integrator = "heun"
    return c
