"""Varshney19 NGAN on MNIST (tfds, or IDX files in ~/.odegan_jax/data/mnist or
--config.data.path)."""

from odegan_jax.configs.ngan_fashion_mnist import get_config as _fashion


def get_config():
    c = _fashion()
    c.name = "ngan_mnist"
    c.data.name = "mnist"
    return c
