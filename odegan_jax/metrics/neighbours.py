"""Nearest training images of generated samples (Yamazaki17 §4.5.4: is G copying its data?).
Pure."""

from __future__ import annotations

import numpy as np


def nearest_neighbours(
    samples: np.ndarray, train: np.ndarray, chunk: int = 5000
) -> tuple[np.ndarray, np.ndarray]:
    """For each of k samples ``[k, ...]``, the index of its L2-nearest image in ``train``
    ``[N, ...]`` (same per-sample shape) and the distance: ``(indices [k], distances [k])``.
    The training set is scanned in chunks of ``chunk`` images (memory k × chunk)."""
    k = len(samples)
    flat = np.asarray(samples, np.float32).reshape(k, -1)
    if train.reshape(len(train), -1).shape[1] != flat.shape[1]:
        raise ValueError(
            f"samples of shape {samples.shape[1:]} and training images of shape "
            f"{train.shape[1:]} cannot be compared"
        )
    best = np.full(k, np.inf)
    idx = np.zeros(k, np.int64)
    sq = np.sum(flat**2, 1)[:, None]
    for i in range(0, len(train), chunk):
        block = np.asarray(train[i : i + chunk], np.float32).reshape(-1, flat.shape[1])
        d2 = sq - 2 * flat @ block.T + np.sum(block**2, 1)[None, :]
        j = np.argmin(d2, axis=1)
        nearest = d2[np.arange(k), j]
        better = nearest < best
        best = np.where(better, nearest, best)
        idx = np.where(better, i + j, idx)
    return idx, np.sqrt(np.maximum(best, 0.0))
