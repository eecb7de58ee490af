"""RK4 + Adam in the official TF code's form (``main_ode.py --opt_name=adam``): each stage point
is an Adam step from the current point along the previous stage's gradient scaled by the
tableau (0.5, 0.5, 1), Adam's moments advancing at every stage, then the step itself along
Σ bᵢgᵢ. Checked against that algorithm written out here with optax on the Dirac-GAN."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from odegan_jax import game as game_lib
from odegan_jax.config import resolve_config
from odegan_jax.experiment import build, init_state


def _official_rk4_adam(game, params, model_state, steps: int, lr: float):
    """main_ode.py's loop for one player pair: separate Adam per player, as there."""
    adam = optax.adam(lr, b1=0.5, b2=0.999)
    opt = {p: adam.init(params[p]) for p in ("d", "g")}
    real = jnp.zeros((1, 1))
    key = jax.random.PRNGKey(0)

    def grads(y):
        return game_lib.player_gradients(game, y, model_state, real, key).grads

    def adam_from(y0, g, scale):
        out = {}
        for p in ("d", "g"):
            update, opt[p] = adam.update(jax.tree.map(lambda x: scale * x, g[p]), opt[p])
            out[p] = optax.apply_updates(y0[p], update)
        return out

    y = params
    for _ in range(steps):
        g0 = grads(y)
        g1 = grads(adam_from(y, g0, 0.5))
        g2 = grads(adam_from(y, g1, 0.5))
        g3 = grads(adam_from(y, g2, 1.0))
        final = jax.tree.map(lambda a, b, c, d: a / 6 + b / 3 + c / 3 + d / 6, g0, g1, g2, g3)
        y = adam_from(y, final, 1.0)
    return y


def test_stage_points_are_adam_steps_as_in_the_official_code():
    config = resolve_config(
        "dirac",
        [
            "--config.rule.use_optimizer=true",
            "--config.rule.optimizer_form=stages",
            "--config.optimizer.learning_rate=0.01",
            "--config.optimizer.b1=0.5",
            "--config.optimizer.b2=0.999",
        ],
    )
    exp = build(config)
    state = init_state(exp)
    expected = _official_rk4_adam(exp.game, state.params, state.model_state, 3, 0.01)
    for _ in range(3):
        state, _ = exp.rule.step(state, jnp.zeros((1, 1, 1)))
    for p in ("d", "g"):
        np.testing.assert_allclose(
            jax.tree.leaves(state.params[p]), jax.tree.leaves(expected[p]), rtol=1e-6
        )
    # the direction form feeds Adam once per step: other parameters after 3 steps
    config.rule.optimizer_form = "direction"
    exp2 = build(config)
    other = init_state(exp2)
    for _ in range(3):
        other, _ = exp2.rule.step(other, jnp.zeros((1, 1, 1)))
    assert not np.allclose(jax.tree.leaves(other.params), jax.tree.leaves(state.params))
