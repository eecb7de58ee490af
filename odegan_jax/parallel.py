"""Data parallelism over all local devices: ``jax.jit`` with a Mesh and NamedSharding.

With more than one device the minibatch axis is sharded over a one-axis mesh ``("data",)``
and everything else (params, model state, integrator / optimiser state, keys) is replicated.
The training step is the single-device program: XLA's SPMD partitioner inserts the
all-reduces that the means over the batch need (losses, gradients, BatchNorm statistics), so
results equal single-device results up to float reassociation. Used automatically when
``jax.local_device_count() > 1``.

Multi-host: call ``jax.distributed.initialize()`` first on every host (see the README); the
mesh then spans ``jax.devices()`` of all hosts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from odegan_jax.config import ConfigError

AXIS = "data"


def data_mesh(batch_size: int, devices: Sequence | None = None) -> Mesh | None:
    """A ``("data",)`` mesh over all devices, or None on one device."""
    devices = list(jax.devices() if devices is None else devices)
    if len(devices) < 2:
        return None
    if batch_size % len(devices):
        raise ConfigError(
            f"config.data.batch_size: {batch_size} is not divisible by the "
            f"{len(devices)} devices (data parallelism); choose a multiple of "
            f"{len(devices)}"
        )
    return Mesh(np.array(devices), (AXIS,))


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def replicate(tree: Any, mesh: Mesh) -> Any:
    return jax.device_put(tree, replicated(mesh))


def shard_batches(batches: jax.Array, mesh: Mesh) -> jax.Array:
    """``[num_batches, batch, ...]`` with the batch axis split over the mesh."""
    spec = P(None, AXIS, *([None] * (batches.ndim - 2)))
    return jax.lax.with_sharding_constraint(batches, NamedSharding(mesh, spec))


def jit_replicated(fn: Callable, mesh: Mesh, compiler_options: dict | None = None) -> Callable:
    """``jit(fn)`` with replicated inputs and outputs (the batch is sharded inside), compiled
    with XLA ``compiler_options`` (:func:`xla_cpu.compiler_options`)."""
    rep = replicated(mesh)
    return jax.jit(
        fn,
        in_shardings=(rep, rep),
        out_shardings=rep,
        donate_argnums=(0,),
        compiler_options=compiler_options or None,
    )
