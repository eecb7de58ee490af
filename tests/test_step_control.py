"""Step-size control of the ODE rule: h in the state, rejected steps inside the
compiled step, adaptive control by an embedded pair, checked against diffrax's own solve."""

from __future__ import annotations

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from games import dirac_game, dirac_params, dirac_radius, init_game, mlp_game

from odegan_jax import integrators as integ
from odegan_jax import rules

NO_STATE = {"d": {}, "g": {}}


def _state(rule, params, model_state=NO_STATE, key=0):
    return rules.TrainState(
        jnp.int32(0), params, model_state, rule.init(params), jax.random.PRNGKey(key)
    )


def _tree_equal(a, b) -> bool:
    return all(bool(jnp.array_equal(x, y)) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


# ------------------------------------------------------------------- fixed steps

DIRAC_BATCHES = jnp.zeros((1, 4, 1))


def test_a_non_finite_step_is_rejected_in_the_step_and_redone_with_h_halved():
    # RK4 at h = 2e5 from (1, 0.5) on the Dirac-GAN's rotation overflows the parameters'
    # squared norm (h⁴/24 ≈ 7e19); at h = 1e5 it does not
    rule = rules.ode_rule(dirac_game(), integ.RK4, 2e5, max_halvings=2)
    step = jax.jit(rule.step)
    state = _state(rule, dirac_params(1.0, 0.5))
    out, m = step(state, DIRAC_BATCHES)
    assert not bool(m["accepted"]) and not bool(m["failed"])
    # everything but the step control is as it was: the same step is attempted again
    assert _tree_equal(
        (out.step, out.params, out.model_state, out.key),
        (state.step, state.params, state.model_state, state.key),
    )
    control = out.rule_state["control"]
    assert (float(control.h), int(control.rejected), int(control.streak)) == (1e5, 1, 1)
    out, m = step(out, DIRAC_BATCHES)
    assert bool(m["accepted"]) and float(m["h"]) == 1e5 and int(out.step) == 1
    control = out.rule_state["control"]
    assert (float(control.h), int(control.rejected), int(control.streak)) == (1e5, 1, 0)
    fresh = rules.ode_rule(dirac_game(), integ.RK4, 1e5)  # the same step at h = 1e5
    ref, _ = jax.jit(fresh.step)(_state(fresh, dirac_params(1.0, 0.5)), DIRAC_BATCHES)
    for u, v in zip(jax.tree.leaves(out.params), jax.tree.leaves(ref.params)):
        np.testing.assert_allclose(u, v, rtol=1e-6)


def test_rejections_are_bounded_and_a_failed_attempt_changes_nothing():
    rule = rules.ode_rule(dirac_game(), integ.RK4, 1e38, max_halvings=2)
    step = jax.jit(rule.step)
    state = _state(rule, dirac_params(1.0, 0.5))
    flags = []
    for _ in range(3):
        before = state
        state, m = step(state, DIRAC_BATCHES)
        flags.append((bool(m["accepted"]), bool(m["failed"])))
    assert flags == [(False, False), (False, False), (False, True)]
    assert _tree_equal(state, before)  # the failed attempt: nothing changed at all
    control = state.rule_state["control"]
    assert (float(control.h), int(control.rejected)) == (np.float32(1e38) / 4, 2)


def test_the_h_in_the_state_scales_the_schedule():
    """A state whose h was halved twice steps as a rule built with h / 4 (schedule included)."""
    game = mlp_game()
    params, ms, x = init_game(game)
    kw = dict(schedule="piecewise", schedule_boundaries=(1,), schedule_scales=(0.5, 1.0))
    rule = rules.ode_rule(game, integ.RK4, 0.8, **kw)
    quarter = rules.ode_rule(game, integ.RK4, 0.2, **kw)
    state = _state(rule, params, ms)
    control = state.rule_state["control"]
    halved = state._replace(
        rule_state=dict(state.rule_state, control=control._replace(h=control.h / 4))
    )
    a, ma = jax.jit(rule.step)(halved, x[None])
    b, mb = jax.jit(quarter.step)(_state(quarter, params, ms), x[None])
    assert float(ma["h"]) == float(mb["h"]) == np.float32(0.1)
    for u, v in zip(jax.tree.leaves(a.params), jax.tree.leaves(b.params)):
        np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-7)


def test_gradient_rules_report_a_non_finite_step_as_failed():
    import optax

    game = mlp_game()
    params, ms, x = init_game(game)
    rule = rules.gradient_rule(game, optax.sgd(3e38), optax.sgd(3e38))
    _, m = jax.jit(rule.step)(_state(rule, params, ms), x[None])
    assert bool(m["failed"]) and not bool(m["accepted"])


# ------------------------------------------------------------------- adaptive steps


def _dirac_adaptive(tableau, controller, h0=0.1):
    rule = rules.ode_rule(
        dirac_game(), tableau, h0, step_control="adaptive", controller=controller, max_rejections=30
    )
    return rule, jax.jit(rule.step)


@pytest.mark.parametrize("name", ["heun_euler", "bosh3"])
def test_adaptive_steps_on_the_dirac_gan_equal_diffeqsolve(name):
    """The Dirac-GAN's field is deterministic: the rule's accepted steps and sizes must be
    those of diffrax.diffeqsolve with the same tableau and controller settings."""
    tableau = integ.EMBEDDED_TABLEAUX[name]
    controller = diffrax.PIDController(rtol=1e-3, atol=1e-3)
    rule, step = _dirac_adaptive(tableau, controller)
    state = _state(rule, dirac_params(1.0, 0.0))
    batches = jnp.zeros((rule.batches_per_step, 4, 1))
    times, t, rejected = [], 0.0, 0
    for _ in range(200):
        state, m = step(state, batches)
        if bool(m["accepted"]):
            t += float(m["h"])
            times.append(t)
        else:
            rejected += 1
        if t > 6.0:
            break

    def field(_t, y, _args):  # the rotation (θ', ψ') = (ψ, -θ) of the linear loss
        return {"g": {"theta": y["d"]["psi"]}, "d": {"psi": -y["g"]["theta"]}}

    ref = diffrax.diffeqsolve(
        diffrax.ODETerm(field),
        integ.to_diffrax(tableau),
        0.0,
        times[-1],
        0.1,
        dirac_params(1.0, 0.0),
        stepsize_controller=controller,
        saveat=diffrax.SaveAt(steps=True),
        max_steps=4096,
    )
    ref_times = np.asarray(ref.ts)[np.isfinite(np.asarray(ref.ts))]
    assert len(ref_times) == len(times) > 10
    np.testing.assert_allclose(times, ref_times, rtol=1e-4)
    assert rejected == int(ref.stats["num_rejected_steps"])
    final = jax.tree.map(lambda leaf: leaf[len(times) - 1], ref.ys)
    np.testing.assert_allclose(dirac_radius(state.params), dirac_radius(final), rtol=1e-5)


def test_adaptive_control_keeps_the_dirac_gan_on_its_orbit_where_euler_spirals_out():
    controller = diffrax.PIDController(rtol=1e-4, atol=1e-4)
    rule, step = _dirac_adaptive(integ.BOSH3, controller, h0=0.2)
    state = _state(rule, dirac_params(1.0, 0.0))
    batches = jnp.zeros((rule.batches_per_step, 4, 1))
    t, radii = 0.0, []
    while t < 4 * np.pi:  # two turns of the orbit
        state, m = step(state, batches)
        if bool(m["accepted"]):
            t += float(m["h"])
            radii.append(dirac_radius(state.params))
    # each accepted step's local error is within the tolerance (1e-4): over the run the
    # radius drifts by at most that per step, far below 1%
    drift = max(abs(r - 1) for r in radii)
    assert drift < 1e-4 * len(radii) and drift < 1e-2
    euler = rules.ode_rule(dirac_game(), integ.EULER, 0.2)
    e_step, e_state = jax.jit(euler.step), _state(euler, dirac_params(1.0, 0.0))
    for _ in range(int(np.ceil(4 * np.pi / 0.2))):
        e_state, _ = e_step(e_state, batches)
    assert dirac_radius(e_state.params) > 3.0  # (1 + h²)^(n/2) = 1.04^32


def test_adaptive_rejections_are_bounded_and_then_fail():
    controller = diffrax.PIDController(rtol=1e-9, atol=1e-9, pcoeff=0.0, icoeff=1.0)
    rule = rules.ode_rule(
        dirac_game(),
        integ.BOSH3,
        10.0,
        step_control="adaptive",
        controller=controller,
        max_rejections=2,
    )
    step = jax.jit(rule.step)
    state = _state(rule, dirac_params(1.0, 0.0))
    batches = jnp.zeros((rule.batches_per_step, 4, 1))
    flags = []
    for _ in range(3):
        state, m = step(state, batches)
        flags.append((bool(m["accepted"]), bool(m["failed"])))
        assert float(m["error_norm"]) > 1
    assert flags == [(False, False), (False, False), (False, True)]
    assert int(state.step) == 0 and int(state.rule_state["control"].rejected) == 2


def test_adaptive_control_needs_an_embedded_pair():
    with pytest.raises(ValueError, match="embedded pair"):
        rules.ode_rule(
            dirac_game(),
            integ.RK4,
            0.1,
            step_control="adaptive",
            controller=diffrax.PIDController(rtol=1e-3, atol=1e-3),
        )


# ------------------------------------------------------------------- config, layout, runs

ADAPTIVE = {
    "rule.step_control": "adaptive",
    "rule.integrator": "bosh3",
    "rule.schedule": "constant",
}


@pytest.mark.parametrize(
    "changes,message",
    [
        (
            {"rule.step_control": "sometimes"},
            "config.rule.step_control: 'sometimes' is not allowed; choose one of: fixed, adaptive",
        ),
        (
            {"rule.integrator": "rk4"},
            "config.rule.integrator: adaptive step control needs an "
            "embedded pair (an error estimate); 'rk4' has none. Choose "
            "one of: heun_euler, bosh3, dopri5, tsit5",
        ),
        (
            {"rule.schedule": "piecewise"},
            "config.rule.schedule: with rule.step_control='adaptive' the controller sets h",
        ),
        ({"rule.use_optimizer": True}, "config.rule.use_optimizer"),
        ({"loop.lte_every": 10}, "config.loop.lte_every: adaptive runs log their own error"),
        ({"rule.rtol": 0.0}, "config.rule.rtol: must be > 0"),
        ({"rule.atol": -1.0}, "config.rule.atol: must be ≥ 0"),
        ({"rule.max_rejections": 0}, "config.rule.max_rejections: must be > 0"),
        ({"rule.pcoeff": 0.0, "rule.icoeff": 0.0}, "config.rule.icoeff: pcoeff + icoeff"),
        ({"rule.name": "simultaneous"}, "config.rule.step_control: 'adaptive' controls the ODE"),
    ],
)
def test_adaptive_settings_are_checked_with_one_error_naming_the_key(changes, message):
    from odegan_jax.config import ConfigError, base_config
    from odegan_jax.experiment import build

    config = base_config()
    config.update_from_flattened_dict({**ADAPTIVE, **changes})
    with pytest.raises(ConfigError) as info:
        build(config)
    assert message in str(info.value)


def test_a_population_refuses_adaptive_control(tmp_path):
    from odegan_jax.config import ConfigError, base_config
    from odegan_jax.population import train_population

    config = base_config()
    config.update_from_flattened_dict(ADAPTIVE)
    with pytest.raises(ConfigError, match="rule.step_control='adaptive'"):
        train_population(config, "seed", [0, 1], str(tmp_path))
    assert not list(tmp_path.iterdir())  # refused before anything was written


def _tiny_config(**changes):
    from odegan_jax.config import base_config

    config = base_config()
    config.update_from_flattened_dict(
        {
            "steps": 40,
            "model.width": 8,
            "data.batch_size": 64,
            "loop.log_every": 20,
            "loop.steps_per_call": 20,
            "loop.eval_samples": 200,
            "loop.plot": False,
            "loop.checkpoint_every": 20,
            **changes,
        }
    )
    return config


def test_checkpoints_from_before_the_step_control_restore_into_the_new_layout(tmp_path):
    """A checkpoint whose rule state is the optimiser part alone (the layout before the step
    control) restores with the control at its start: h = rule.h, nothing rejected."""
    from odegan_jax import checkpoints
    from odegan_jax.experiment import build, init_state, restore_run

    exp = build(_tiny_config())
    state = init_state(exp)
    old = state._replace(step=jnp.int32(20), rule_state=state.rule_state["opt"])
    mngr = checkpoints.manager(str(tmp_path / "checkpoints"))
    checkpoints.save(mngr, 20, old, force=True)
    restored, step = restore_run(mngr, exp)
    mngr.close()
    assert step == 20 and int(restored.step) == 20
    assert _tree_equal(restored.params, state.params)
    control = restored.rule_state["control"]
    assert (float(control.h), int(control.rejected)) == (np.float32(0.6), 0)


def test_a_config_json_from_before_the_new_keys_is_the_same_trajectory():
    from odegan_jax.config import base_config, with_defaults
    from odegan_jax.rundir import trajectory_differences

    old = base_config().to_dict()
    for key in ("step_control", "rtol", "atol", "pcoeff", "icoeff", "h_max", "max_rejections"):
        del old["rule"][key]
    assert trajectory_differences(old, base_config().to_dict()) == {}
    assert with_defaults(old).rule.step_control == "fixed"
    changed = base_config().to_dict()
    changed["rule"]["step_control"] = "adaptive"
    assert trajectory_differences(old, changed) == {"rule.step_control": ("fixed", "adaptive")}


def test_an_adaptive_run_logs_h_rejections_nfe_and_its_error_norm(tmp_path):
    from odegan_jax import logs
    from odegan_jax.train import train

    config = _tiny_config(
        **ADAPTIVE,
        **{
            "rule.h": 2.0,  # too large: the first is rejected
            "loop.steps_per_call": 1,
        },
    )  # one program
    summary = train(config, str(tmp_path), echo=lambda _: None)
    rows = [r for r in logs.read_metrics(str(tmp_path / "metrics.jsonl")) if "loss_d" in r]
    assert [r["step"] for r in rows] == [20, 40]
    for r in rows:
        assert r["error_norm"] <= 1 and r["h"] > 0 and r["nfe"] >= 4
    assert rows[-1]["rejected"] == summary["retries"] >= 1
    assert rows[0]["nfe"] == 4 * (1 + rows[0]["rejected"] / 20)
    assert summary["final_h"] != 2.0  # the controller's proposal, kept in the state
