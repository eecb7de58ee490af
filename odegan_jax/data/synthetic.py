"""2D toy distributions, sampled from a PRNG key.

Each is a :class:`Distribution2D`: a sampler plus the reference points ("modes") and the
scale σ that the 2D metrics use (see :mod:`odegan_jax.metrics.modes`).

* ``mog8``: 8 Gaussians on a circle of radius 2, σ = 0.02 (Yamazaki17's Gaussian mixture, the
  common GAN toy set).
* ``mog25``: 5×5 grid with means in {-4, -2, 0, 2, 4}², σ = 0.05.
* ``mog16``: the official ODE-GAN notebook's 4×4 grid, means ±0.5 / ±1.5, σ = 0.02. With
  ``stratified=True`` every batch holds the 16 means in the notebook's fixed order, tiled
  (as its ``real_data``); otherwise each sample picks its mode uniformly at random.
* ``swiss_roll``: t ~ 1.5π(1 + 2U), x = (t cos t, t sin t) + 0.2·N(0, I) (scikit-learn's
  ``make_swiss_roll(noise=0.2)`` in the plane), scaled by 1/7.5 so that it spans about
  [-1.7, 1.7]², centred at the origin. Its "modes" are 16 arcs of equal t-range along the
  noiseless spiral.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

SWISS_ROLL_SCALE = 7.5


class Distribution2D(NamedTuple):
    name: str
    sample: Callable[[jax.Array, int], jax.Array]  # (key, n) -> [n, 2] float32
    modes: np.ndarray  # [K, 2] reference points (mode means or arc centres)
    std: float  # σ for the 3σ quality rule
    curve: np.ndarray | None = None  # [M, 2] dense noiseless curve (Swiss roll), else None
    curve_labels: np.ndarray | None = None  # [M] arc index of each curve point


def mog8_means(radius: float = 2.0) -> np.ndarray:
    angles = 2 * np.pi * np.arange(8) / 8
    return np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)


def mog25_means() -> np.ndarray:
    grid = np.arange(-4.0, 5.0, 2.0)
    return np.array([(x, y) for x in grid for y in grid])


def mog16_means() -> np.ndarray:
    """The 16 means in the notebook's order (x descending, then y descending per column)."""
    order = (1.5, 0.5, -1.5, -0.5)
    return np.array([(x, y) for x in order for y in (1.5, 0.5, -0.5, -1.5)])


def sample_mixture(
    key: jax.Array, n: int, means: np.ndarray, std: float, stratified: bool = False
) -> jax.Array:
    means = jnp.asarray(means, jnp.float32)
    k_idx, k_noise = jax.random.split(key)
    if stratified:
        idx = jnp.arange(n) % means.shape[0]
    else:
        idx = jax.random.randint(k_idx, (n,), 0, means.shape[0])
    return means[idx] + std * jax.random.normal(k_noise, (n, 2))


def _swiss_roll_t(u):
    return 1.5 * math.pi * (1.0 + 2.0 * u)


def sample_swiss_roll(key: jax.Array, n: int, noise: float = 0.2) -> jax.Array:
    k_t, k_noise = jax.random.split(key)
    t = _swiss_roll_t(jax.random.uniform(k_t, (n,)))
    x = jnp.stack([t * jnp.cos(t), t * jnp.sin(t)], axis=1)
    x = x + noise * jax.random.normal(k_noise, (n, 2))
    return x / SWISS_ROLL_SCALE


def _swiss_roll_reference(noise: float, arcs: int = 16, points: int = 4000):
    u = (np.arange(points) + 0.5) / points
    t = _swiss_roll_t(u)
    curve = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / SWISS_ROLL_SCALE
    labels = np.minimum((u * arcs).astype(np.int64), arcs - 1)
    centres = np.stack([curve[labels == a].mean(axis=0) for a in range(arcs)])
    return centres, noise / SWISS_ROLL_SCALE, curve, labels


DISTRIBUTIONS_2D = ("mog8", "mog25", "mog16", "swiss_roll")


def make_distribution(name: str, *, stratified: bool = False, noise: float = 0.2) -> Distribution2D:
    if name == "mog8":
        means, std = mog8_means(), 0.02
    elif name == "mog25":
        means, std = mog25_means(), 0.05
    elif name == "mog16":
        means, std = mog16_means(), 0.02
    elif name == "swiss_roll":
        centres, std, curve, labels = _swiss_roll_reference(noise)
        return Distribution2D(
            name, lambda key, n: sample_swiss_roll(key, n, noise), centres, std, curve, labels
        )
    else:
        raise ValueError(f"unknown 2D dataset {name!r}; allowed: {', '.join(DISTRIBUTIONS_2D)}")
    return Distribution2D(
        name, lambda key, n: sample_mixture(key, n, means, std, stratified), means, std
    )
