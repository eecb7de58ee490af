"""Yamazaki17 §5.1: M1_A (Table A.1) on swiss roll with BatchNorm removed from the discriminator."""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.configs._depth2d import depth_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    return depth_config("swiss_roll_m1a_nobn", "swiss_roll", "m1a", d_batchnorm=False)
