"""Small games whose behaviour is known in closed form, shared by the tests."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from odegan_jax import game as game_lib
from odegan_jax.models import MLP, DiracDiscriminator, DiracGenerator, ResidualMLP


def dirac_game(loss=None) -> game_lib.Game:
    """D(x) = ψx, G = θ; the default loss is linear (WGAN without clipping)."""
    loss = loss or game_lib.wgan_loss(clip_value=None)
    return game_lib.Game(DiracGenerator(), DiracDiscriminator(), loss, latent_size=1)


def dirac_params(theta: float, psi: float, dtype=jnp.float32) -> dict:
    return {"d": {"psi": jnp.asarray(psi, dtype)}, "g": {"theta": jnp.asarray(theta, dtype)}}


def dirac_radius(params) -> float:
    return float(np.hypot(params["g"]["theta"], params["d"]["psi"]))


def mlp_game(loss=None, latent_size: int = 4, width: int = 16) -> game_lib.Game:
    loss = loss or game_lib.non_saturating_loss()
    return game_lib.Game(
        MLP((width, width), 2, "lecun"), MLP((width, width), 1, "lecun"), loss, latent_size
    )


def bn_game(latent_size: int = 4) -> game_lib.Game:
    """Yamazaki17's M0_A (BatchNorm in both players) on 2D data."""
    return game_lib.Game(
        ResidualMLP(2, 16, 0, True, False),
        ResidualMLP(1, 16, 0, True, True),
        game_lib.non_saturating_loss(),
        latent_size,
    )


def init_game(game, key=0, batch=16, dim=2):
    x = jax.random.normal(jax.random.PRNGKey(1000 + key), (batch, dim))
    params, state = game.init(jax.random.PRNGKey(key), x)
    return params, state, x
