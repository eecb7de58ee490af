"""Offline image loaders: IDX (hand-written files and Debian's real Fashion-MNIST), .npz,
scikit-learn digits, the [−1, 1] scaling, deterministic order, and clear errors."""

from __future__ import annotations

import gzip
import os
import struct

import jax
import numpy as np
import pytest

from odegan_jax.config import ConfigError, base_config
from odegan_jax.data import get_batches, make_dataset
from odegan_jax.data import images as img
from odegan_jax.experiment import build


def _write_idx(path, array: np.ndarray, gz: bool = False):
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(data)


@pytest.fixture
def idx_dir(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (20, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, (20,), dtype=np.uint8)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", x, gz=True)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", y)
    return tmp_path, x, y


def test_idx_reader_round_trips_and_scales_to_unit_range(idx_dir):
    path, x, y = idx_dir
    images, labels = img.load_images("idx", "files", str(path))
    assert images.shape == (20, 28, 28, 1) and images.dtype == np.float32
    np.testing.assert_allclose(images[..., 0], x / 127.5 - 1.0, atol=1e-6)
    np.testing.assert_array_equal(labels, y)
    assert images.min() >= -1.0 and images.max() <= 1.0


def test_truncated_and_corrupt_idx_files_are_reported(idx_dir, tmp_path):
    path, _, _ = idx_dir
    raw = gzip.open(path / "train-images-idx3-ubyte.gz").read()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "train-images-idx3-ubyte").write_bytes(raw[:-100])
    with pytest.raises(img.DatasetError, match="truncated or corrupt"):
        img.load_images("idx", "files", str(bad))
    (bad / "train-images-idx3-ubyte").write_bytes(b"PK\x03\x04" + raw[4:])
    with pytest.raises(img.DatasetError, match="bad magic"):
        img.load_images("idx", "files", str(bad))
    (bad / "train-images-idx3-ubyte").unlink()
    with pytest.raises(img.DatasetError, match="no train-images-idx3-ubyte"):
        img.load_images("idx", "files", str(bad))


def test_npz_loader(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (10, 32, 32, 3), dtype=np.uint8)
    np.savez(tmp_path / "c.npz", x_train=x, y_train=np.arange(10))
    images, labels = img.load_images("npz", "files", str(tmp_path / "c.npz"))
    assert images.shape == (10, 32, 32, 3)
    np.testing.assert_allclose(images, x / 127.5 - 1.0, atol=1e-6)
    np.testing.assert_array_equal(labels, np.arange(10))
    np.savez(tmp_path / "wrong.npz", pixels=x)
    with pytest.raises(img.DatasetError, match="expected x_train"):
        img.load_images("npz", "files", str(tmp_path / "wrong.npz"))
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    with pytest.raises(img.DatasetError, match="cannot read"):
        img.load_images("npz", "files", str(tmp_path / "broken.npz"))


def test_float_images_out_of_range_are_rejected():
    with pytest.raises(img.DatasetError, match=r"\[0, 1\] or \[0, 255\]"):
        img.to_unit_range(np.full((2, 4, 4), -3.0))
    np.testing.assert_allclose(img.to_unit_range(np.full((1, 2, 2), 0.5)), 0.0)


def test_sklearn_digits_and_resizing():
    x, y = img.load_images("digits")
    assert x.shape == (1500, 8, 8, 1) and y.shape == (1500,)
    assert x.min() == -1.0 and x.max() == 1.0
    big, _ = img.load_images("digits", image_size=28)
    assert big.shape == (1500, 28, 28, 1)
    # resizing preserves the mean brightness of an image (up to edge effects)
    assert abs(float(big[0].mean()) - float(x[0].mean())) < 0.1


@pytest.mark.skipif(
    not os.path.isdir(img.DEBIAN_FASHION_MNIST),
    reason="needs apt-get install dataset-fashion-mnist (.ci/run installs it)",
)
def test_real_fashion_mnist_from_the_debian_package():
    x, y = img.load_images("fashion_mnist")
    assert x.shape == (60000, 28, 28, 1) and y.shape == (60000,)
    assert x.min() == -1.0 and x.max() == 1.0
    assert np.bincount(y).tolist() == [6000] * 10  # Fashion-MNIST is balanced
    xt, yt = img.load_images("fashion_mnist", split="test")
    assert xt.shape == (10000, 28, 28, 1) and np.bincount(yt).tolist() == [1000] * 10


def test_missing_local_dataset_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(img, "DEBIAN_FASHION_MNIST", str(tmp_path / "none"))
    monkeypatch.setattr(img, "USER_DATA", str(tmp_path / "none2"))
    with pytest.raises(img.DatasetError, match="apt-get install dataset-fashion-mnist"):
        img.load_images("fashion_mnist", "files")
    with pytest.raises(img.DatasetError, match="~/.odegan_jax/data/mnist"):
        img.load_images("mnist", "files")


def test_image_config_errors_name_the_key(tmp_path):
    c = base_config()
    c.data.name = "npz"
    with pytest.raises(ConfigError, match="config.data.path"):
        build(c)
    c.data.path = str(tmp_path / "missing.npz")
    with pytest.raises(ConfigError, match="does not exist"):
        build(c)
    c = base_config()
    c.data.name = "cifar10"
    c.model.name = "dcgan28"
    with pytest.raises(ConfigError, match=r"config.model.name.*\(28, 28, 1\)"):
        build(c)
    c.data.name = "digits"
    with pytest.raises(ConfigError, match="data.image_size=28"):
        build(c)
    c.data.image_size = 28
    build(c)
    c.model.ode.solver = "rk45"
    with pytest.raises(ConfigError, match="model.ode.solver.*tsit5"):
        build(c)


def test_image_batches_are_deterministic_in_the_key(idx_dir):
    path, _, _ = idx_dir
    c = base_config().data
    c.name, c.path = "idx", str(path)
    ds = make_dataset(c, jax.random.PRNGKey(0))
    a = get_batches(ds, jax.random.PRNGKey(1), 3, 1, 4)
    b = get_batches(ds, jax.random.PRNGKey(1), 3, 1, 4)
    other = get_batches(ds, jax.random.PRNGKey(2), 3, 1, 4)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (1, 4, 28, 28, 1)
    assert not np.array_equal(a, other)
    # one epoch visits every image exactly once
    epoch = np.concatenate(
        [np.asarray(get_batches(ds, jax.random.PRNGKey(1), s, 1, 4))[0] for s in range(5)]
    )
    assert len({arr.tobytes() for arr in epoch}) == 20
