"""Yamazaki17 §4.4: M1A (Table A.1) on mog8 with Adam, as in Yamazaki17 Appendix A."""

from odegan_jax.configs._depth2d import depth_config


def get_config():
    return depth_config("mog8_m1a", "mog8", "m1a")
