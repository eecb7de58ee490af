"""DCGAN (Yamazaki17 M0_B) on Fashion-MNIST with the training settings of ngan_fashion_mnist.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.configs._images import adam_image_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    return adam_image_config("dcgan_fashion_mnist", "fashion_mnist", "dcgan28", steps=10_000)
