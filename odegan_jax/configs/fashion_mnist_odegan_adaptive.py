"""ODE-GAN with adaptive step control on images: the DCGAN of Yamazaki17 (M0_B, 28×28) on
Fashion-MNIST, the official code's regulariser placement (λ = 0.02 in the stage-1 D
gradient), Bogacki–Shampine 3(2) with diffrax's PIDController (rtol = atol = 1e-3) choosing h
from h = 0.04 on. The stages share one minibatch, so the error estimate measures the
truncation error of that step's field, not minibatch noise. Runs offline
(``apt-get install dataset-fashion-mnist``); 2,000 steps take ~1.5 h on 2 CPU cores.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.configs._images import odegan_image_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    c = odegan_image_config(
        "fashion_mnist_odegan_adaptive", "fashion_mnist", "dcgan28", steps=2_000
    )
    c.rule.integrator = "bosh3"
    c.rule.step_control = "adaptive"
    c.rule.schedule = "constant"
    c.rule.stage_batches = "same"
    c.rule.rtol = 1e-3
    c.rule.atol = 1e-3
    return c
