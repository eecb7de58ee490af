"""odegan_jax.xla_cpu: programs compiled with the unrolled threefry lowering on CPU draw
JAX's own random bits (JAX's default, the rolled lowering, is the reference) without the
rolled loops, and only the programs compiled inside get it; the training programs compile
without YNNPACK fusions on CPU. And the XLA flag the package sets on import (deterministic
GPU programs). And the allocator setting the CLI makes at start (freed memory reused)."""

from __future__ import annotations

import platform
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

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


def test_conv_training_programs_compile_without_ynn_fusions_on_cpu():
    """An image GAN's training step: XLA's default hands its dots to YNNPACK ("ynn" fusions);
    ``train.jit_steps`` compiles it without them, to the same numbers up to float rounding.
    The 2D MLP steps keep XLA's default options."""
    from odegan_jax import train
    from odegan_jax.config import load_config
    from odegan_jax.experiment import build, init_state

    assert xla_cpu.compiler_options((2,)) == {}
    assert xla_cpu.compiler_options((8, 8, 1)) == xla_cpu.CPU_TRAINING_OPTIONS  # CPU suite
    config = load_config("ngan_digits")
    config.data.batch_size = 16
    exp = build(config)
    state = init_state(exp)
    train_set = jnp.asarray(exp.dataset.train)
    fn = train.make_train_fn(exp, 1)
    plain = jax.jit(fn.__wrapped__)
    ours = fn.lower(state, train_set).compile().as_text()
    default = plain.lower(state, train_set).compile().as_text()
    if "%ynn_fusion" not in default:
        pytest.skip("this jaxlib makes no YNNPACK fusions by default")
    assert "%ynn_fusion" not in ours and " dot(" in ours
    (a, ma), (b, mb) = fn(jax.tree.map(jnp.copy, state), train_set), plain(state, train_set)
    for key in ("loss_d", "loss_g", "grad_norm_d", "grad_norm_g"):
        np.testing.assert_allclose(ma[key], mb[key], rtol=1e-5)
    # one Adam step (lr 2e-4, ~lr·sign(g) at the start): a gradient near 0 may round to
    # another update, so parameters agree to a tenth of a step
    for x, y in zip(jax.tree.leaves(a.params), jax.tree.leaves(b.params)):
        np.testing.assert_allclose(x, y, rtol=0, atol=2e-5)


def _xla_flags_after_import(env: dict) -> str:
    """XLA_FLAGS as a fresh interpreter sees them after ``import odegan_jax``."""
    import os
    import subprocess
    import sys

    base = {
        k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "ODEGAN_GPU_DETERMINISTIC")
    }
    out = subprocess.run(
        [sys.executable, "-c", "import os, odegan_jax; print(os.environ.get('XLA_FLAGS', ''))"],
        env={**base, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_import_asks_for_deterministic_gpu_programs_unless_told_not_to():
    assert _xla_flags_after_import({}) == "--xla_gpu_deterministic_ops=true"
    assert _xla_flags_after_import({"XLA_FLAGS": "--xla_cpu_enable_fast_math=false"}) == (
        "--xla_cpu_enable_fast_math=false --xla_gpu_deterministic_ops=true"
    )
    # the user's own choice and the opt-out are left alone
    assert _xla_flags_after_import({"XLA_FLAGS": "--xla_gpu_deterministic_ops=false"}) == (
        "--xla_gpu_deterministic_ops=false"
    )
    assert _xla_flags_after_import({"ODEGAN_GPU_DETERMINISTIC": "0"}) == ""


# A process that allocates and frees buffers of a few MB, growing by a page each round (as
# XLA's CPU runtime allocates a program's temporaries at every call); prints its minor page
# faults over 40 rounds, after warm-up. argv[1] == "1": retain_freed_memory() first.
_FAULTS = """
import resource, sys
import numpy as np
if sys.argv[1] == "1":
    from odegan_jax.xla_cpu import retain_freed_memory
    assert retain_freed_memory()
def work(rounds):
    for i in range(rounds):
        bufs = [np.ones((s << 18) + 1024 * i, np.float32) for s in (12, 3, 6, 1, 9)]
        del bufs[0], bufs[1]
        del bufs
work(3)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
work(40)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")
def test_retained_memory_is_reused_without_new_page_faults():
    """The kernel's count of minor page faults (a fresh page touched) is the independent
    measure: with glibc's defaults every round maps and zeroes new pages for its buffers;
    after retain_freed_memory() the rounds reuse what the earlier ones freed."""
    faults = {}
    for tuned in ("0", "1"):
        out = subprocess.run(
            [sys.executable, "-c", _FAULTS, tuned], capture_output=True, text=True, check=True
        )
        faults[tuned] = int(out.stdout.split()[-1])
    # 40 rounds of ~31 MB: ~7,600 pages each round if none is reused
    assert faults["0"] > 40 * 1000, faults
    assert faults["1"] < faults["0"] / 20, faults
