"""``mog16_rk4`` with adaptive step control instead of the hand-made schedule.

Everything as ``mog16_rk4`` but the step size: Bogacki–Shampine 3(2), which evaluates the
field 4 times a step as RK4 does, with its embedded second-order error estimate driving
diffrax's PIDController (I control, rtol = atol = 1e-3 over every parameter, diffrax's usual
tolerances; not tuned on these runs). No schedule: rule.h = 0.6 is only the first attempt's
size. Compared with mog16_rk4 over seeds 0-15 by ``odegan reproduce
adaptive_steps``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.config import base_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    c = base_config()
    c.name = "mog16_adaptive"
    c.rule.integrator = "bosh3"
    c.rule.step_control = "adaptive"
    c.rule.schedule = "constant"
    c.rule.rtol = 1e-3
    c.rule.atol = 1e-3
    return c
