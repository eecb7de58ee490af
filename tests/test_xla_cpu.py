"""odegan_jax.xla_cpu: the unrolled threefry lowering on CPU gives JAX's own random bits
(the rolled lowering, JAX's CPU default, is the reference) without the rolled loops."""
from __future__ import annotations

import jax
import numpy as np
from jax._src.interpreters import mlir
from jax._src.random import threefry2x32 as threefry

from odegan_jax import xla_cpu


def _draws():
    def f(key):
        k1, k2 = jax.random.split(jax.random.fold_in(key, 7))
        return jax.random.normal(k1, (512, 32)), jax.random.uniform(k2, (1000,)), k1
    compiled = jax.jit(f).lower(jax.random.PRNGKey(3)).compile()
    return [np.asarray(x) for x in compiled(jax.random.PRNGKey(3))], compiled.as_text()


def test_unrolled_threefry_draws_the_same_bits_without_loops():
    assert xla_cpu.unroll_threefry()
    try:
        mlir.register_lowering(threefry.threefry2x32_p,
                               threefry._threefry2x32_cpu_lowering_rule, platform="cpu")
        rolled, rolled_hlo = _draws()
    finally:
        xla_cpu._done = False
        assert xla_cpu.unroll_threefry()
    unrolled, unrolled_hlo = _draws()
    assert " while(" in rolled_hlo and " while(" not in unrolled_hlo
    for a, b in zip(rolled, unrolled):
        assert a.dtype == b.dtype and np.array_equal(a, b)
