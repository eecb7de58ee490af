"""Varshney19 NGAN (Figures 4.1 / 4.2) on Fashion-MNIST (offline: Debian's dataset-fashion-mnist).

Same training settings as dcgan_fashion_mnist.py, for Varshney19's NGAN vs DCGAN comparison (by GAM:
``odegan gam``): Adam (Varshney19 Algorithm 3) as in DCGAN practice, batch 64, 100 latents. The ODE
blocks: RK4, one step over [0, 1], backprop through the solver (Varshney19 §4.2.1); switch to
``--config.model.ode.solver=dopri5`` / ``--config.model.ode.gradient=adjoint`` to study them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.configs._images import adam_image_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    c = adam_image_config("ngan_fashion_mnist", "fashion_mnist", "ngan", steps=10_000)
    c.model.ode.solver = "rk4"
    c.model.ode.steps = 1
    c.model.ode.gradient = "backprop"
    return c
