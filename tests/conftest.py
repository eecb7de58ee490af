import os
import sys
import tempfile

os.environ.setdefault("CI", "true")  # code under test shows no progress bars
# One persistent XLA compilation cache for the whole session, shared by the xdist workers
# and by every `odegan` subprocess they start (the environment is inherited): the CLI tests
# compile the same programs many times. Results are unchanged (the same executables).
os.environ.setdefault(
    "JAX_COMPILATION_CACHE_DIR", os.path.join(tempfile.gettempdir(), "odegan_jax_test_xla_cache")
)
# The `odegan` subprocesses cache every program, however small: flax's op-by-op init of
# each one's networks alone compiles ~50 tiny programs (init 3.1 -> 1.2 s per process when
# they come from the cache). The test processes themselves keep JAX's threshold (below):
# writing each of their many eager ops to disk cost more than it saved.
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
# Tests compile many programs and run each for a few steps: compile them fast (LLVM at -O0,
# without its expensive passes). Cold, this halves the compile-bound tests (the image
# networks: 203 -> 101 s) and slows a few run-bound ones. The
# programs compute the same operations; runs compared within the suite share the flags.
TEST_XLA_FLAGS = "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
if TEST_XLA_FLAGS not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {TEST_XLA_FLAGS}".strip()
sys.path.insert(0, os.path.dirname(__file__))  # tests/games.py

import jax  # noqa: E402  (after the environment above, which it reads)

jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
