import os
import sys
import tempfile

os.environ.setdefault("CI", "true")  # code under test shows no progress bars
# One persistent XLA compilation cache for the whole session, shared by the xdist workers
# and by every `odegan` subprocess they start (the environment is inherited): the CLI tests
# compile the same programs many times. Results are unchanged (the same executables).
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR",
                      os.path.join(tempfile.gettempdir(), "odegan_jax_test_xla_cache"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
sys.path.insert(0, os.path.dirname(__file__))  # tests/games.py
