"""XLA on CPU: the one change to how JAX lowers our programs there.

JAX lowers its threefry PRNG on CPU with *rolled* loops (five ``while`` iterations of
rounds, to keep compilation small); XLA runs each iteration as separate unfused kernels. In
the MLP training step (fresh minibatch and latents drawn inside every step) those loops took
about a third of the step on this machine (BUILD_NOTES, "Performance"). The unrolled
lowering, which JAX itself uses on every other platform, computes the same bits (the same
rounds in the same order), so every run's ``params_sha256`` is unchanged.

It relies on two private names of ``jax._src.random.threefry2x32``; if a JAX release
renames them, :func:`unroll_threefry` leaves JAX's default in place and says so once.
"""
from __future__ import annotations

import warnings

_done = False


def unroll_threefry() -> bool:
    """Registers JAX's unrolled threefry lowering for CPU (idempotent); True when in use."""
    global _done
    if _done:
        return True
    try:
        from jax._src.interpreters import mlir
        from jax._src.random import threefry2x32 as threefry
        mlir.register_lowering(threefry.threefry2x32_p, threefry._threefry2x32_lowering_rule,
                               platform="cpu")
    except (ImportError, AttributeError) as e:  # pragma: no cover - depends on the JAX release
        warnings.warn(f"odegan_jax: JAX's threefry lowering could not be unrolled on CPU ({e}); "
                      f"training is correct but slower on CPU")
        return False
    _done = True
    return True
