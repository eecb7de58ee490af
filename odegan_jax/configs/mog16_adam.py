"""The main job's game trained with simultaneous Adam instead of an ODE solver (baseline).

Adam (β1 = 0.5, β2 = 0.999) at lr 1e-3 on the same networks, data and steps as mog16_rk4
(Qin20 Fig. 5/7 compare RK4 with Adam).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.config import base_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    c = base_config()
    c.name = "mog16_adam"
    c.rule.name = "simultaneous"
    c.optimizer.name = "adam"
    c.optimizer.learning_rate = 1e-3
    c.optimizer.b1 = 0.5
    c.optimizer.b2 = 0.999
    return c
