"""Latent walks (GANnotes): linear and spherical interpolation, latent vector arithmetic.

``slerp(a, b, t) = sin((1−t)Ω)/sin Ω · a + sin(tΩ)/sin Ω · b`` with Ω the angle between a and
b (falls back to lerp when they are parallel): under a Gaussian prior it stays in the shell
where latents have mass, which lerp leaves at mid-path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jax
import numpy as np
from chex import ArrayTree
from jax import Array

if TYPE_CHECKING:
    from odegan_jax.game import Game


def lerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    t = np.asarray(t, np.float64)[:, None]
    return (1 - t) * a[None] + t * b[None]


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    t = np.asarray(t, np.float64)[:, None]
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    cos = np.dot(a64, b64) / (np.linalg.norm(a64) * np.linalg.norm(b64))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return lerp(a64, b64, t[:, 0])
    return (np.sin((1 - t) * omega) * a64[None] + np.sin(t * omega) * b64[None]) / np.sin(omega)


def interpolation_grid(
    game: Game, params: ArrayTree, model_state: Any, key: Array, rows: int, cols: int, mode: str
) -> np.ndarray:
    """``rows`` walks of ``cols`` steps between random latent pairs: images [rows·cols, ...]."""
    ends = np.asarray(game.sample_latents(key, 2 * rows), np.float64)
    t = np.linspace(0.0, 1.0, cols)
    walk = slerp if mode == "slerp" else lerp
    z = np.concatenate([walk(ends[2 * r], ends[2 * r + 1], t) for r in range(rows)])
    return np.asarray(game.generate(params, model_state, z.astype(np.float32)))


def arithmetic_grid(
    game: Game, params: ArrayTree, model_state: Any, key: Array, rows: int
) -> np.ndarray:
    """Rows of [G(a), G(b), G(c), G(a − b + c)] (GANnotes's vector arithmetic; each of a, b, c the
    mean of three latents, as in DCGAN, to steady the concept it carries)."""
    z = np.asarray(game.sample_latents(key, rows * 9), np.float64).reshape(rows, 3, 3, -1)
    a, b, c = z.mean(axis=2).transpose(1, 0, 2)
    grid = np.stack([a, b, c, a - b + c], axis=1).reshape(rows * 4, -1)
    return np.asarray(game.generate(params, model_state, grid.astype(np.float32)))


def latent_walks(
    game: Game, params: ArrayTree, model_state: Any, key: Array, rows: int = 6, cols: int = 10
) -> dict:
    """``{"interpolate_lerp": images, "interpolate_slerp": images, "latent_arithmetic":
    images}``: ``rows`` walks of ``cols`` latents each way, and ``rows`` rows of arithmetic."""
    key_i, key_a = jax.random.split(key)
    walks = {
        f"interpolate_{mode}": interpolation_grid(
            game, params, model_state, key_i, rows, cols, mode
        )
        for mode in ("lerp", "slerp")
    }
    walks["latent_arithmetic"] = arithmetic_grid(game, params, model_state, key_a, rows)
    return walks
