"""Shared settings of the image experiments.

``adam_image_config``: Yamazaki17 Appendix A / DCGAN practice: Adam lr 2e-4, β = (0.5, 0.999)
(Table A.3), batch 64, init N(0, 0.02) with zero biases (Table A.4), 100 latents, the
non-saturating loss, alternating D / G updates. ``odegan_image_config``: the ODE-GAN code's
CIFAR-10 settings: RK4, the regulariser inside the stage-1 D gradient, a fresh minibatch per
stage, joint integration, the official warm-up schedule, batch 64, 128 latents N(0, I), the
two-logit cross-entropy D loss with non-saturating G (= non_saturating).

The Bhope19 study settings are overrides of any image config:
latent size ``--config.model.latent_size=10|100|200``; optimiser
``--config.optimizer.name=adam|rmsprop|sgd|adadelta|adagrad`` (with
``--config.optimizer.learning_rate=...``); WGAN ``--config.game.loss=wgan
--config.rule.n_critic=5 --config.optimizer.name=rmsprop --config.optimizer.learning_rate=5e-5``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.config import base_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def _image_base(name: str, dataset: str, network: str, steps: int):
    c = base_config()
    c.name = name
    c.steps = steps
    c.data.name = dataset
    c.data.batch_size = 64
    c.model.name = network
    c.model.latent_size = 100
    c.model.latent_prior = "normal"
    # the official code's networks keep Sonnet 1's initialiser; Yamazaki17's DCGANs N(0, 0.02)
    c.model.init = "sonnet" if network == "dcgan_official" else "normal"
    c.model.init_std = 0.02
    c.game.loss = "non_saturating"
    c.loop.log_every = 50
    c.loop.sample_every = 500
    return c


def adam_image_config(name: str, dataset: str, network: str, steps: int = 30_000) -> ConfigDict:
    c = _image_base(name, dataset, network, steps)
    c.rule.name = "alternating"
    c.optimizer.name = "adam"
    c.optimizer.learning_rate = 2e-4
    c.optimizer.b1 = 0.5
    c.optimizer.b2 = 0.999
    return c


def depth_image_config(
    name: str, dataset: str, network: str, blocks: int, steps: int
) -> ConfigDict:
    """Yamazaki17's image depth study (§5.2, Appendix A): ``adam_image_config`` with ``blocks``
    residual blocks (M_cB on 28×28: c = blocks; M_dC on 32×32: 2d blocks, d = blocks),
    z ~ U(−1, 1) and weight decay 1e-5 on each loss (§A.3: "in all experiments")."""
    c = adam_image_config(name, dataset, network, steps)
    c.model.res_blocks = blocks
    c.model.latent_prior = "uniform"
    c.optimizer.weight_decay = 1e-5
    return c


def odegan_image_config(
    name: str,
    dataset: str,
    network: str,
    steps: int = 1_000_000,
    h: float = 0.04,
    reg_weight: float = 0.02,
) -> ConfigDict:
    c = _image_base(name, dataset, network, steps)
    c.model.latent_size = 128
    c.rule.name = "ode"
    c.rule.integrator = "rk4"
    c.rule.h = h
    c.rule.reg_weight = reg_weight
    c.rule.reg_placement = "first_stage"
    c.rule.stage_batches = "fresh"
    c.rule.coupling = "joint"
    c.rule.schedule = "official"
    return c


def rk4_adam(c: ConfigDict) -> ConfigDict:
    """Qin20's "ODE-GAN (RK4 + Adam)" (Table 1, Fig. 7) as the official code runs it
    (``main_ode.py --opt_name=adam``): every RK4 stage point is an Adam step from the current
    point along that stage's combination of gradients, regulariser included, and the step
    itself an Adam step along Σ bᵢkᵢ, so Adam's moments advance four times per step
    (``rule.optimizer_form='stages'``). Qin20 gives no Adam settings for it; these are its SN-GAN
    baseline's (Adam 2e-4, β = (0.5, 0.999)), the DCGAN recipe."""
    c.rule.use_optimizer = True
    c.rule.optimizer_form = "stages"
    c.optimizer.name = "adam"
    c.optimizer.learning_rate = 2e-4
    c.optimizer.b1 = 0.5
    c.optimizer.b2 = 0.999
    return c
