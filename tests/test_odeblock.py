"""Neural-ODE blocks against diffrax's own diffeqsolve, scipy, and each other."""

from __future__ import annotations

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from odegan_jax import integrators as integ
from odegan_jax.models.odeblock import ConvODEFunc, ODEBlock, TimeConv, odeint

STATE = (2, 6, 6, 3)  # small NHWC state


def _func_and_params(seed=0, scale=1.0):
    func = ConvODEFunc(((4, 3, 1), (3, 1, 0)), activation="leaky_relu", init_std=0.3)
    x = jax.random.normal(jax.random.PRNGKey(seed + 1), STATE) * scale
    params = func.init(jax.random.PRNGKey(seed), 0.0, x)["params"]
    return func, params, x


def _field(func):
    return lambda t, y, args: func.apply({"params": args}, t, y)


# diffrax's own solvers; diffrax ships no classical RK4, so its ERK machinery steps our tableau
REFERENCE = {
    "euler": diffrax.Euler,
    "heun": diffrax.Heun,
    "midpoint": diffrax.Midpoint,
    "ralston": diffrax.Ralston,
    "rk4": lambda: integ.to_diffrax(integ.RK4),
}


@pytest.mark.parametrize("solver", sorted(REFERENCE))
def test_unrolled_fixed_step_solve_equals_diffeqsolve(solver):
    func, params, x = _func_and_params()
    f = _field(func)
    ours, nfe = odeint(f, x, params, solver=solver, t0=0.0, t1=1.0, steps=3)
    stages = {"euler": 1, "heun": 2, "midpoint": 2, "ralston": 2, "rk4": 4}[solver]
    assert nfe == 3 * stages
    ref = diffrax.diffeqsolve(
        diffrax.ODETerm(f),
        REFERENCE[solver](),
        0.0,
        1.0,
        1 / 3,
        x,
        params,
        stepsize_controller=diffrax.ConstantStepSize(),
    )
    assert float(jnp.max(jnp.abs(ours - x))) > 1e-3  # the block does something
    np.testing.assert_allclose(ours, ref.ys[-1], rtol=1e-5, atol=1e-5)


def test_rk4_tableau_is_fourth_order():
    # y' = y on [0, 1]: error of n RK4 steps shrinks like n^-4
    f = lambda t, y, args: y  # noqa: E731
    errs = [
        abs(float(odeint(f, jnp.float32(1.0), None, solver="rk4", steps=n)[0]) - np.e)
        for n in (4, 8)
    ]
    assert 14 < errs[0] / errs[1] < 18


@pytest.mark.parametrize("solver", ["tsit5", "dopri5"])
def test_adaptive_solve_matches_scipy(solver):
    func, params, x = _func_and_params()
    f = _field(func)
    y1, nfe = jax.jit(
        lambda x_: odeint(f, x_, params, solver=solver, rtol=1e-6, atol=1e-6, max_steps=4096)
    )(x)
    f_jit = jax.jit(f)

    def rhs(t, y):
        return np.asarray(
            f_jit(t, jnp.asarray(y.reshape(STATE), jnp.float32), params), np.float64
        ).ravel()

    ref = (
        solve_ivp(
            rhs,
            (0.0, 1.0),
            np.asarray(x, np.float64).ravel(),
            method="DOP853",
            rtol=1e-9,
            atol=1e-9,
        )
        .y[:, -1]
        .reshape(STATE)
    )
    # the leaky-ReLU field has kinks, so the global error is well above the local tolerance
    np.testing.assert_allclose(y1, ref, rtol=1e-3, atol=1e-3)
    assert int(nfe) > 7  # more than one step at this tolerance


def test_adaptive_nfe_grows_as_tolerance_tightens():
    func, params, x = _func_and_params(scale=3.0)
    f = _field(func)
    nfes = [
        int(jax.jit(lambda x_, t=tol: odeint(f, x_, params, solver="dopri5", rtol=t, atol=t)[1])(x))
        for tol in (1e-2, 1e-5)
    ]
    assert nfes[1] > nfes[0]
    assert (nfes[0] - 1) % 6 == 0  # FSAL: 6 evaluations per step plus the first


@pytest.mark.parametrize("solver", ["rk4", "dopri5"])
def test_adjoint_gradients_match_backprop(solver):
    func, params, x = _func_and_params()
    f = _field(func)

    def loss(p, gradient):
        y, _ = odeint(f, x, p, solver=solver, steps=8, rtol=1e-5, atol=1e-5, gradient=gradient)
        return jnp.sum(jnp.sin(y))

    g_bp = jax.jit(jax.grad(loss), static_argnums=1)(params, "backprop")
    g_adj = jax.jit(jax.grad(loss), static_argnums=1)(params, "adjoint")
    # the adjoint re-integrates the state backwards through the field's ReLU kinks: it agrees
    # with backprop up to that error, measured over the whole gradient
    a, b = (np.concatenate([np.ravel(x) for x in jax.tree.leaves(g)]) for g in (g_bp, g_adj))
    rel = np.linalg.norm(a - b) / np.linalg.norm(a)
    print(f"{solver}: relative gradient difference {rel:.2e}")
    assert rel < 2e-2
    assert np.linalg.norm(a) > 1.0  # a real gradient


def test_backprop_gradient_matches_finite_differences():
    jax.config.update("jax_enable_x64", True)
    try:
        func = ConvODEFunc(((3, 3, 1),), activation="leaky_relu", init_std=0.3)
        x = jax.random.normal(jax.random.PRNGKey(1), (1, 4, 4, 3), jnp.float64)
        params = jax.tree.map(
            lambda p: p.astype(jnp.float64), func.init(jax.random.PRNGKey(0), 0.0, x)["params"]
        )
        f = _field(func)
        loss = lambda p: jnp.sum(odeint(f, x, p, solver="rk4", steps=2)[0] ** 2)  # noqa: E731
        grads = jax.grad(loss)(params)
        leaves, treedef = jax.tree.flatten(params)
        gleaves = jax.tree.leaves(grads)
        rng = np.random.default_rng(0)
        for i, leaf in enumerate(leaves):
            idx = tuple(rng.integers(0, s) for s in leaf.shape)
            eps = 1e-6
            plus = [l.at[idx].add(eps) if j == i else l for j, l in enumerate(leaves)]
            minus = [l.at[idx].add(-eps) if j == i else l for j, l in enumerate(leaves)]
            fd = (loss(treedef.unflatten(plus)) - loss(treedef.unflatten(minus))) / (2 * eps)
            np.testing.assert_allclose(gleaves[i][idx], fd, rtol=1e-5, atol=1e-8)
    finally:
        jax.config.update("jax_enable_x64", False)


def test_time_conv_sees_t_as_an_extra_channel():
    for transpose in (False, True):
        layer = TimeConv(5, 3, 1, transpose=transpose, init_std=0.5)
        x = jax.random.normal(jax.random.PRNGKey(0), (1, 5, 5, 2))
        params = layer.init(jax.random.PRNGKey(1), 0.0, x)
        kernel = jax.tree.leaves(params)[-1] if transpose else params["params"]["Conv_0"]["kernel"]
        assert jax.tree.leaves(params["params"])[1].shape[-2] == 3  # 2 channels + t
        out0, out1 = layer.apply(params, 0.0, x), layer.apply(params, 1.0, x)
        assert out0.shape == (1, 5, 5, 5)
        assert float(jnp.max(jnp.abs(out0 - out1))) > 1e-3
        del kernel


def test_block_augments_with_zero_channels_and_reports_nfe():
    block = ODEBlock(
        layers=((4, 3, 1), (5, 1, 0)), activation="leaky_relu", augment=2, solver="heun", steps=3
    )
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 6, 6, 3))
    variables = block.init(jax.random.PRNGKey(1), x)
    y, state = block.apply({"params": variables["params"]}, x, mutable=["nfe"])
    assert y.shape == (2, 6, 6, 5)
    assert int(state["nfe"]["nfe"][0]) == 6  # 3 Heun steps × 2 stages
    # the first input channel of the first layer is t; then 3 data + 2 zero channels
    assert variables["params"]["func"]["TimeConv_0"]["Conv_0"]["kernel"].shape[2] == 6
    # with a zero vector field the block is the identity on the augmented state
    zero = jax.tree.map(jnp.zeros_like, variables["params"])
    y0 = block.apply({"params": zero}, x)
    np.testing.assert_allclose(y0[..., :3], x, atol=1e-6)
    np.testing.assert_allclose(y0[..., 3:], 0.0, atol=1e-6)
