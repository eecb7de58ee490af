"""A small NGAN run on scikit-learn's bundled 8×8 digits, upsampled to 28×28: trains anywhere
offline in minutes (the notebook's image demo)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.configs.ngan_fashion_mnist import get_config as _fashion

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    c = _fashion()
    c.name = "ngan_digits"
    c.data.name = "digits"
    c.data.image_size = 28
    c.steps = 2_000
    return c
