"""ODE-GAN (RK4) on the 16-Gaussian grid at full size: 2×50 MLPs, batch 512, 24,000 steps.

The shared base of the 2D studies (order, λ, optimisers, loss balance, adaptive steps) and
the main job until 2026-11-24; the main job now is ``mog16_main`` (the same game and
schedule, smaller networks and batch). Settings and the reasons for them: BUILD_NOTES.md
("Main job").
"""

from odegan_jax.config import base_config


def get_config():
    return base_config()
