"""Losses on known logits, the shared-forward vector field and the regulariser."""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from games import dirac_game, dirac_params, init_game, mlp_game

from odegan_jax import game as game_lib

REAL = np.array([0.0, 2.0, -1.0])
FAKE = np.array([-1.0, 1.0, 3.0])


def softplus(x):
    return math.log1p(math.exp(x))


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def mean(xs):
    return sum(xs) / len(xs)


def _losses(loss):
    r, f = jnp.asarray(REAL), jnp.asarray(FAKE)
    return float(loss.d_loss(r, f)), float(loss.g_loss(f))


def test_minimax_loss_by_hand():
    d, g = _losses(game_lib.minimax_loss())
    assert d == pytest.approx(
        mean([-math.log(sigmoid(r)) for r in REAL])
        + mean([-math.log(1 - sigmoid(f)) for f in FAKE]),
        rel=1e-6,
    )
    assert g == pytest.approx(mean([math.log(1 - sigmoid(f)) for f in FAKE]), rel=1e-6)


def test_non_saturating_loss_by_hand():
    d, g = _losses(game_lib.non_saturating_loss())
    assert d == pytest.approx(
        mean([-math.log(sigmoid(r)) for r in REAL])
        + mean([-math.log(1 - sigmoid(f)) for f in FAKE]),
        rel=1e-6,
    )
    assert g == pytest.approx(mean([-math.log(sigmoid(f)) for f in FAKE]), rel=1e-6)


def test_wgan_and_hinge_losses_by_hand():
    d, g = _losses(game_lib.wgan_loss())
    assert d == pytest.approx(mean(FAKE) - mean(REAL))
    assert g == pytest.approx(-mean(FAKE))
    d, g = _losses(game_lib.hinge_loss())
    assert d == pytest.approx(
        mean([max(0, 1 - r) for r in REAL]) + mean([max(0, 1 + f) for f in FAKE])
    )
    assert g == pytest.approx(-mean(FAKE))


def test_notebook_loss_is_the_notebook_gradient_ascent_in_descent_form():
    # As written in odegan_mog16.ipynb; its integrators step *along* these gradients.
    def nb_disc_loss(r, f):
        return -jnp.mean((r - jax.nn.log_sigmoid(r)) + (-jax.nn.log_sigmoid(f)))

    def nb_gen_loss(f):
        return -jnp.mean(f - jax.nn.log_sigmoid(f))

    loss = game_lib.notebook_loss()
    r, f = jnp.asarray(REAL), jnp.asarray(FAKE)
    ours = jax.grad(loss.d_loss, argnums=(0, 1))(r, f)
    theirs = jax.grad(nb_disc_loss, argnums=(0, 1))(r, f)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, -b, rtol=1e-6)
    np.testing.assert_allclose(jax.grad(loss.g_loss)(f), -jax.grad(nb_gen_loss)(f), rtol=1e-6)
    # and the values, by hand
    d, g = _losses(loss)
    assert d == pytest.approx(
        mean([softplus(r) for r in REAL]) + mean([softplus(-f) for f in FAKE])
    )
    assert g == pytest.approx(mean([softplus(f) for f in FAKE]))


def test_two_logit_head_equals_softmax_cross_entropy():
    logits = jax.random.normal(jax.random.PRNGKey(0), (5, 2))
    labels = jnp.ones(5, jnp.int32)  # class 1 = real, as in the official TF code
    expected = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
    ours = jnp.mean(jax.nn.softplus(-game_lib.binary_logit(logits)))
    np.testing.assert_allclose(ours, expected, rtol=1e-6)


def test_binary_logit_rejects_other_shapes():
    with pytest.raises(ValueError, match=r"\[batch, 1\] or \[batch, 2\]"):
        game_lib.binary_logit(jnp.zeros((4, 3)))


class _LinearCritic(nn.Module):
    @nn.compact
    def __call__(self, x, train=True):
        return nn.Dense(1, use_bias=False)(x)


def test_gradient_penalty_of_a_linear_critic():
    # ∇_x (w·x) = w everywhere, so the penalty is (‖w‖ - 1)² exactly.
    game = game_lib.Game(mlp_game().generator, _LinearCritic(), game_lib.wgan_gp_loss(10.0), 4)
    params, state, real = init_game(game)
    w = params["d"]["Dense_0"]["kernel"]
    fake = jnp.ones_like(real)
    gp = game_lib._gradient_penalty(
        game, params["d"], state["d"], real, fake, jax.random.PRNGKey(0)
    )
    np.testing.assert_allclose(gp, (jnp.linalg.norm(w) - 1) ** 2, rtol=1e-5)
    # ...and it enters ℓ_D's gradient: d/dw 10(‖w‖-1)² = 20(‖w‖-1) w/‖w‖, on top of WGAN's.
    ev_gp = game_lib.player_gradients(game, params, state, real, jax.random.PRNGKey(1))
    game_plain = game_lib.Game(game.generator, game.discriminator, game_lib.wgan_loss(None), 4)
    ev = game_lib.player_gradients(game_plain, params, state, real, jax.random.PRNGKey(1))
    norm = jnp.linalg.norm(w)
    np.testing.assert_allclose(
        ev_gp.grads["d"]["Dense_0"]["kernel"] - ev.grads["d"]["Dense_0"]["kernel"],
        20 * (norm - 1) * w / norm,
        rtol=1e-4,
        atol=1e-6,
    )


def test_draws_passed_once_equal_the_key_bit_for_bit():
    """A rule that draws the latents (and WGAN-GP's interpolation key) once and passes them to
    every evaluation on that key gets exactly what each evaluation would draw itself."""
    game = mlp_game(game_lib.wgan_gp_loss(10.0))
    params, state, real = init_game(game, batch=32)
    key = jax.random.PRNGKey(7)
    draws = game_lib.draw(game, key, real)
    z = game.sample_latents(jax.random.split(key)[0], real.shape[0])
    np.testing.assert_array_equal(draws.z, z)
    a = game_lib.player_gradients(game, params, state, real, key, penalty=True)
    b = game_lib.player_gradients(game, params, state, real, draws, penalty=True)
    for x, y in zip(
        jax.tree.leaves((a.grads, a.penalty_grad, a.metrics)),
        jax.tree.leaves((b.grads, b.penalty_grad, b.metrics)),
    ):
        np.testing.assert_array_equal(x, y)
    other = game_lib.player_gradients(game, params, state, real, jax.random.PRNGKey(8))
    assert not np.array_equal(
        other.grads["d"]["Dense_0"]["kernel"], a.grads["d"]["Dense_0"]["kernel"]
    )


def test_vector_field_matches_separate_gradients():
    """The shared-forward field equals two independent jax.grad calls."""
    game = mlp_game()
    params, state, real = init_game(game, batch=32)
    key = jax.random.PRNGKey(3)
    ev = game_lib.player_gradients(game, params, state, real, key)
    z = game.sample_latents(jax.random.split(key)[0], real.shape[0])

    def loss_d(d):
        fake = game.generator.apply({"params": params["g"]}, z)
        return game.loss.d_loss(
            game.discriminator.apply({"params": d}, real)[:, 0],
            game.discriminator.apply({"params": d}, fake)[:, 0],
        )

    def loss_g(g):
        fake = game.generator.apply({"params": g}, z)
        return game.loss.g_loss(game.discriminator.apply({"params": params["d"]}, fake)[:, 0])

    for ours, ref in (
        (ev.grads["d"], jax.grad(loss_d)(params["d"])),
        (ev.grads["g"], jax.grad(loss_g)(params["g"])),
    ):
        for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(ref)):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert float(ev.metrics["loss_d"]) == pytest.approx(float(loss_d(params["d"])), rel=1e-6)


def test_regulariser_against_finite_differences():
    """<g_θ, u> equals the central difference of N(θ) = ‖∂ℓ_G/∂φ‖² along a random u."""
    with jax.enable_x64(True):
        game = mlp_game(latent_size=3, width=8)
        x = jax.random.normal(jax.random.PRNGKey(1), (16, 2), jnp.float64)
        params, state = game.init(jax.random.PRNGKey(0), x)
        params = jax.tree.map(lambda p: p.astype(jnp.float64), params)
        key = jax.random.PRNGKey(5)
        g_theta = game_lib.gradient_norm_penalty(game, params, state, x, key)

        def norm_sq(d_params):
            grads = game_lib.player_gradients(
                game, {"d": d_params, "g": params["g"]}, state, x, key
            ).grads
            return sum(jnp.sum(v**2) for v in jax.tree.leaves(grads["g"]))

        leaves, treedef = jax.tree.flatten(params["d"])
        keys = jax.random.split(jax.random.PRNGKey(9), len(leaves))
        u = jax.tree.unflatten(
            treedef, [jax.random.normal(k, l.shape, jnp.float64) for k, l in zip(keys, leaves)]
        )
        eps = 1e-6
        plus = jax.tree.map(lambda p, d: p + eps * d, params["d"], u)
        minus = jax.tree.map(lambda p, d: p - eps * d, params["d"], u)
        fd = (norm_sq(plus) - norm_sq(minus)) / (2 * eps)
        analytic = sum(jnp.sum(a * b) for a, b in zip(jax.tree.leaves(g_theta), jax.tree.leaves(u)))
        assert abs(float(analytic)) > 1e-6
        np.testing.assert_allclose(float(analytic), float(fd), rtol=1e-6)


def test_dirac_regulariser_closed_form():
    # ℓ_G = -ψθ ⇒ ∂ℓ_G/∂θ = -ψ, ‖·‖² = ψ², g_ψ = 2ψ.
    g = game_lib.gradient_norm_penalty(
        dirac_game(),
        dirac_params(0.3, -0.8),
        {"d": {}, "g": {}},
        jnp.zeros((2, 1)),
        jax.random.PRNGKey(0),
    )
    np.testing.assert_allclose(g["psi"], -1.6, rtol=1e-6)


def test_latent_priors():
    game = mlp_game(latent_size=64)
    z = game.sample_latents(jax.random.PRNGKey(0), 2000)
    assert abs(float(z.std()) - 1) < 0.02
    uni = game_lib.Game(game.generator, game.discriminator, game.loss, 64, "uniform")
    u = uni.sample_latents(jax.random.PRNGKey(0), 2000)
    assert float(u.min()) >= -1 and float(u.max()) <= 1
    assert abs(float(u.std()) - 1 / math.sqrt(3)) < 0.01
