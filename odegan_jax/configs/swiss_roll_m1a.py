"""Yamazaki17 §4.4: M1A (Table A.1) on swiss roll with Adam, as in Yamazaki17 Appendix A."""

from odegan_jax.configs._depth2d import depth_config


def get_config():
    return depth_config("swiss_roll_m1a", "swiss_roll", "m1a")
