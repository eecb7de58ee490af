"""The official ODE-GAN networks (cs_gan/nets.py ConvGenNet, ConvMetricNet with use_sn=False)
against parameter counts worked out by hand from that layer list."""

import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from odegan_jax.config import resolve_config
from odegan_jax.models import describe_networks


def official_counts(channels: int, latents: int = 128) -> tuple[int, int]:
    """Trainable parameters of ConvGenNet / ConvMetricNet (Sonnet: every conv and linear has
    a bias; BatchNormV2 with scale has γ and β)."""
    g = latents * 4 * 4 * 512 + 4 * 4 * 512  # Linear to 4×4×512, no norm
    c_in = 512
    for c in (256, 128, 64):  # 4×4 transposed convs, each with BN (γ, β)
        g += 4 * 4 * c_in * c + c + 2 * c
        c_in = c
    g += 3 * 3 * 64 * channels + channels  # 3×3 transposed conv to the image
    d, c_in = 0, channels
    for c, k in ((64, 3), (64, 4), (128, 3), (128, 4), (256, 3), (256, 4), (512, 3)):
        d += k * k * c_in * c + c
        c_in = c
    d += 4 * 4 * 512 * 2 + 2  # 32 → 16 → 8 → 4: Linear over 4×4×512 to 2 logits
    return g, d


@pytest.mark.parametrize(
    "config,channels", [("cifar10_odegan_dcgan", 3), ("fashion_mnist_odegan_official", 1)]
)
def test_parameter_counts_match_the_official_layer_list(config, channels):
    c = resolve_config(config, [])
    shape = (32, 32, channels)
    summary = describe_networks(c.model, shape)
    g, d = official_counts(channels)
    # CIFAR-10: G 3,812,355 / D 2,944,066; Fashion-MNIST (1 channel): 3,811,201 / 2,942,914
    assert (summary["G"]["params"], summary["D"]["params"]) == (g, d)
    assert c.model.init == "sonnet"


def test_sonnet_initialiser_is_truncated_normal_of_std_one_over_sqrt_fan_in():
    from odegan_jax.models.layers import kernel_init

    w = np.asarray(kernel_init("sonnet")(jax.random.PRNGKey(0), (4, 4, 256, 128)))
    fan_in = 4 * 4 * 256
    assert np.abs(w).max() <= 2 / np.sqrt(fan_in) + 1e-7  # cut at ±2σ
    # a normal cut at ±2σ keeps 0.7737 of its variance (not rescaled, as TF / Sonnet)
    assert w.std() * np.sqrt(fan_in) == pytest.approx(np.sqrt(0.7737), rel=0.01)


def test_describe_prints_layers_without_data_and_writes_json(tmp_path):
    out = tmp_path / "d.json"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "odegan_jax.cli",
            "describe",
            "cifar10_odegan_dcgan",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ, CI="true"),
    )
    assert r.returncode == 0, r.stderr  # CIFAR-10 is not on this machine: no data read
    assert "OfficialDCGANDiscriminator" in r.stdout and "Conv_6" in r.stdout
    assert json.loads(out.read_text()) == {
        "G": {"params": official_counts(3)[0]},
        "D": {"params": official_counts(3)[1]},
    }


def test_fashion_mnist_is_padded_to_32_with_the_background():
    from odegan_jax.data.images import pad, unpad

    x = np.random.default_rng(0).uniform(-1, 1, (2, 28, 28, 1)).astype(np.float32)
    p = pad(x, 32)
    assert p.shape == (2, 32, 32, 1) and (p[:, :2] == -1).all() and (p[:, :, -2:] == -1).all()
    np.testing.assert_array_equal(unpad(p, (28, 28, 1)), x)
