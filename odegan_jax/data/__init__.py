"""Datasets and the minibatch stream.

A :class:`Dataset` is either a sampler (infinite synthetic data: a fresh draw every step) or
a finite array of training samples. :func:`get_batches` is a pure function of
``(dataset, key, step)``: the data position *is* the step, so a resumed run sees exactly the
minibatches an uninterrupted run would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from odegan_jax.config import ConfigError, choose
from odegan_jax.data.images import IMAGE_DATASETS, NATIVE_SHAPES, load_images, pad
from odegan_jax.data.images import DatasetError as DatasetError  # re-exported
from odegan_jax.data.synthetic import DISTRIBUTIONS_2D, Distribution2D, make_distribution

if TYPE_CHECKING:
    from ml_collections import ConfigDict

# the Dirac-GAN's data (Qin20 §4): every sample is the scalar 0
DIRAC = "dirac"
DATASETS = tuple(DISTRIBUTIONS_2D) + IMAGE_DATASETS + (DIRAC,)


class Dataset(NamedTuple):
    name: str
    sample_shape: tuple
    sampler: Callable[[jax.Array, int], jax.Array] | None = None  # infinite data
    train: np.ndarray | None = None  # finite data, [N, *sample_shape], float32
    distribution: Distribution2D | None = None  # 2D reference for metrics
    labels: np.ndarray | None = None  # class labels of ``train`` (images), if known


def expected_sample_shape(data_config: ConfigDict) -> tuple | None:
    """The per-sample shape of ``config.data`` known without reading files (None for idx /
    npz files, whose shape is known once read); a ConfigError for an unknown dataset."""
    name = choose("data.name", data_config.name, DATASETS)
    if name in DISTRIBUTIONS_2D:
        return (2,)
    if name == DIRAC:
        return (1,)
    if name not in NATIVE_SHAPES:
        return None
    h, w, c = NATIVE_SHAPES[name]
    size = data_config.image_size or (32 if name == "flowers" else 0)
    if data_config.get("pad_to", 0):
        return (data_config.pad_to, data_config.pad_to, c)
    return (size, size, c) if size else (h, w, c)


def make_dataset(data_config: ConfigDict, key: jax.Array) -> Dataset:
    """Builds the dataset of ``config.data``; ``key`` draws a finite 2D training set.

    Image datasets are read from disk (or tfds) here, on the host, before anything compiles.
    """
    name = data_config.name
    if name in DISTRIBUTIONS_2D:
        dist = make_distribution(name, stratified=data_config.stratified, noise=data_config.noise)
        if (
            data_config.stratified
            and name != "swiss_roll"
            and data_config.batch_size < len(dist.modes)
        ):
            raise ConfigError(
                f"config.data.stratified: a stratified batch tiles the "
                f"{len(dist.modes)} means of {name}, so data.batch_size must be "
                f"≥ {len(dist.modes)} (got {data_config.batch_size}); raise it "
                f"or set data.stratified=false"
            )
        if data_config.num_train > 0:
            train = np.asarray(dist.sample(key, data_config.num_train), np.float32)
            return Dataset(name, (2,), None, train, dist)
        return Dataset(name, (2,), dist.sample, None, dist)
    if name == DIRAC:
        return Dataset(name, (1,), lambda key, n: jnp.zeros((n, 1), jnp.float32))
    if name in IMAGE_DATASETS:
        x, y = load_images(
            name, data_config.source, data_config.path, "train", data_config.image_size
        )
        if data_config.get("pad_to", 0):
            x = pad(x, data_config.pad_to)
        return Dataset(name, tuple(x.shape[1:]), None, x, None, y)
    choose("data.name", name, DATASETS)


def get_batches(
    dataset: Dataset,
    key: jax.Array,
    step: int,
    num_batches: int,
    batch_size: int,
    train: jax.Array | None = None,
) -> jax.Array:
    """The minibatches of one training step, shape ``[num_batches, batch_size, *sample_shape]``.

    Infinite data: a fresh draw from ``fold_in(key, step)``. Finite data: epochs of key-driven
    permutations (incomplete final batches are dropped); pass ``train`` as a device array to
    avoid embedding it in the compiled step.
    """
    n = num_batches * batch_size
    if dataset.sampler is not None:
        x = dataset.sampler(jax.random.fold_in(key, step), n)
    else:
        data = jnp.asarray(dataset.train) if train is None else train
        size = data.shape[0]
        if n > size:
            raise ValueError(f"a step needs {n} samples but the training set has {size}")
        per_epoch = size // n
        epoch, within = step // per_epoch, step % per_epoch
        perm = jax.random.permutation(jax.random.fold_in(key, epoch), size)
        idx = jax.lax.dynamic_slice_in_dim(perm, within * n, n)
        x = data[idx]
    return x.reshape((num_batches, batch_size) + tuple(dataset.sample_shape))
