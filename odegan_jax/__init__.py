"""odegan_jax: GAN training as an ODE solve (ODE-GAN), Neural-ODE GANs and baselines in JAX.

Importing the package asks XLA for deterministic GPU programs (``--xla_gpu_deterministic_ops``
appended to ``XLA_FLAGS``, read when JAX starts its backends: import odegan_jax before running
any JAX computation). Without it two runs of the same config and seed on one H100 ended with
different parameters (atomic reductions sum in varying order); with it they were bit-identical,
at the same speed (BUILD_NOTES, "Runs"). CPUs ignore the flag. ``ODEGAN_GPU_DETERMINISTIC=0``, or
the flag set in ``XLA_FLAGS`` by the user, leaves XLA's choice alone.
"""

import os as _os

__version__ = "0.1.0"

DETERMINISM_FLAG = "--xla_gpu_deterministic_ops"


def _deterministic_gpu() -> None:
    flags = _os.environ.get("XLA_FLAGS", "")
    if _os.environ.get("ODEGAN_GPU_DETERMINISTIC", "1") != "0" and DETERMINISM_FLAG not in flags:
        _os.environ["XLA_FLAGS"] = f"{flags} {DETERMINISM_FLAG}=true".strip()


_deterministic_gpu()
