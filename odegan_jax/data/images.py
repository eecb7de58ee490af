"""Image datasets: TF-free offline loaders (IDX, .npz, scikit-learn digits) and tfds.

Every loader returns ``(images, labels)`` with images ``float32`` NHWC scaled to [−1, 1] and
labels ``int32`` (or None). Sources (``config.data.source``):

* ``files``: local files. ``data.path`` is a directory of IDX files
  (``{train,t10k}-images-idx3-ubyte[.gz]`` and labels, the layout of the MNIST / Fashion-MNIST
  downloads), or a ``.npz`` file with arrays ``x_train`` / ``y_train`` (``x_test`` / ``y_test``
  for the test split; ``images`` / ``labels`` also accepted), uint8 in [0, 255] or float in
  [0, 1], shape [N, H, W] or [N, H, W, C]. With no path, ``fashion_mnist`` reads Debian's
  ``dataset-fashion-mnist`` package (``/usr/share/datasets/fashion-mnist``) and ``mnist``
  looks in ``~/.odegan_jax/data/mnist``.
* ``sklearn``: scikit-learn's bundled 8×8 digits (1,797 images; ``digits`` only; the split is
  a fixed 1,500 / 297 cut).
* ``tfds``: ``tensorflow_datasets.load`` (needs TensorFlow and, the first time, the network;
  never used in tests).
* ``auto`` (default): local files when they exist, else scikit-learn for ``digits``, else tfds.

A missing or corrupt dataset raises :class:`DatasetError` saying what to install or where to
put files.
"""

from __future__ import annotations

import gzip
import os
import struct

import numpy as np

from odegan_jax.config import ConfigError, choose

IMAGE_DATASETS = ("mnist", "fashion_mnist", "cifar10", "flowers", "digits", "idx", "npz")
SOURCES = ("auto", "files", "tfds", "sklearn")
DEBIAN_FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
USER_DATA = os.path.join(os.path.expanduser("~"), ".odegan_jax", "data")
# tfds names and the image size each is brought to (flowers vary in size: resized to 32×32)
TFDS_NAMES = {
    "mnist": "mnist",
    "fashion_mnist": "fashion_mnist",
    "cifar10": "cifar10",
    "flowers": "oxford_flowers102",
}
# per-sample shapes known before reading any file (idx / npz: known once read)
NATIVE_SHAPES = {
    "mnist": (28, 28, 1),
    "fashion_mnist": (28, 28, 1),
    "cifar10": (32, 32, 3),
    "flowers": (32, 32, 3),
    "digits": (8, 8, 1),
}
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DatasetError(RuntimeError):
    """A dataset is missing or unreadable; the message says what to install or where."""


# ------------------------------------------------------------------------------- readers


def read_idx(path: str) -> np.ndarray:
    """Reads one IDX file (optionally gzipped): magic 0x0000 TT DD, DD big-endian dims."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise DatasetError(f"cannot read IDX file {path}: {e}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise DatasetError(f"{path} is not an IDX file (bad magic number)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{path} is truncated (header)")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(data) - header != expected:
        raise DatasetError(
            f"{path} is truncated or corrupt: {len(data) - header} bytes of "
            f"data for shape {dims} (expected {expected})"
        )
    return np.frombuffer(data, dtype, offset=header).reshape(dims)


def _find(directory: str, stem: str) -> str | None:
    for name in (stem, stem + ".gz"):
        p = os.path.join(directory, name)
        if os.path.exists(p):
            return p
    return None


def load_idx_dir(directory: str, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of an IDX directory (MNIST layout)."""
    prefix = "train" if split == "train" else "t10k"
    images = _find(directory, f"{prefix}-images-idx3-ubyte")
    if images is None:
        raise DatasetError(
            f"no {prefix}-images-idx3-ubyte[.gz] in {directory}; put the "
            f"MNIST-layout IDX files there or set config.data.path"
        )
    x = read_idx(images)
    labels = _find(directory, f"{prefix}-labels-idx1-ubyte")
    y = read_idx(labels).astype(np.int32) if labels else None
    if y is not None and len(y) != len(x):
        raise DatasetError(f"{labels} has {len(y)} labels for {len(x)} images")
    return x, y


def load_npz(path: str, split: str = "train") -> tuple[np.ndarray, np.ndarray | None]:
    try:
        with np.load(path) as f:
            keys = set(f.files)
            suffix = "train" if split == "train" else "test"
            for xk, yk in ((f"x_{suffix}", f"y_{suffix}"), ("images", "labels"), ("x", "y")):
                if xk in keys:
                    x, y = f[xk], (f[yk] if yk in keys else None)
                    if y is not None and len(y) != len(x):
                        raise DatasetError(
                            f"{path}: {yk} has {len(y)} labels for {len(x)} images in {xk}"
                        )
                    return x, (None if y is None else y.astype(np.int32))
    except (OSError, ValueError, EOFError) as e:
        raise DatasetError(f"cannot read {path} as a .npz archive: {e}") from None
    raise DatasetError(
        f"{path} holds arrays {sorted(keys)}; expected x_{suffix} (and "
        f"y_{suffix}), or images / labels"
    )


def load_sklearn_digits(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images * (255.0 / 16.0)).astype(np.uint8)  # 0..16 → 0..255
    y = d.target.astype(np.int32)
    cut = 1500
    return (x[:cut], y[:cut]) if split == "train" else (x[cut:], y[cut:])


def load_tfds(name: str, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    try:
        import tensorflow_datasets as tfds
    except ImportError as e:
        raise DatasetError(
            f"tensorflow-datasets is unavailable ({e}); install "
            f"tensorflow and tensorflow-datasets, or use local files "
            f"(config.data.source='files', config.data.path=...)"
        ) from None
    tfds_name = TFDS_NAMES[name]
    try:
        if name == "flowers":  # images of varying size: bring each to 32×32
            from PIL import Image

            xs, ys = [], []
            for img, label in tfds.as_numpy(tfds.load(tfds_name, split=split, as_supervised=True)):
                xs.append(np.asarray(Image.fromarray(img).resize((32, 32), Image.BILINEAR)))
                ys.append(label)
            x, y = np.stack(xs), np.asarray(ys)
        else:
            x, y = tfds.as_numpy(
                tfds.load(tfds_name, split=split, batch_size=-1, as_supervised=True)
            )
    except Exception as e:  # tfds raises many types: missing TF, no network, bad cache
        raise DatasetError(
            f"tensorflow-datasets could not load {tfds_name!r} ({type(e).__name__}: "
            f"{e}). It needs TensorFlow and network access the first time; "
            f"otherwise use local files (config.data.source='files')"
        ) from None
    return np.asarray(x), np.asarray(y, np.int32)


# ------------------------------------------------------------------------------ pipeline


def to_unit_range(x: np.ndarray) -> np.ndarray:
    """uint8 [0, 255] or float [0, 1] images → float32 NHWC in [−1, 1]."""
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise DatasetError(f"images must be [N, H, W] or [N, H, W, C], got shape {x.shape}")
    if np.iscomplexobj(x) or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise DatasetError(f"images must be real numbers, got dtype {x.dtype}")
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 255.0
    else:
        x = x.astype(np.float32)
        if not np.isfinite(x).all():
            raise DatasetError("images contain NaN or Inf")
        if x.min() < 0.0 or x.max() > 1.0:
            if x.min() >= 0.0 and x.max() <= 255.0:
                x = x / 255.0
            else:
                raise DatasetError(
                    f"float images must lie in [0, 1] or [0, 255]; got "
                    f"[{x.min():.3g}, {x.max():.3g}]"
                )
    return x * 2.0 - 1.0


def resize(x: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of NHWC images to size × size (antialiased when shrinking)."""
    import jax

    if x.shape[1] == size and x.shape[2] == size:
        return x
    out = jax.image.resize(x, (x.shape[0], size, size, x.shape[3]), "linear", antialias=True)
    return np.clip(np.asarray(out, np.float32), -1.0, 1.0)


def pad(x: np.ndarray, size: int) -> np.ndarray:
    """NHWC images in [−1, 1] padded, centred, with the background −1 to size × size (the
    extra row and column, if the difference is odd, at the bottom and right)."""
    h, w = x.shape[1:3]
    if size < max(h, w):
        raise ConfigError(
            f"config.data.pad_to: {size} is smaller than the {h}×{w} images; "
            f"use data.image_size to shrink them, or pad_to ≥ {max(h, w)}"
        )
    top, left = (size - h) // 2, (size - w) // 2
    return np.pad(
        x, ((0, 0), (top, size - h - top), (left, size - w - left), (0, 0)), constant_values=-1.0
    )


def unpad(x: np.ndarray, shape: tuple) -> np.ndarray:
    """The centre ``shape[:2]`` of NHWC images padded by :func:`pad` (itself if no padding)."""
    h, w = shape[:2]
    top, left = (x.shape[1] - h) // 2, (x.shape[2] - w) // 2
    return x[:, top : top + h, left : left + w]


def default_path(name: str) -> str | None:
    if name == "fashion_mnist":
        for d in (DEBIAN_FASHION_MNIST, os.path.join(USER_DATA, "fashion_mnist")):
            if os.path.isdir(d):
                return d
        return None
    if name == "mnist":
        d = os.path.join(USER_DATA, "mnist")
        return d if os.path.isdir(d) else None
    return None


def _from_path(path: str, split: str):
    if not os.path.exists(path):
        raise ConfigError(f"config.data.path: {path!r} does not exist")
    if os.path.isdir(path):
        return load_idx_dir(path, split)
    if path.endswith(".npz"):
        return load_npz(path, split)
    if ".idx" in path or "ubyte" in path:
        return read_idx(path), None
    raise DatasetError(
        f"config.data.path {path!r}: expected a directory of IDX files or a .npz file"
    )


def load_images(
    name: str, source: str = "auto", path: str = "", split: str = "train", image_size: int = 0
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(images [N, H, W, C] float32 in [−1, 1], labels [N] or None)`` of one split.

    A bad name, source or path is a ConfigError naming the key; missing or broken files a
    DatasetError saying what to install or where to put them."""
    choose("data.name", name, IMAGE_DATASETS)
    choose("data.source", source, SOURCES)
    if name in ("idx", "npz") and not path:
        raise ConfigError(
            f"config.data.path: data.name={name!r} reads local files: set "
            f"--config.data.path to an IDX directory or a .npz file"
        )
    local = path or default_path(name)
    if source == "files" or (source == "auto" and local):
        if not local:
            hint = {
                "fashion_mnist": "apt-get install dataset-fashion-mnist (Debian/Ubuntu) "
                "or put the IDX files in ~/.odegan_jax/data/fashion_mnist",
                "mnist": "put the MNIST IDX files in ~/.odegan_jax/data/mnist",
            }.get(name, "set config.data.path to a directory of IDX files or a .npz file")
            raise DatasetError(f"no local files for {name!r}: {hint}")
        x, y = _from_path(local, split)
    elif source == "sklearn" or (source == "auto" and name == "digits"):
        if name != "digits":
            raise DatasetError(f"source 'sklearn' only has 'digits', not {name!r}")
        x, y = load_sklearn_digits(split)
    else:
        if name not in TFDS_NAMES:
            raise DatasetError(f"{name!r} is not available through tfds; use local files")
        x, y = load_tfds(name, split)
    if len(x) == 0:
        raise DatasetError(f"dataset {name!r} ({split}) is empty")
    x = to_unit_range(x)
    if name == "flowers" and not image_size:
        image_size = 32
    if image_size:
        x = resize(x, image_size)
    return x, y
