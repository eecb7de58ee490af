"""A small NGAN run on scikit-learn's bundled 8×8 digits, upsampled to 28×28: trains anywhere
offline in minutes (the notebook's image demo)."""

from odegan_jax.configs.ngan_fashion_mnist import get_config as _fashion


def get_config():
    c = _fashion()
    c.name = "ngan_digits"
    c.data.name = "digits"
    c.data.image_size = 28
    c.steps = 2_000
    return c
