"""Yamazaki17 depth study on MNIST: M4_B (Table A.2, 4 residual blocks), Adam lr 2e-4, β1 0.5,
batch 64, z ~ U(−1, 1) in R^100, init N(0, 0.02), weight decay 1e-5, 30,000 iterations (Yamazaki17
§5,
§A.3). MNIST comes from tfds or local IDX files; --config.data.name=fashion_mnist runs it
offline. No BatchNorm in D: --config.model.d_batchnorm=false."""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.configs._images import depth_image_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    return depth_image_config("dcgan_depth_c4", "mnist", "dcgan28", 4, steps=30_000)
