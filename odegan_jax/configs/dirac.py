"""The Dirac-GAN of Qin20 §4 (Mescheder et al. 2018): D(x) = ψx, G = θ, data at 0, the linear
loss (ℓ_D = ψθ, ℓ_G = −ψθ, WGAN's objective without clipping), ODE-GAN with RK4. Its field
v = (−θ − 2λψ, ψ) is linear, with eigenvalues −λ ± i√(1 − λ²) (±i without the regulariser):
``odegan stiffness dirac`` measures them and the largest stable h of every scheme (RK4:
2√2 at λ = 0). ``--config.rule.reg_weight=0.1`` adds the regulariser."""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.config import base_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    c = base_config()
    c.name = "dirac"
    c.steps = 1_000
    c.data.name = "dirac"
    c.data.batch_size = 1
    c.data.stratified = False
    c.model.name = "dirac"
    c.model.latent_size = 1
    c.game.loss = "linear"
    c.rule.integrator = "rk4"
    c.rule.h = 0.1
    c.rule.reg_weight = 0.0
    c.rule.schedule = "constant"
    c.rule.g_ema_decay = 0.0
    c.loop.log_every = 100
    c.loop.eval_samples = 100
    c.loop.plot = False
    return c
