"""DCGAN (Yamazaki17 M0_B) on MNIST with NGAN's training settings (tfds or local IDX files)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.configs.dcgan_fashion_mnist import get_config as _fashion

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    c = _fashion()
    c.name = "dcgan_mnist"
    c.data.name = "mnist"
    return c
