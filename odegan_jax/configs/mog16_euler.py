"""ODE-GAN with Euler steps on the 16-Gaussian grid: mog16_rk4 with another integrator.

The order study (Qin20 §5.2.1): Euler needs a far smaller step than RK4 (h = 0.04 here; at the
main job's h = 0.6 it diverges within a few steps: try --config.rule.h=0.6).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.config import base_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    c = base_config()
    c.name = "mog16_euler"
    c.rule.integrator = "euler"
    c.rule.h = 0.04  # Euler diverges at the main job's h = 0.6 (Qin20: unstable at h ≥ 0.04)
    c.rule.schedule = "constant"
    return c
