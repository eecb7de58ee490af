"""Image networks against the layer lists of the source documents (parameter counts by hand) and a
few
training steps of every network with every kind of rule."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from odegan_jax import rules
from odegan_jax.config import base_config
from odegan_jax.game import Game, make_loss
from odegan_jax.integrators import get_tableau
from odegan_jax.models import build_networks


def _count(tree) -> int:
    return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))


def _model(name, **overrides):
    c = base_config().model
    c.name = name
    c.init = "normal"
    c.init_std = 0.02
    c.latent_size = 100
    c.update(overrides)
    return c


def _init(module, x):
    """Shapes of the variables and of the output (abstract: nothing is compiled or run)."""
    variables = jax.eval_shape(lambda x_: module.init(jax.random.PRNGKey(0), x_, train=False), x)
    return variables, jax.eval_shape(lambda v, x_: module.apply(v, x_, train=False), variables, x)


def _run(module, x):
    variables = jax.jit(lambda x_: module.init(jax.random.PRNGKey(0), x_, train=False))(x)
    return variables, jax.jit(lambda v, x_: module.apply(v, x_, train=False))(variables, x)


def _bn(c):  # BatchNorm2d(c): weight and bias
    return 2 * c


def test_ngan_parameter_counts_equal_the_pytorch_layer_lists():
    g, d = build_networks(_model("ngan"), (28, 28, 1))
    gv, gx = _run(g, jnp.zeros((2, 100)))
    dv, dx = _run(d, jnp.zeros((2, 28, 28, 1)))
    # Varshney19 Figure 4.1, PyTorch ConvTranspose2d weight [in, out, k, k] (+ out bias unless
    # False)
    generator = (
        100 * 32 * 4 * 4
        + _bn(32)  # ConvTranspose2d(100, 32, 4, bias=False)
        + 32 * 16 * 4 * 4
        + _bn(16)  # ConvTranspose2d(32, 16, 4, 2, 1, bias=False)
        + 17 * 16 * 5 * 5
        + 16  # ConvTranspose2dTime(17, 16, 5, 1, 2)
        + 16 * 8 * 4 * 4
        + _bn(8)  # ConvTranspose2d(16, 8, 4, 2, 1, bias=False)
        + 8 * 1 * 3 * 3
        + 1
    )  # ConvTranspose2d(8, 1, 3, 1, 1)
    # Varshney19 Figure 4.2, Conv2d weight [out, in, k, k] (+ bias)
    discriminator = (
        8 * 1 * 4 * 4
        + _bn(8)  # Conv2d(1, 8, 4, 2, 1, bias=False)
        + 16 * 11 * 1 * 1
        + 16  # Conv2dTime(11, 16, 1)
        + 16 * 17 * 3 * 3
        + 16  # Conv2dTime(17, 16, 3, 1, 1)
        + 10 * 17 * 1 * 1
        + 10  # Conv2dTime(17, 10, 1)
        + 16 * 10 * 4 * 4
        + _bn(16)  # Conv2d(10, 16, 4, 2, 1, bias=False)
        + 784 * 1
        + 1
    )  # Linear(784, 1)
    assert _count(gv["params"]) == generator == 68441
    assert _count(dv["params"]) == discriminator == 6357
    assert gx.shape == (2, 28, 28, 1) and dx.shape == (2, 1)
    assert float(jnp.max(jnp.abs(gx))) <= 1.0


def test_residual_dcgan28_adds_two_3x3_layers_per_block():
    base = _count(
        _init(build_networks(_model("dcgan28"), (28, 28, 1))[0], jnp.zeros((2, 100)))[0]["params"]
    )
    for c in (1, 3):
        g, d = build_networks(_model("dcgan28", res_blocks=c), (28, 28, 1))
        gv, gx = _init(g, jnp.zeros((2, 100)))
        dv, dx = _init(d, jnp.zeros((2, 28, 28, 1)))
        # G block: 2 × (deconv 3×3 64→64 + bias + BN);  D block: 2 × (conv 3×3 128→128 + BN)
        assert _count(gv["params"]) == base + c * 2 * (9 * 64 * 64 + 64 + _bn(64))
        d0 = (16 * 64 + 64) + (16 * 64 * 128 + 128) + _bn(128) + (49 * 128 + 1)
        assert _count(dv["params"]) == d0 + c * 2 * (9 * 128 * 128 + 128 + _bn(128))
        assert gx.shape == (2, 28, 28, 1) and dx.shape == (2, 1)


def test_dcgan32_matches_m0c_and_mdc_of_table_a2():
    for d_blocks in (0, 1):
        g, d = build_networks(_model("dcgan32", res_blocks=d_blocks), (32, 32, 3))
        gv, gx = _init(g, jnp.zeros((2, 100)))
        dv, dx = _init(d, jnp.zeros((2, 32, 32, 3)))
        block = lambda f: 2 * (9 * f * f + f + _bn(f))  # noqa: E731
        g0 = (
            (16 * 100 * 256 + 256)
            + _bn(256)
            + (16 * 256 * 128 + 128)
            + _bn(128)
            + (16 * 128 * 64 + 64)
            + _bn(64)
            + (16 * 64 * 3 + 3)
        )
        d0 = (
            (16 * 3 * 64 + 64)
            + (16 * 64 * 128 + 128)
            + _bn(128)
            + (16 * 128 * 256 + 256)
            + _bn(256)
            + (16 * 256 + 1)
        )
        assert _count(gv["params"]) == g0 + d_blocks * (block(128) + block(64))
        assert _count(dv["params"]) == d0 + d_blocks * (block(128) + block(256))
        assert gx.shape == (2, 32, 32, 3) and dx.shape == (2, 1)


def test_official_dcgan_layers():
    g, d = build_networks(_model("dcgan_official", latent_size=128), (32, 32, 3))
    gv, gx = _init(g, jnp.zeros((2, 128)))
    dv, dx = _init(d, jnp.zeros((2, 32, 32, 3)))
    # cs_gan/nets.py: no norm after G's Linear; D ends in two logits
    g_count = (
        (128 * 8192 + 8192)
        + (16 * 512 * 256 + 256)
        + _bn(256)
        + (16 * 256 * 128 + 128)
        + _bn(128)
        + (16 * 128 * 64 + 64)
        + _bn(64)
        + (9 * 64 * 3 + 3)
    )
    d_count = (
        (9 * 3 * 64 + 64)
        + (16 * 64 * 64 + 64)
        + (9 * 64 * 128 + 128)
        + (16 * 128 * 128 + 128)
        + (9 * 128 * 256 + 256)
        + (16 * 256 * 256 + 256)
        + (9 * 256 * 512 + 512)
        + (4 * 4 * 512 * 2 + 2)
    )
    assert _count(gv["params"]) == g_count and _count(dv["params"]) == d_count
    assert gx.shape == (2, 32, 32, 3) and dx.shape == (2, 2)


def test_spectral_norm_normalises_the_discriminator_weights():
    d = build_networks(_model("dcgan_official", spectral_norm=True), (32, 32, 3))[1]
    x = jax.random.normal(jax.random.PRNGKey(0), (4, 32, 32, 3))
    variables = jax.jit(lambda k, x: d.init(k, x, train=False))(jax.random.PRNGKey(1), x)
    params, state = variables["params"], {"batch_stats": variables["batch_stats"]}
    power = jax.jit(
        lambda p, s, x: d.apply({"params": p, **s}, x, train=True, mutable=["batch_stats"])[1]
    )  # one program
    for _ in range(30):  # power iterations run in training mode
        state = power(params, state, x)
    # SpectralNorm's power-iteration estimate of σ(W) against numpy's SVD of the same kernel
    stats = state["batch_stats"]["SpectralNorm_0"]
    kernel = np.asarray(params["Conv_0"]["kernel"])
    true_sigma = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
    est = float(stats["Conv_0/kernel/sigma"])
    assert abs(est - true_sigma) / true_sigma < 1e-3
    # the network computes with W / σ(W): it equals the plain D with every kernel rescaled
    sigmas = {}
    for sn_stats in state["batch_stats"].values():
        for key, value in sn_stats.items():
            if key.endswith("/kernel/sigma"):
                sigmas[key.split("/")[0]] = float(value)
    assert len(sigmas) == 8  # 7 convs and the linear layer
    rescaled = {
        k: {"kernel": v["kernel"] / sigmas[k], "bias": v["bias"]} for k, v in params.items()
    }
    plain = build_networks(_model("dcgan_official", spectral_norm=False), (32, 32, 3))[1]
    np.testing.assert_allclose(
        d.apply({"params": params, **state}, x, train=False),
        plain.apply({"params": rescaled}, x, train=False),
        rtol=1e-2,
        atol=1e-4,
    )  # 8 σ estimates, each to ~0.1%


NETWORKS = [
    ("ngan", (28, 28, 1)),
    ("dcgan28", (28, 28, 1)),
    ("dcgan32", (32, 32, 3)),
    ("dcgan_official", (32, 32, 3)),
    ("resnet32", (32, 32, 3)),
    ("mlp", (28, 28, 1)),
]


@pytest.mark.parametrize("name,shape", NETWORKS)
def test_a_few_adam_steps_of_each_network_on_random_arrays(name, shape):
    g, d = build_networks(_model(name, latent_size=16, width=32), shape)
    game = Game(g, d, make_loss("non_saturating"), 16)
    x = jax.random.uniform(jax.random.PRNGKey(0), (2, 4) + shape, minval=-1, maxval=1)
    params, model_state = jax.jit(game.init)(jax.random.PRNGKey(1), x[0])  # not op by op
    opt = rules.make_optimizer("adam", 2e-4)
    rule = rules.gradient_rule(game, opt, opt, update="simultaneous")  # one program to compile
    state = rules.TrainState(
        jnp.zeros((), jnp.int32), params, model_state, rule.init(params), jax.random.PRNGKey(2)
    )
    step = jax.jit(rule.step)
    for i in range(2):
        state, metrics = step(state, x[i : i + 1])
        assert bool(metrics["finite"])
    moved = [
        float(jnp.max(jnp.abs(a - b)))
        for a, b in zip(jax.tree.leaves(state.params), jax.tree.leaves(params))
    ]
    assert max(moved) > 1e-5


def test_an_rk4_step_with_the_regulariser_trains_ngan_and_reports_nfe():
    g, d = build_networks(_model("ngan", latent_size=16), (28, 28, 1))
    game = Game(g, d, make_loss("non_saturating"), 16, has_ode_blocks=True)
    x = jax.random.uniform(jax.random.PRNGKey(0), (1, 4, 28, 28, 1), minval=-1, maxval=1)
    params, model_state = game.init(jax.random.PRNGKey(1), x[0])
    rule = rules.ode_rule(game, get_tableau("rk4"), 0.02, reg_weight=0.01)
    state = rules.TrainState(
        jnp.zeros((), jnp.int32), params, model_state, rule.init(params), jax.random.PRNGKey(2)
    )
    state, metrics = jax.jit(rule.step)(state, x)
    assert bool(metrics["finite"])
    assert int(metrics["nfe_g"]) == 4 and int(metrics["nfe_d"]) == 4  # one RK4 step per block
    # BatchNorm running averages move once per training step
    bn_before = jax.tree.leaves(model_state["g"])
    bn_after = jax.tree.leaves(state.model_state["g"])
    assert any(float(jnp.max(jnp.abs(a - b))) > 0 for a, b in zip(bn_before, bn_after))
