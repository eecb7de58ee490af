"""DCGAN (Yamazaki17 M0_B) on Fashion-MNIST with the training settings of ngan_fashion_mnist.py."""

from odegan_jax.configs._images import adam_image_config


def get_config():
    return adam_image_config("dcgan_fashion_mnist", "fashion_mnist", "dcgan28", steps=10_000)
