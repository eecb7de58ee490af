"""XLA on CPU: the one change to how JAX lowers our programs there.

JAX lowers its threefry PRNG on CPU with *rolled* loops (five ``while`` iterations of
rounds, to keep compilation small); XLA runs each iteration as separate unfused kernels. In
the MLP training step (fresh minibatch and latents drawn inside every step) those loops took
a fifth to a third of the step on this machine (BUILD_NOTES, "Performance"). The unrolled
lowering, which JAX itself uses on every other platform, computes the same bits (the same
rounds in the same order), so every run's ``params_sha256`` is unchanged.

The unrolled lowering costs compilation: +4.5 s for the DCGAN step, whose run time the
convolutions dominate. So :func:`compile_with_unrolled_threefry` applies it to the programs
that gain (the 2D MLP steps) and leaves JAX's default for everything else.

It relies on private names of ``jax._src.random.threefry2x32``; if a JAX release renames
them, the programs compile with JAX's default lowering and a warning says so once.
"""
from __future__ import annotations

import contextlib
import threading
import warnings
from typing import Callable

_lock = threading.Lock()
_warned = False


def _rules():
    from jax._src.interpreters import mlir
    from jax._src.random import threefry2x32 as threefry
    return (mlir, threefry.threefry2x32_p, threefry._threefry2x32_lowering_rule,
            threefry._threefry2x32_cpu_lowering_rule)


@contextlib.contextmanager
def unrolled_threefry():
    """Programs lowered inside use JAX's unrolled threefry lowering on CPU."""
    global _warned
    try:
        mlir, prim, unrolled, rolled = _rules()
    except (ImportError, AttributeError) as e:  # pragma: no cover - depends on the release
        if not _warned:
            _warned = True
            warnings.warn(f"odegan_jax: JAX's threefry lowering could not be unrolled on CPU "
                          f"({e}); training is correct but slower on CPU")
        yield
        return
    with _lock:
        mlir.register_lowering(prim, unrolled, platform="cpu")
        try:
            yield
        finally:
            mlir.register_lowering(prim, rolled, platform="cpu")


def compile_with_unrolled_threefry(jitted) -> Callable:
    """``jitted`` (a ``jax.jit`` function), lowered and compiled for its first arguments
    inside :func:`unrolled_threefry`; later calls with arguments of the same shapes run that
    executable (donation as ``jitted`` declares)."""
    compiled = []

    def call(*args):
        if not compiled:
            with unrolled_threefry():
                compiled.append(jitted.lower(*args).compile())
        return compiled[0](*args)

    call.jitted = jitted  # for cost analysis and lowering elsewhere
    return call
