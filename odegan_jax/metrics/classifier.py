"""The evaluation classifier of Yamazaki17 Table B.1 and its shipped weights.

conv 5×5 32 (size-preserving, pad 2) ReLU → max-pool 2 → conv 5×5 64 ReLU → max-pool 2 →
dense 1024 ReLU → dropout 0.5 → dense 10 (logits). The penultimate 1024 features feed the
Fréchet distance and KID; the softmax feeds the Inception Score.

Weights are trained by ``odegan_jax/tools/train_classifier.py`` with a fixed seed and shipped in
``odegan_jax/metrics/weights/classifier_<dataset>.npz`` (float16, flattened parameter paths),
so every machine scores with the same network. :func:`load_classifier` reads them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from chex import ArrayTree
from jax import Array

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")


class Classifier(nn.Module):
    num_classes: int = 10

    @nn.compact
    def __call__(self, x: Array, train: bool = False) -> jax.Array:
        """Returns ``(logits [B, classes], features [B, 1024])``."""
        h = nn.relu(nn.Conv(32, (5, 5), padding=((2, 2), (2, 2)))(x))
        h = nn.max_pool(h, (2, 2), (2, 2))
        h = nn.relu(nn.Conv(64, (5, 5), padding=((2, 2), (2, 2)))(h))
        h = nn.max_pool(h, (2, 2), (2, 2))
        features = nn.relu(nn.Dense(1024)(h.reshape(h.shape[0], -1)))
        h = nn.Dropout(0.5, deterministic=not train)(features)
        return nn.Dense(self.num_classes)(h), features


_apply = jax.jit(lambda params, x: Classifier().apply({"params": params}, x))


class LoadedClassifier(NamedTuple):
    dataset: str
    params: dict
    info: dict  # accuracy, seed, command, image shape

    def apply(self, x: Array, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
        """``(probs [N, C], features [N, 1024])`` as numpy, in batches."""
        return batched_probs_and_features(_apply, self.params, x, batch_size)


def batched_probs_and_features(
    fn: Callable, variables: dict, x: Array, batch_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """``fn(variables, batch) -> (logits, features)`` over ``x`` in batches, as float64
    ``(softmax probabilities, features)`` (shared by every scoring network)."""
    probs, feats = [], []
    for i in range(0, len(x), batch_size):
        logits, f = fn(variables, jnp.asarray(x[i : i + batch_size], jnp.float32))
        probs.append(np.asarray(jax.nn.softmax(logits), np.float64))
        feats.append(np.asarray(f, np.float64))
    return np.concatenate(probs), np.concatenate(feats)


def weights_path(dataset: str) -> str:
    return os.path.join(WEIGHTS_DIR, f"classifier_{dataset}.npz")


def available() -> list[str]:
    if not os.path.isdir(WEIGHTS_DIR):
        return []
    return sorted(
        f[len("classifier_") : -4]
        for f in os.listdir(WEIGHTS_DIR)
        if f.startswith("classifier_") and f.endswith(".npz")
    )


def save_classifier(path: str, params: ArrayTree, info: dict) -> None:
    flat = {
        "/".join(str(getattr(k, "key", k)) for k in p): np.asarray(v, np.float16)
        for p, v in jax.tree_util.tree_flatten_with_path(params)[0]
    }
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.savez_compressed(path, __info__=np.frombuffer(json.dumps(info).encode(), np.uint8), **flat)


def load_classifier(dataset: str) -> LoadedClassifier:
    path = weights_path(dataset)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"no shipped classifier for {dataset!r} (have: {', '.join(available()) or 'none'}); "
            f"train one with: python -m odegan_jax.tools.train_classifier --dataset {dataset}"
        )
    params: dict = {}
    with np.load(path) as f:
        info = json.loads(bytes(f["__info__"]).decode())
        for key in f.files:
            if key == "__info__":
                continue
            node = params
            *parents, leaf = key.split("/")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = jnp.asarray(f[key], jnp.float32)
    return LoadedClassifier(dataset, params, info)
