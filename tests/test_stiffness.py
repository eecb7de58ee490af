"""The stiffness tool against closed forms: the Dirac-GAN's eigenvalues (±i·w; −λ ± i√(1 − λ²)
with the regulariser), the stability limits of the classical schemes, and ARPACK against the
dense Jacobian on an MLP game."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from odegan_jax import stiffness as st
from odegan_jax.config import resolve_config
from odegan_jax.experiment import build, init_state


def _dirac(reg: float):
    exp = build(resolve_config("dirac", [f"--config.rule.reg_weight={reg}"]))
    return st.measure(exp, init_state(exp))


def test_dirac_without_regulariser_rotates_and_only_rk4_like_schemes_are_stable():
    m = _dirac(0.0)
    np.testing.assert_allclose(sorted(m.eigenvalues, key=lambda z: z.imag), [-1j, 1j], atol=1e-6)
    assert m.h_max["rk4"] == pytest.approx(2 * math.sqrt(2), rel=1e-6)  # w = 1
    assert m.h_max["kutta3"] == pytest.approx(math.sqrt(3), rel=1e-6)
    assert m.h_max["euler"] == 0.0 and m.h_max["heun"] == 0.0


@pytest.mark.parametrize("reg", [0.05, 0.3])
def test_dirac_with_regulariser_damps_and_euler_becomes_stable(reg):
    m = _dirac(reg)
    expected = [complex(-reg, s * math.sqrt(1 - reg**2)) for s in (-1, 1)]
    np.testing.assert_allclose(sorted(m.eigenvalues, key=lambda z: z.imag), expected, atol=1e-6)
    # |1 + hμ|² ≤ 1 ⇔ h ≤ −2 Re μ / |μ|² = 2λ (|μ| = 1)
    assert m.h_max["euler"] == pytest.approx(2 * reg, rel=1e-6)
    assert m.h_max["heun"] > 0


def test_stability_limits_on_the_real_axis_are_the_textbook_values():
    limits = {"euler": 2.0, "heun": 2.0, "rk4": 2.785293563405}  # |R(−x)| = 1
    for name, x in limits.items():
        coeffs = st.stability_polynomial(st.TABLEAUX[name])
        assert st.stable_step(coeffs, -1.0) == pytest.approx(x, rel=1e-9)
        # the bound scales as 1/|λ|, however large λ is
        assert st.stable_step(coeffs, -3e3) == pytest.approx(x / 3e3, rel=1e-9)
    # a growing mode bounds nothing; a decaying one does
    assert st.h_max([0.5, -2.0])["euler"] == pytest.approx(1.0)


def test_arnoldi_agrees_with_the_dense_jacobian():
    exp = build(
        resolve_config("mog16_main", ["--config.model.width=12", "--config.data.batch_size=16"])
    )
    state = init_state(exp)
    y0, f, inputs = st.training_field(
        exp, state, st.fixed_batch(exp, st.probe_key(exp)), st.probe_key(exp)
    )
    assert y0.size > st.DENSE_MAX  # the ARPACK path
    arnoldi, converged = st.leading_eigenvalues(f, y0, inputs, k=4, tol=1e-8)
    import jax

    dense = np.linalg.eigvals(np.asarray(jax.jacfwd(f)(y0, *inputs), np.float64))
    dense = dense[np.argsort(-np.abs(dense))][:4]
    assert converged
    np.testing.assert_allclose(np.sort(np.abs(arnoldi)), np.sort(np.abs(dense)), rtol=1e-3)


def test_cli_stiffness_json_and_bad_input(tmp_path):
    out = tmp_path / "s.json"
    env = dict(os.environ, CI="true")
    run = lambda *a: subprocess.run(
        [sys.executable, "-m", "odegan_jax.cli", *a],  # noqa: E731
        capture_output=True,
        text=True,
        env=env,
    )
    r = run("stiffness", "dirac", "--json", str(out))
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    assert data["h_max"]["rk4"] == pytest.approx(2 * math.sqrt(2), rel=1e-6)
    assert sorted(abs(im) for _, im in data["eigenvalues"]) == pytest.approx([1.0, 1.0])
    r = run("stiffness", "dcgan_fashion_mnist")  # an optax rule
    assert r.returncode == 2 and "rule.name='ode'" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text(json.dumps(resolve_config("dirac", []).to_dict()))
    r = run("stiffness", str(tmp_path / "run"))
    assert r.returncode == 2 and "no checkpoints" in r.stderr


def test_train_warns_before_compiling_when_h_is_unstable(tmp_path):
    # Euler on the rotation: no h > 0 is stable
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "odegan_jax.cli",
            "train",
            "--config",
            "dirac",
            "--config.rule.integrator=euler",
            "--config.steps=10",
            "--workdir",
            str(tmp_path / "w"),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ, CI="true"),
    )
    assert r.returncode == 0, r.stderr
    warning = [l for l in (r.stdout + r.stderr).splitlines() if "warning" in l]
    assert len(warning) == 1 and "outside euler's stable range" in warning[0]
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "odegan_jax.cli",
            "train",
            "--config",
            "dirac",
            "--config.rule.h=auto",
            "--config.rule.reg_weight=0.1",
            "--config.rule.integrator=euler",
            "--config.steps=10",
            "--workdir",
            str(tmp_path / "a"),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ, CI="true"),
    )
    assert r.returncode == 0, r.stderr
    saved = json.loads((tmp_path / "a" / "config.json").read_text())
    assert saved["rule"]["h"] == pytest.approx(0.5 * 0.2, rel=1e-5)  # half of h_max = 2λ
