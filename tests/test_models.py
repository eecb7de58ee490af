"""Networks against the layer lists of the source documents (parameter counts computed by hand)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from odegan_jax.config import base_config
from odegan_jax.models import build_networks


def _count(tree) -> int:
    return sum(x.size for x in jax.tree.leaves(tree))


def _model(name, **overrides):
    c = base_config().model
    c.name = name
    c.width = 32 if name in ("m0a", "m1a") else c.width
    c.latent_size = 32
    c.update(overrides)
    return c


def _init(module, x):
    variables = module.init(jax.random.PRNGKey(0), x, train=False)
    return variables, module.apply(variables, x, train=False)


def _dense_layers(params) -> int:
    return sum(1 for k in params if k.startswith("Dense"))


def test_notebook_mlp_parameter_count():
    g, d = build_networks(_model("mlp", width=25, depth=2), (2,))
    gv, gx = _init(g, jnp.zeros((3, 32)))
    dv, dx = _init(d, jnp.zeros((3, 2)))
    # G: 32·25+25, 25·25+25, 25·2+2;  D: 2·25+25, 25·25+25, 25·1+1
    assert _count(gv["params"]) == 825 + 650 + 52
    assert _count(dv["params"]) == 75 + 650 + 26
    assert gx.shape == (3, 2) and dx.shape == (3, 1)


def test_m0a_matches_table_a1():
    g, d = build_networks(_model("m0a"), (2,))
    gv, _ = _init(g, jnp.zeros((3, 32)))
    dv, _ = _init(d, jnp.zeros((3, 2)))
    # G: [Linear 32 + BN] ×2, Linear 2.  D: Linear 32 (no BN), Linear 32 + BN, Linear 1.
    assert _count(gv["params"]) == 2 * (32 * 32 + 32 + 64) + 32 * 2 + 2
    assert _count(dv["params"]) == (2 * 32 + 32) + (32 * 32 + 32 + 64) + 33
    assert _dense_layers(gv["params"]) == 3 and _dense_layers(dv["params"]) == 3
    assert len(gv["batch_stats"]) == 2 and len(dv["batch_stats"]) == 1


@pytest.mark.parametrize("d_bn", [True, False])
def test_m1a_has_16_layers_and_seven_residual_blocks(d_bn):
    g, d = build_networks(_model("m1a", num_blocks=7, d_batchnorm=d_bn), (2,))
    gv, gx = _init(g, jnp.zeros((3, 32)))
    dv, dx = _init(d, jnp.zeros((3, 2)))
    assert _dense_layers(gv["params"]) == 16 and _dense_layers(dv["params"]) == 16
    layer = 32 * 32 + 32
    assert _count(gv["params"]) == (layer + 64) + 14 * (layer + 64) + 66
    assert _count(dv["params"]) == 96 + 14 * (layer + (64 if d_bn else 0)) + 33
    assert ("batch_stats" in dv) == d_bn
    assert gx.shape == (3, 2) and dx.shape == (3, 1)


def test_dcgan28_matches_m0b_of_table_a2():
    g, d = build_networks(
        _model("dcgan28", latent_size=100, init="normal", init_std=0.02), (28, 28, 1)
    )
    gv, gx = _init(g, jnp.zeros((2, 100)))
    dv, dx = _init(d, jnp.zeros((2, 28, 28, 1)))
    # G: deconv 7×7 100→128 + BN, deconv 4×4 128→64 + BN, deconv 4×4 64→1.
    assert _count(gv["params"]) == (49 * 100 * 128 + 128) + 256 + (16 * 128 * 64 + 64) + 128 + (
        16 * 64 + 1
    )
    # D: conv 4×4 1→64, conv 4×4 64→128 + BN, linear 7·7·128 → 1.
    assert _count(dv["params"]) == (16 * 64 + 64) + (16 * 64 * 128 + 128) + 256 + (49 * 128 + 1)
    assert gx.shape == (2, 28, 28, 1) and dx.shape == (2, 1)
    assert float(jnp.max(jnp.abs(gx))) <= 1.0  # tanh output


def test_normal_init_std():
    g, _ = build_networks(_model("m0a", init="normal", init_std=0.1, width=256), (2,))
    gv, _ = _init(g, jnp.zeros((3, 32)))
    kernel = gv["params"]["Dense_1"]["kernel"]
    assert abs(float(kernel.std()) - 0.1) < 0.005
    assert float(jnp.abs(gv["params"]["Dense_1"]["bias"]).max()) == 0.0


def test_haiku_init_is_uncorrected_truncated_normal():
    g, _ = build_networks(_model("mlp", width=400, depth=2, init="haiku"), (2,))
    gv, _ = _init(g, jnp.zeros((3, 32)))
    kernel = gv["params"]["Dense_1"]["kernel"]  # fan_in 400: stddev 0.05 before truncation
    assert float(jnp.abs(kernel).max()) <= 2 * 0.05 + 1e-6
    assert abs(float(kernel.std()) - 0.05 * 0.8796) < 0.002  # truncation at ±2σ shrinks σ


def test_shape_mismatch_is_reported():
    with pytest.raises(ValueError, match=r"needs samples of shape \(28, 28, 1\)"):
        build_networks(_model("dcgan28"), (2,))
    with pytest.raises(ValueError, match="config.model.name: .* is a network for 2D points"):
        build_networks(_model("m0a"), (28, 28, 1))


@pytest.mark.parametrize(
    "features,kernel,stride,pad,shape",
    [
        (64, 4, 2, 1, (4, 7, 7, 32)),  # sub-pixel phases (M0_B's middle layer, narrower)
        (1, 4, 2, 1, (4, 14, 14, 8)),  # into one channel: XLA's dilated convolution
        (32, 7, 1, 0, (4, 1, 1, 20)),  # G's first layer: a matrix product
        (16, 3, 1, 1, (2, 7, 7, 8)),  # anything else: lax.conv_transpose as flax
    ],
)
def test_our_transposed_convolution_is_flax_conv_transpose(features, kernel, stride, pad, shape):
    """layers.ConvTranspose against flax's nn.ConvTranspose with the same padding: the same
    parameter tree and initial values, outputs and gradients (inputs and kernel) equal to
    float rounding."""
    import flax.linen as nn

    from odegan_jax.models.layers import deconv

    init = nn.initializers.normal(0.02)
    ours = deconv(features, kernel, stride, pad, init)
    p = kernel - 1 - pad
    ref = nn.ConvTranspose(
        features,
        (kernel, kernel),
        strides=(stride, stride),
        padding=((p, p), (p, p)),
        kernel_init=init,
    )
    x = jax.random.normal(jax.random.PRNGKey(1), shape)
    v_ours, v_ref = ours.init(jax.random.PRNGKey(0), x), ref.init(jax.random.PRNGKey(0), x)
    assert jax.tree.structure(v_ours) == jax.tree.structure(v_ref)
    for a, b in zip(jax.tree.leaves(v_ours), jax.tree.leaves(v_ref)):
        np.testing.assert_array_equal(a, b)
    y_ours, y_ref = ours.apply(v_ref, x), ref.apply(v_ref, x)
    assert (
        y_ours.shape
        == y_ref.shape
        == (
            shape[0],
            (shape[1] - 1) * stride + kernel - 2 * pad,
            (shape[2] - 1) * stride + kernel - 2 * pad,
            features,
        )
    )
    np.testing.assert_allclose(y_ours, y_ref, rtol=1e-5, atol=1e-5)
    grad = lambda m: jax.grad(
        lambda v, x: jnp.sum(jnp.sin(3 * m.apply(v, x))),  # noqa: E731
        argnums=(0, 1),
    )(v_ref, x)
    for a, b in zip(jax.tree.leaves(grad(ours)), jax.tree.leaves(grad(ref))):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * float(jnp.max(jnp.abs(b))))


@pytest.mark.parametrize(
    "width,out_shape,x_shape",
    [
        (25, (2,), (9, 32)),  # the notebook's G
        (25, (1,), (9, 2)),  # the notebook's D
        (16, (8, 8, 1), (5, 40)),  # an image generator (tanh output)
    ],
)
def test_feature_major_mlp_is_the_batch_major_mlp(width, out_shape, x_shape):
    """``model.layout=feature_major`` computes Wᵀ xᵀ: the same parameters (names, shapes,
    values for one key), and outputs and gradients equal to flax's nn.Dense layers and to a
    numpy forward pass, up to float rounding."""
    x = jax.random.normal(jax.random.PRNGKey(3), x_shape)
    nets = {
        layout: build_networks(
            _model("mlp", width=width, depth=2, init="haiku", layout=layout), out_shape
        )[1 if out_shape == (1,) else 0]
        for layout in ("batch_major", "feature_major")
    }
    params = {k: net.init(jax.random.PRNGKey(0), x)["params"] for k, net in nets.items()}
    assert list(params["feature_major"]) == ["Dense_0", "Dense_1", "Dense_2"]
    for a, b in zip(
        jax.tree.leaves(params["batch_major"]), jax.tree.leaves(params["feature_major"])
    ):
        np.testing.assert_array_equal(a, b)
    p = params["batch_major"]
    h = np.asarray(x, np.float64).reshape(x.shape[0], -1)
    for i in range(3):
        h = h @ np.asarray(p[f"Dense_{i}"]["kernel"], np.float64) + np.asarray(
            p[f"Dense_{i}"]["bias"]
        )
        h = np.maximum(h, 0) if i < 2 else h
    expected = (np.tanh(h) if len(out_shape) == 3 else h).reshape((x.shape[0],) + out_shape)
    outs = {k: net.apply({"params": p}, x) for k, net in nets.items()}
    for out in outs.values():
        assert out.shape == expected.shape
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)

    def loss(net):
        return lambda q, y: jnp.sum(jnp.sin(net.apply({"params": q}, y)))

    grads = {k: jax.grad(loss(net), argnums=(0, 1))(p, x) for k, net in nets.items()}
    for a, b in zip(jax.tree.leaves(grads["batch_major"]), jax.tree.leaves(grads["feature_major"])):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_unknown_mlp_layout_names_the_key():
    with pytest.raises(ValueError, match="config.model.layout: 'columns' is not allowed"):
        build_networks(_model("mlp", layout="columns"), (2,))


def test_notebook_task_trains_alike_in_either_layout():
    """``mog16_official`` (feature-major) against the same config
    batch-major: the same initial parameters, and 20 fused RK4 steps (frozen coupling, the
    regulariser after the step) to float rounding."""
    from odegan_jax import train
    from odegan_jax.config import load_config
    from odegan_jax.experiment import build, init_state

    runs = {}
    for layout in ("batch_major", "feature_major"):
        config = load_config("mog16_official")
        config.model.layout = layout
        exp = build(config)
        state = init_state(exp)
        before = jax.tree.map(np.asarray, state.params)  # the step donates the state
        runs[layout] = (before, *train.make_train_fn(exp, 20)(state, exp.dataset.train))
    assert load_config("mog16_official").model.layout == "feature_major"
    (p0, a, ma), (q0, b, mb) = runs["batch_major"], runs["feature_major"]
    for x, y in zip(jax.tree.leaves(p0), jax.tree.leaves(q0)):
        np.testing.assert_array_equal(x, y)
    for key in ("loss_d", "loss_g", "grad_norm_d", "grad_norm_g"):
        np.testing.assert_allclose(ma[key], mb[key], rtol=1e-4)
    for x, y in zip(jax.tree.leaves(a.params), jax.tree.leaves(b.params)):
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-5)
    moved = max(
        float(jnp.max(jnp.abs(x - y)))
        for x, y in zip(jax.tree.leaves(p0), jax.tree.leaves(a.params))
    )
    assert moved > 1e-3  # the steps moved the parameters far beyond the tolerance
