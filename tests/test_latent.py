"""Latent walks against their closed forms."""

import numpy as np

from odegan_jax.latent import lerp, slerp


def test_slerp_endpoints_norm_and_angle():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=16), rng.normal(size=16)
    b *= np.linalg.norm(a) / np.linalg.norm(b)  # equal norms
    t = np.linspace(0, 1, 7)
    path = slerp(a, b, t)
    np.testing.assert_allclose(path[0], a, atol=1e-12)
    np.testing.assert_allclose(path[-1], b, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linalg.norm(a), rtol=1e-12)
    omega = np.arccos(a @ b / (a @ a))
    angles = np.arccos(
        np.clip(path @ a / (np.linalg.norm(path, axis=1) * np.linalg.norm(a)), -1, 1)
    )
    np.testing.assert_allclose(angles, t * omega, atol=1e-7)  # constant angular speed
    mid = lerp(a, b, [0.5])[0]
    assert np.linalg.norm(mid) < np.linalg.norm(a)  # lerp cuts through the shell
    np.testing.assert_allclose(slerp(a, 2 * a, [0.5])[0], 1.5 * a)  # parallel: lerp
