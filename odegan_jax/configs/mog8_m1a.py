"""Yamazaki17 §4.4: M1A (Table A.1) on mog8 with Adam, as in Yamazaki17 Appendix A."""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.configs._depth2d import depth_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    return depth_config("mog8_m1a", "mog8", "m1a")
