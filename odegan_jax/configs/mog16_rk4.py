"""ODE-GAN (RK4) on the 16-Gaussian grid at full size: 2×50 MLPs, batch 512, 24,000 steps.

The shared base of the 2D studies (order, λ, optimisers, loss balance, adaptive steps); the
main job, ``mog16_main``, is the same game with a smaller batch and a longer schedule.
Settings and the reasons for them: BUILD_NOTES.md ("The main job").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.config import base_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    return base_config()
