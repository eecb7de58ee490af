"""odegan_jax.xla_cpu: programs compiled with the unrolled threefry lowering on CPU draw
JAX's own random bits (JAX's default, the rolled lowering, is the reference) without the
rolled loops, and only the programs compiled inside get it."""
from __future__ import annotations

import jax
import numpy as np

from odegan_jax import xla_cpu


def _draw(key):
    k1, k2 = jax.random.split(jax.random.fold_in(key, 7))
    return jax.random.normal(k1, (512, 32)), jax.random.uniform(k2, (1000,)), k1


def test_unrolled_threefry_draws_the_same_bits_without_loops():
    key = jax.random.PRNGKey(3)
    default = jax.jit(_draw).lower(key).compile()
    fast = xla_cpu.compile_with_unrolled_threefry(jax.jit(lambda k: _draw(k)))
    assert " while(" in default.as_text()
    with xla_cpu.unrolled_threefry():
        assert " while(" not in jax.jit(lambda k: _draw(k)).lower(key).compile().as_text()
    # outside the context JAX's default is back
    assert " while(" in jax.jit(lambda k: _draw(k)).lower(key).compile().as_text()
    for a, b in zip(default(key), fast(key)):
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype and np.array_equal(a, b)
