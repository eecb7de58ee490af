"""Yamazaki17 depth study on CIFAR-10: M2_C (Table A.2, 4 residual blocks), Adam lr 2e-4, β1 0.5,
batch 64, z ~ U(−1, 1) in R^100, init N(0, 0.02), weight decay 1e-5, 80,000 iterations (Yamazaki17
§5,
§A.3). CIFAR-10 via tfds, or ``--config.data.source=files --config.data.path=cifar10.npz``
(x_train uint8 [N, 32, 32, 3]); scored with Inception-v3 from
``--config.eval.inception_weights=FILE``. No BatchNorm in D: --config.model.d_batchnorm=false."""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.configs._images import depth_image_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    return depth_image_config("cifar10_depth_d2", "cifar10", "dcgan32", 2, steps=80_000)
