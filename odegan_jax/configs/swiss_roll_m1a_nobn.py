"""Yamazaki17 §5.1: M1_A (Table A.1) on swiss roll with BatchNorm removed from the discriminator."""

from odegan_jax.configs._depth2d import depth_config


def get_config():
    return depth_config("swiss_roll_m1a_nobn", "swiss_roll", "m1a", d_batchnorm=False)
