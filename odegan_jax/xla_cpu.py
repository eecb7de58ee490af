"""XLA on CPU: the two changes to how JAX compiles our training programs there, and how the
process's allocator is set up for XLA's CPU runtime.

1. **YNNPACK fusions off for conv nets.** XLA's CPU compiler in the JAX releases we use
   hands dots, convolutions and their elementwise neighbours to YNNPACK as "ynn fusions"
   (``xla_cpu_experimental_ynn_fusion_type``). On the DCGAN-28 Adam step they run far slower
   than XLA's own kernels: 375 → 233 ms a step, alternating fresh processes (PyTorch 232 ms;
   BUILD_NOTES, "Performance"). So the training programs of image models
   (:func:`compiler_options`, used by ``train.jit_steps`` and ``parallel.jit_replicated``)
   are compiled with them off; their ``params_sha256`` differ from earlier releases of this
   package (other kernels, other summation order). The 2D MLP programs keep XLA's default:
   there the gain was 1.05–1.15x, within this machine's noise, and it would have changed the
   main job's and the committed 2D studies' numbers. Where a jaxlib does not know the option,
   the programs compile with XLA's default and a warning says so once.

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

3. **Freed memory kept in the process.** XLA's CPU runtime allocates a program's temporaries
   with ``malloc`` at every call and frees them after. glibc hands blocks over its mmap
   threshold straight back to the kernel and trims the free top of each heap past 128 KiB,
   so the next call's buffers are fresh pages, zeroed by the kernel on first touch. A
   DCGAN-28 step (batch 64, feature maps of 0.8–3.2 MB) took ~20 k minor page faults a step
   that way (~80 MB of fresh pages).
   :func:`retain_freed_memory` (``mallopt``: trim threshold 1 GiB, top pad 64 MiB, mmap
   threshold 32 MiB, glibc's largest) lets freed blocks be reused: 98 → 71 ms a step on a
   2-core Zen 4 (BUILD_NOTES, "Performance"). The numbers are the same bits: only where the
   buffers live changes. The cost is memory: a process keeps what it has freed (up to its
   peak use) instead of returning it. ``odegan`` calls it at start; a notebook can too.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

_lock = threading.Lock()
_warned = False

# XLA debug options for the image training programs on CPU: no YNNPACK fusions (above)
CPU_TRAINING_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": ""}


# glibc's mallopt parameters (malloc.h) and the values retain_freed_memory sets
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
RETAIN_SETTINGS = (
    (_M_TRIM_THRESHOLD, 1 << 30),
    (_M_TOP_PAD, 64 << 20),
    (_M_MMAP_THRESHOLD, 32 << 20),
)


def retain_freed_memory() -> bool:
    """Set glibc's allocator to keep and reuse freed memory (item 3 of the module doc) for
    the rest of the process. True when set; False where the C library is not glibc (macOS,
    musl) or refuses a value, which leaves its defaults: nothing else changes."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
        ctypes.CDLL(None).gnu_get_libc_version  # noqa: B018 - glibc only
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return all(mallopt(param, value) == 1 for param, value in RETAIN_SETTINGS)


@functools.cache
def _cpu_options_accepted() -> bool:
    """Whether this jaxlib's CPU compiler takes :data:`CPU_TRAINING_OPTIONS` (checked once
    on a one-op program)."""
    import jax

    try:
        jax.jit(lambda x: x + 1).lower(1.0).compile(compiler_options=CPU_TRAINING_OPTIONS)
    except Exception as e:  # pragma: no cover - depends on the release
        warnings.warn(
            f"odegan_jax: this jaxlib does not take XLA's option to turn YNNPACK "
            f"fusions off ({e}); image training is correct but slower on CPU",
            stacklevel=2,
        )
        return False
    return True


def compiler_options(sample_shape: tuple) -> dict:
    """The XLA options the training programs of data shaped ``sample_shape`` compile with:
    on CPU, for images (anything but 2D points), :data:`CPU_TRAINING_OPTIONS` when this
    jaxlib takes them; otherwise none (XLA's default)."""
    import jax

    if tuple(sample_shape) == (2,) or jax.default_backend() != "cpu":
        return {}
    return dict(CPU_TRAINING_OPTIONS) if _cpu_options_accepted() else {}


def _rules():
    from jax._src.interpreters import mlir
    from jax._src.random import threefry2x32 as threefry

    return (
        mlir,
        threefry.threefry2x32_p,
        threefry._threefry2x32_lowering_rule,
        threefry._threefry2x32_cpu_lowering_rule,
    )


@contextlib.contextmanager
def unrolled_threefry() -> AbstractContextManager:
    """Programs lowered inside use JAX's unrolled threefry lowering on CPU."""
    global _warned
    try:
        mlir, prim, unrolled, rolled = _rules()
    except (ImportError, AttributeError) as e:  # pragma: no cover - depends on the release
        if not _warned:
            _warned = True
            warnings.warn(
                f"odegan_jax: JAX's threefry lowering could not be unrolled on CPU "
                f"({e}); training is correct but slower on CPU",
                stacklevel=2,
            )
        yield
        return
    with _lock:
        mlir.register_lowering(prim, unrolled, platform="cpu")
        try:
            yield
        finally:
            mlir.register_lowering(prim, rolled, platform="cpu")


def compile_with_unrolled_threefry(jitted: Any) -> Callable:
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
