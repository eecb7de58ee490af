"""Varshney19 NGAN on MNIST (tfds, or IDX files in ~/.odegan_jax/data/mnist or
--config.data.path)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.configs.ngan_fashion_mnist import get_config as _fashion

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    c = _fashion()
    c.name = "ngan_mnist"
    c.data.name = "mnist"
    return c
