"""XLA on CPU: the two changes to how JAX compiles our training programs there.

1. **YNNPACK fusions off.** XLA's CPU compiler in the JAX releases we use hands dots and their
   elementwise neighbours to YNNPACK as "ynn fusions" (``xla_cpu_experimental_ynn_fusion_type``).
   On the small products of these networks they run slower than XLA's own dots and fused loops:
   in one process, alternating (BUILD_NOTES, "Performance"), the notebook's MLP step 8.2 → 6.6 ms
   and the main job's 3.3 → 2.7 ms; the DCGAN-28 Adam step 322 / 357 → 235 / 223 ms. So the
   training programs (:func:`compiler_options`, used by ``train.jit_steps`` and
   ``parallel.jit_replicated``) are compiled with them off. Other kernels sum in another order,
   so runs' ``params_sha256`` differ from those of earlier releases of this package (float
   rounding; the main job's quality was re-measured on 16 seeds). Where a jaxlib does not know
   the option, the programs compile with XLA's default and a warning says so once.

2. **Unrolled threefry.** JAX lowers its threefry PRNG on CPU with *rolled* loops (five
   ``while`` iterations of rounds, to keep compilation small); XLA runs each iteration as
   separate unfused kernels. In the MLP training step (fresh minibatch and latents drawn inside
   every step) those loops took a fifth to a third of the step on this machine. The unrolled
   lowering, which JAX itself uses on every other platform, computes the same bits (the same
   rounds in the same order). It costs compilation (+4.5 s for the DCGAN step, whose run time
   the convolutions dominate), so :func:`compile_with_unrolled_threefry` applies it to the
   programs that gain (the 2D MLP steps) and leaves JAX's default for everything else. It relies
   on private names of ``jax._src.random.threefry2x32``; if a JAX release renames them, the
   programs compile with JAX's default lowering and a warning says so once.
"""
from __future__ import annotations

import contextlib
import functools
import threading
import warnings
from typing import Callable

_lock = threading.Lock()
_warned = False

# XLA debug options for the training programs on CPU: no YNNPACK fusions (see above)
CPU_TRAINING_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": ""}


@functools.cache
def compiler_options() -> dict:
    """The XLA options the training programs compile with on this backend: on CPU
    :data:`CPU_TRAINING_OPTIONS` when this jaxlib accepts them (checked once on a one-op
    program), else none; on accelerators none."""
    import jax
    if jax.default_backend() != "cpu":
        return {}
    try:
        jax.jit(lambda x: x + 1).lower(1.0).compile(compiler_options=CPU_TRAINING_OPTIONS)
    except Exception as e:  # pragma: no cover - depends on the release
        warnings.warn(f"odegan_jax: this jaxlib does not take XLA's option to turn YNNPACK "
                      f"fusions off ({e}); training is correct but slower on CPU")
        return {}
    return dict(CPU_TRAINING_OPTIONS)


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
