"""Yamazaki17 §4.4: M0A (Table A.1) on swiss roll with Adam, as in Yamazaki17 Appendix A."""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.configs._depth2d import depth_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    return depth_config("swiss_roll_m0a", "swiss_roll", "m0a")
