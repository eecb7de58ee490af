"""Training rules: closed forms on the Dirac-GAN, BatchNorm policy, options."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from games import bn_game, dirac_game, dirac_params, dirac_radius, init_game, mlp_game

from odegan_jax import game as game_lib
from odegan_jax import integrators as integ
from odegan_jax import rules

NO_STATE = {"d": {}, "g": {}}


def _state(rule, params, model_state=NO_STATE, step=0, key=0):
    return rules.TrainState(
        jnp.int32(step), params, model_state, rule.init(params), jax.random.PRNGKey(key)
    )


def _run(rule, state, batches, n=1):
    step = jax.jit(rule.step)
    for _ in range(n):
        state, metrics = step(state, batches)
    return state, metrics


def _dirac_batches(rule):
    return jnp.zeros((rule.batches_per_step, 4, 1))


# ------------------------------------------------------------------- gradient baselines


def test_simultaneous_sgd_spirals_out_like_euler():
    h = 0.1
    rule = rules.gradient_rule(dirac_game(), optax.sgd(h), optax.sgd(h))
    state, _ = _run(rule, _state(rule, dirac_params(0.6, 0.8)), _dirac_batches(rule), n=10)
    np.testing.assert_allclose(dirac_radius(state.params), (1 + h**2) ** 5, rtol=1e-5)


def test_alternating_sgd_one_step_closed_form():
    # ψ₁ = ψ₀ - hθ₀ (D first), then θ₁ = θ₀ + hψ₁ against the updated D.
    h, theta, psi = 0.3, 0.6, 0.8
    rule = rules.gradient_rule(dirac_game(), optax.sgd(h), optax.sgd(h), update="alternating")
    state, _ = _run(rule, _state(rule, dirac_params(theta, psi)), _dirac_batches(rule))
    psi1 = psi - h * theta
    np.testing.assert_allclose(state.params["d"]["psi"], psi1, rtol=1e-6)
    np.testing.assert_allclose(state.params["g"]["theta"], theta + h * psi1, rtol=1e-6)


def test_n_critic_takes_n_discriminator_steps():
    h, theta, psi, n = 0.1, 0.6, 0.8, 5
    rule = rules.gradient_rule(
        dirac_game(), optax.sgd(h), optax.sgd(h), update="alternating", n_critic=n
    )
    assert rule.batches_per_step == n
    state, _ = _run(rule, _state(rule, dirac_params(theta, psi)), _dirac_batches(rule))
    psi_n = psi - n * h * theta  # θ is fixed while D steps; ψ' = -θ is constant
    np.testing.assert_allclose(state.params["d"]["psi"], psi_n, rtol=1e-6)
    np.testing.assert_allclose(state.params["g"]["theta"], theta + h * psi_n, rtol=1e-6)


def test_n_critic_needs_alternating():
    with pytest.raises(ValueError, match="alternating"):
        rules.gradient_rule(dirac_game(), optax.sgd(0.1), optax.sgd(0.1), n_critic=5)


@pytest.mark.parametrize("name", ["adam", "rmsprop", "sgd", "adadelta", "adagrad", "adamw"])
def test_every_optimizer_by_name_trains(name):
    game = mlp_game()
    params, state, real = init_game(game, batch=32)
    opt = rules.make_optimizer(name, 1e-2, weight_decay=1e-5)
    rule = rules.gradient_rule(game, opt, opt)
    new, metrics = _run(rule, _state(rule, params, state), real[None])
    assert bool(metrics["finite"])
    moved = [
        float(jnp.max(jnp.abs(a - b)))
        for a, b in zip(jax.tree.leaves(new.params), jax.tree.leaves(params))
    ]
    assert max(moved) > 1e-6


def test_optimizer_hyperparameter_checks():
    opt = rules.make_optimizer("adam", 1e-3, b1=0.5, b2=0.999)
    assert opt is not None
    with pytest.raises(ValueError, match="momentum does not apply to 'adam'"):
        rules.make_optimizer("adam", 1e-3, momentum=0.9)
    with pytest.raises(ValueError, match="config.optimizer.name: 'lbfgs' is not allowed"):
        rules.make_optimizer("lbfgs", 1e-3)


def test_weight_decay_is_l2_on_the_loss():
    # SGD with weight decay wd equals SGD on ℓ + wd/2 ‖θ‖²: θ ← θ - lr(∇ℓ + wd θ).
    h, wd, theta, psi = 0.1, 0.5, 0.6, 0.8
    opt = rules.make_optimizer("sgd", h, weight_decay=wd)
    rule = rules.gradient_rule(dirac_game(), opt, opt)
    state, _ = _run(rule, _state(rule, dirac_params(theta, psi)), _dirac_batches(rule))
    np.testing.assert_allclose(state.params["d"]["psi"], psi - h * (theta + wd * psi), rtol=1e-6)
    np.testing.assert_allclose(
        state.params["g"]["theta"], theta - h * (-psi + wd * theta), rtol=1e-6
    )


def test_wgan_weight_clipping():
    game = mlp_game(loss=game_lib.wgan_loss(0.01))
    params, state, real = init_game(game, batch=32)
    opt = optax.sgd(1.0)
    for rule in (rules.gradient_rule(game, opt, opt), rules.ode_rule(game, integ.RK4, 1.0)):
        new, _ = _run(rule, _state(rule, params, state), jnp.stack([real] * rule.batches_per_step))
        assert max(float(jnp.max(jnp.abs(x))) for x in jax.tree.leaves(new.params["d"])) <= 0.01
        assert max(float(jnp.max(jnp.abs(x))) for x in jax.tree.leaves(new.params["g"])) > 0.01


# ------------------------------------------------------------------- ODE rule options


def test_official_step_size_schedule():
    sched = rules.step_size_schedule("official", 0.04)
    assert float(sched(0)) == pytest.approx(0.01)
    assert float(sched(499)) == pytest.approx(0.01)
    assert float(sched(500)) == pytest.approx(0.04)
    assert float(sched(399_999)) == pytest.approx(0.04)
    assert float(sched(400_000)) == pytest.approx(0.02)
    rule = rules.ode_rule(dirac_game(), integ.EULER, 0.04, schedule="official")
    state, metrics = _run(rule, _state(rule, dirac_params(0.6, 0.8)), _dirac_batches(rule))
    assert float(metrics["h"]) == pytest.approx(0.01)
    np.testing.assert_allclose(state.params["g"]["theta"], 0.6 + 0.01 * 0.8, rtol=1e-6)


def test_piecewise_step_size_schedule():
    sched = rules.step_size_schedule("piecewise", 0.5, (100, 300), (1.0, 0.5, 0.25))
    assert [float(sched(s)) for s in (0, 99, 100, 299, 300, 10_000)] == [
        0.5,
        0.5,
        0.25,
        0.25,
        0.125,
        0.125,
    ]
    with pytest.raises(
        ValueError, match="config.rule.schedule_scales: .* one more positive scale than boundaries"
    ):
        rules.step_size_schedule("piecewise", 0.5, (100,), (1.0,))


def test_reg_scales_multiply_lambda_phase_by_phase():
    """λ · reg_scales[i] in phase i steps as a rule built with that constant λ (0: none)."""
    game = mlp_game()
    params, ms, x = init_game(game)
    kw = dict(schedule="piecewise", schedule_boundaries=(1,), schedule_scales=(1.0, 1.0))
    scaled = rules.ode_rule(game, integ.RK4, 0.5, reg_weight=0.3, reg_scales=(2.0, 0.0), **kw)
    for step, weight in ((0, 0.6), (1, 0.0)):
        const = rules.ode_rule(game, integ.RK4, 0.5, reg_weight=weight, **kw)
        a, _ = jax.jit(scaled.step)(_state(scaled, params, ms, step=step), x[None])
        b, _ = jax.jit(const.step)(_state(const, params, ms, step=step), x[None])
        for u, v in zip(jax.tree.leaves(a.params), jax.tree.leaves(b.params)):
            np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-7)
    # and the penalty is not a no-op here: λ = 0.6 moves D away from the unregularised step
    plain = rules.ode_rule(game, integ.RK4, 0.5, **kw)
    a, _ = jax.jit(scaled.step)(_state(scaled, params, ms), x[None])
    b, _ = jax.jit(plain.step)(_state(plain, params, ms), x[None])
    assert (
        max(
            float(jnp.max(jnp.abs(u - v)))
            for u, v in zip(jax.tree.leaves(a.params["d"]), jax.tree.leaves(b.params["d"]))
        )
        > 1e-6
    )
    with pytest.raises(
        ValueError, match="config.rule.reg_scales: .* one multiplier ≥ 0 per phase, 2"
    ):
        rules.ode_rule(game, integ.RK4, 0.5, reg_weight=0.3, reg_scales=(1.0,), **kw)
    with pytest.raises(ValueError, match="config.rule.reg_scales: .*rule.schedule='piecewise'"):
        rules.ode_rule(game, integ.RK4, 0.5, reg_weight=0.3, reg_scales=(1.0,))


def test_discriminator_rate_scales_its_field():
    # v = (θ', ψ') = (ψ, −αθ): Euler gives ψ₁ = ψ − hαθ, θ₁ = θ + hψ.
    h, alpha, theta, psi = 0.1, 4.0, 0.6, 0.8
    rule = rules.ode_rule(dirac_game(), integ.EULER, h, d_rate=alpha)
    state, _ = _run(rule, _state(rule, dirac_params(theta, psi)), _dirac_batches(rule))
    np.testing.assert_allclose(state.params["d"]["psi"], psi - h * alpha * theta, rtol=1e-6)
    np.testing.assert_allclose(state.params["g"]["theta"], theta + h * psi, rtol=1e-6)


def test_post_step_regulariser_on_dirac():
    # Euler + post-step: θ ← θ + hψ, ψ ← ψ - hθ - hλ·2ψ (g_ψ = ∇ψ ψ² = 2ψ).
    h, lam, theta, psi = 0.1, 0.5, 0.6, 0.8
    rule = rules.ode_rule(dirac_game(), integ.EULER, h, reg_weight=lam)
    state, metrics = _run(rule, _state(rule, dirac_params(theta, psi)), _dirac_batches(rule))
    np.testing.assert_allclose(
        state.params["d"]["psi"], psi - h * theta - h * lam * 2 * psi, rtol=1e-6
    )
    np.testing.assert_allclose(state.params["g"]["theta"], theta + h * psi, rtol=1e-6)
    assert float(metrics["g_grad_sq_norm"]) == pytest.approx(psi**2, rel=1e-6)


def test_first_stage_regulariser_equals_post_step_for_euler_but_not_rk4():
    h, lam = 0.2, 0.3
    out = {}
    for tableau in (integ.EULER, integ.RK4):
        for placement in rules.REG_PLACEMENTS:
            rule = rules.ode_rule(
                dirac_game(game_lib.non_saturating_loss()),
                tableau,
                h,
                reg_weight=lam,
                reg_placement=placement,
            )
            out[tableau.name, placement] = _run(
                rule, _state(rule, dirac_params(0.6, 0.8)), _dirac_batches(rule)
            )[0].params
    for leaf_a, leaf_b in zip(
        jax.tree.leaves(out["euler", "post_step"]), jax.tree.leaves(out["euler", "first_stage"])
    ):
        np.testing.assert_allclose(leaf_a, leaf_b, rtol=1e-6)
    diff = abs(
        float(out["rk4", "post_step"]["g"]["theta"] - out["rk4", "first_stage"]["g"]["theta"])
    )
    assert diff > 1e-5  # the stage-1 term moves the intermediate points, hence G too


def test_stage_batches_same_vs_fresh():
    game = mlp_game()
    params, state, _ = init_game(game, batch=32)
    batches = jax.random.normal(jax.random.PRNGKey(3), (4, 32, 2))
    same = rules.ode_rule(game, integ.RK4, 0.1, stage_batches="same")
    fresh = rules.ode_rule(game, integ.RK4, 0.1, stage_batches="fresh")
    assert (same.batches_per_step, fresh.batches_per_step) == (1, 4)
    a = _run(same, _state(same, params, state), batches[:1])[0].params
    b = _run(same, _state(same, params, state), batches)[0].params  # extra batches unused
    c = _run(fresh, _state(fresh, params, state), batches)[0].params
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(x, y)
    assert any(
        float(jnp.max(jnp.abs(x - y))) > 1e-6
        for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(c))
    )


def test_rk4_direction_fed_to_adam():
    """RK4 + Adam: Adam's first step moves every parameter by lr·d/(|d| + eps), d the RK4
    direction Σ bᵢkᵢ of the same field."""
    game = mlp_game()
    params, state, real = init_game(game, batch=32)
    lr, eps = 1e-3, 1e-8
    rule = rules.ode_rule(game, integ.RK4, 0.1, optimizer=optax.adam(lr, eps=eps))
    new, _ = _run(rule, _state(rule, params, state), real[None])
    key = jax.random.split(jax.random.PRNGKey(0))[1]  # the rule's stage key

    def field(y, i):
        return jax.tree.map(
            jnp.negative, game_lib.player_gradients(game, y, state, real, key).grads
        ), None

    direction = integ.rk_step(field, params, 0.1, integ.RK4).direction
    for p_new, p_old, d in zip(
        jax.tree.leaves(new.params), jax.tree.leaves(params), jax.tree.leaves(direction)
    ):
        np.testing.assert_allclose(p_new - p_old, lr * d / (jnp.abs(d) + eps), rtol=1e-3, atol=1e-7)


# ------------------------------------------------------------------- BatchNorm policy


def test_batchnorm_running_averages_update_once_per_step_from_stage_one():
    game = bn_game()
    params, state, real = init_game(game, batch=32)
    rule = rules.ode_rule(game, integ.RK4, 0.1)
    ts = _state(rule, params, state)
    key = jax.random.split(ts.key)[1]
    new, _ = _run(rule, ts, real[None])
    expected = game_lib.player_gradients(game, params, state, real, key).model_state
    for a, b in zip(jax.tree.leaves(new.model_state), jax.tree.leaves(expected)):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    changed = [
        float(jnp.max(jnp.abs(a - b)))
        for a, b in zip(jax.tree.leaves(new.model_state), jax.tree.leaves(state))
    ]
    assert min(changed) > 0  # every running average moved, each exactly once (momentum 0.9)
    # Closed form for G's first BatchNorm: mean ← 0.9·0 + 0.1·mean_batch(W z + b), where z are
    # the stage-1 latents.
    z = game.sample_latents(jax.random.split(key)[0], real.shape[0])
    dense = params["g"]["Dense_0"]
    batch_mean = jnp.mean(z @ dense["kernel"] + dense["bias"], axis=0)
    np.testing.assert_allclose(
        new.model_state["g"]["batch_stats"]["BatchNorm_0"]["mean"],
        0.1 * batch_mean,
        rtol=1e-5,
        atol=1e-7,
    )


def test_every_stage_uses_batch_statistics():
    """The field does not read the running averages: two very different model states give
    the same gradients (training mode normalises with the minibatch's statistics)."""
    game = bn_game()
    params, state, real = init_game(game, batch=32)
    other = jax.tree.map(lambda x: x + 5.0, state)
    key = jax.random.PRNGKey(2)
    a = game_lib.player_gradients(game, params, state, real, key).grads
    b = game_lib.player_gradients(game, params, other, real, key).grads
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_allclose(x, y, rtol=1e-6)
    # ...whereas inference uses them.
    z = game.sample_latents(key, 8)
    assert (
        float(jnp.max(jnp.abs(game.generate(params, state, z) - game.generate(params, other, z))))
        > 1e-3
    )


def test_nonfinite_flag():
    rule = rules.ode_rule(dirac_game(), integ.EULER, 0.1)
    _, metrics = _run(rule, _state(rule, dirac_params(math.inf, 0.8)), _dirac_batches(rule))
    assert not bool(metrics["finite"])


# ------------------------------------------------------------------- G's moving average


def _ema_closed_form(iterates, decay):
    """The bias-corrected EMA of iterates θ_1 … θ_n: Σ (1-d) d^(n-i) θ_i / (1 - d^n)."""
    n = len(iterates)
    weights = (1 - decay) * decay ** np.arange(n - 1, -1, -1)
    return float(weights @ np.asarray(iterates, np.float64) / (1 - decay**n))


@pytest.mark.parametrize("kind", ["ode_adaptive", "alternating_sgd"])
def test_generator_ema_averages_the_accepted_iterates_and_leaves_training_alone(kind):
    """The wrapped rule's trajectory is the rule's, bit for bit; its average is the closed-form
    bias-corrected EMA of G's iterates after the accepted steps only (the adaptive Bosh3 rule
    starting at h = 2 rejects its first attempts), and evaluation reads it."""
    import diffrax

    decay = 0.9
    if kind == "ode_adaptive":
        base = rules.ode_rule(
            dirac_game(),
            integ.BOSH3,
            2.0,
            step_control="adaptive",
            controller=diffrax.PIDController(rtol=1e-4, atol=1e-4),
            max_rejections=30,
        )
    else:
        base = rules.gradient_rule(
            dirac_game(), optax.sgd(0.1), optax.sgd(0.1), update="alternating"
        )
    wrapped = rules.with_generator_ema(base, decay)
    p0 = dirac_params(1.0, 0.5)
    s_base, s_wrap = _state(base, p0), _state(wrapped, p0)
    assert set(s_wrap.rule_state) == set(s_base.rule_state) | {rules.G_EMA}
    # before any step there is nothing to average: the initial G
    assert float(rules.evaluated_params(s_wrap, decay)["g"]["theta"]) == 1.0
    step_base, step_wrap = jax.jit(base.step), jax.jit(wrapped.step)
    batches = _dirac_batches(base)
    iterates, rejected = [], 0
    for _ in range(30):
        s_base, m_base = step_base(s_base, batches)
        s_wrap, m_wrap = step_wrap(s_wrap, batches)
        for a, b in zip(
            jax.tree.leaves((s_base.params, m_base)), jax.tree.leaves((s_wrap.params, m_wrap))
        ):
            np.testing.assert_array_equal(a, b)
        if bool(m_base["accepted"]):
            iterates.append(float(s_base.params["g"]["theta"]))
        else:
            rejected += 1
    assert rejected >= (1 if kind == "ode_adaptive" else 0)
    assert int(s_wrap.rule_state[rules.G_EMA].count) == len(iterates)
    evaluated = rules.evaluated_params(s_wrap, decay)
    np.testing.assert_allclose(
        float(evaluated["g"]["theta"]), _ema_closed_form(iterates, decay), rtol=1e-5
    )
    assert float(evaluated["d"]["psi"]) == float(s_wrap.params["d"]["psi"])  # D: the iterate
    assert rules.evaluated_params(rules.without_generator_ema(s_wrap), decay) is s_wrap.params
