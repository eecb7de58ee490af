"""DCGAN (Yamazaki17 M0_B) on MNIST with NGAN's training settings (tfds or local IDX files)."""

from odegan_jax.configs.dcgan_fashion_mnist import get_config as _fashion


def get_config():
    c = _fashion()
    c.name = "dcgan_mnist"
    c.data.name = "mnist"
    return c
