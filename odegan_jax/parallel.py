"""Data parallelism over all local devices: ``jax.jit`` with a Mesh and NamedSharding.

With more than one device the minibatch axis is sharded over a one-axis mesh ``("data",)``
and everything else (params, model state, integrator / optimiser state, keys) is replicated.
The training step is the single-device program: XLA's SPMD partitioner inserts the
all-reduces that the means over the batch need (losses, gradients, BatchNorm statistics), so
results equal single-device results up to float reassociation. Used automatically when
``jax.local_device_count() > 1`` and ``parallel.players`` is off.

With ``parallel.players`` the mesh is ``("players",)`` over two devices instead
(:func:`split_players`): D's and G's gradients of every stage of an ODE step at once.

Multi-host: call ``jax.distributed.initialize()`` first on every host (see the README); the
mesh then spans ``jax.devices()`` of all hosts.
"""
from __future__ import annotations

from typing import Callable, Optional

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from odegan_jax.config import ConfigError

AXIS = "data"


def data_mesh(batch_size: int, devices=None) -> Optional[Mesh]:
    """A ``("data",)`` mesh over all devices, or None on one device."""
    devices = list(jax.devices() if devices is None else devices)
    if len(devices) < 2:
        return None
    if batch_size % len(devices):
        raise ConfigError(f"config.data.batch_size: {batch_size} is not divisible by the "
                          f"{len(devices)} devices (data parallelism); choose a multiple of "
                          f"{len(devices)}")
    return Mesh(np.array(devices), (AXIS,))


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def replicate(tree, mesh: Mesh):
    return jax.device_put(tree, replicated(mesh))


def shard_batches(batches: jax.Array, mesh: Mesh) -> jax.Array:
    """``[num_batches, batch, ...]`` with the batch axis split over the mesh."""
    spec = P(None, AXIS, *([None] * (batches.ndim - 2)))
    return jax.lax.with_sharding_constraint(batches, NamedSharding(mesh, spec))


def jit_replicated(fn: Callable, mesh: Mesh,
                   compiler_options: Optional[dict] = None) -> Callable:
    """``jit(fn)`` with replicated inputs and outputs (the batch is sharded inside), compiled
    with XLA ``compiler_options`` (:func:`xla_cpu.compiler_options`)."""
    rep = replicated(mesh)
    return jax.jit(fn, in_shardings=(rep, rep), out_shardings=rep, donate_argnums=(0,),
                   compiler_options=compiler_options or None)


# --------------------------------------------------------------------------------------
# Player parallelism: D's and G's gradients on two devices at once
# --------------------------------------------------------------------------------------

PLAYERS = "players"


def players_mesh(devices=None) -> Mesh:
    """A ``("players",)`` mesh over the first two devices: D's work on the first, G's on the
    second."""
    devices = list(jax.devices() if devices is None else devices)
    if len(devices) < 2:
            raise ConfigError(
            f"config.parallel.players: needs two devices, this process has {len(devices)} "
            f"({devices[0].platform}). On a CPU, `odegan train` asks for two host devices "
            f"itself; a program of your own calls "
            f"jax.config.update('jax_num_cpu_devices', 2) before its first JAX computation. "
            f"Otherwise set parallel.players=False")
    return Mesh(np.array(devices[:2]), (PLAYERS,))


def request_player_devices(config) -> None:
    """``parallel.players`` on a CPU: asks JAX for two host devices (one per core). Works
    before JAX's first computation only; after it, :func:`players_mesh` says what to do."""
    from jax._src import xla_bridge
    if config.parallel.players and not xla_bridge.backends_are_initialized() \
            and jax.config.jax_num_cpu_devices < 2:
        jax.config.update("jax_num_cpu_devices", 2)


def training_mesh(config) -> Optional[Mesh]:
    """The players' mesh under ``parallel.players``, else the data mesh (None on one
    device)."""
    return players_mesh() if config.parallel.players else data_mesh(config.data.batch_size)


def split_players(mesh: Mesh, fn_d: Callable, fn_g: Callable, *args):
    """``(fn_d(*args), fn_g(*args))``, computed at once on the two devices of ``mesh``.

    Inside a replicated program (``args`` replicated over ``mesh``): each device runs its
    player's function alone (a ``switch`` on the device's index), and one all-gather per
    dtype hands both results to both devices (the leaves packed into one vector: on a CPU
    each collective is a rendezvous of the devices' threads, ~40 µs). Exact: nothing is
    summed across devices, every value is the one that its device computed."""
    shapes = (jax.eval_shape(fn_d, *args), jax.eval_shape(fn_g, *args))
    leaves, treedef = jax.tree.flatten(shapes)
    dtypes = sorted({leaf.dtype for leaf in leaves}, key=str)
    spans, sizes = [], dict.fromkeys(dtypes, 0)
    for leaf in leaves:  # where each leaf sits in its dtype's vector
        size = int(np.prod(leaf.shape))
        spans.append((leaf.dtype, sizes[leaf.dtype], size, leaf.shape))
        sizes[leaf.dtype] += size
    jnp = jax.numpy

    def pack(values):  # the leaves of `shapes`, the other player's as zeros
        parts = {d: [] for d in dtypes}
        for (dtype, _, size, _), value in zip(spans, values):
            parts[dtype].append(jnp.zeros(size, dtype) if value is None
                                else jnp.ravel(value).astype(dtype))
        return [jnp.concatenate(parts[d]) for d in dtypes]

    n_d = len(jax.tree.leaves(shapes[0]))

    def body(*local):
        branches = [lambda: pack(jax.tree.leaves(fn_d(*local)) + [None] * (len(leaves) - n_d)),
                    lambda: pack([None] * n_d + jax.tree.leaves(fn_g(*local)))]
        vectors = jax.lax.all_gather(jax.lax.switch(jax.lax.axis_index(PLAYERS), branches),
                                     PLAYERS)
        by_dtype = dict(zip(dtypes, vectors))
        out = [by_dtype[dtype][0 if i < n_d else 1, start:start + size].reshape(shape)
               for i, (dtype, start, size, shape) in enumerate(spans)]
        return jax.tree.unflatten(treedef, out)

    return jax.shard_map(body, mesh=mesh, in_specs=(P(),) * len(args), out_specs=P(),
                         check_vma=False)(*args)
