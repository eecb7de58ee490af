"""Network registry: ``build_networks(model_config, sample_shape) -> (generator, discriminator)``."""
from __future__ import annotations

from typing import Sequence

import flax.linen as nn

from odegan_jax.models.dcgan import (DCGANDiscriminator, DCGANGenerator,
                                     OfficialDCGANDiscriminator, OfficialDCGANGenerator,
                                     ResNetDiscriminator, ResNetGenerator)
from odegan_jax.models.dirac import DiracDiscriminator, DiracGenerator
from odegan_jax.models.layers import INITS, kernel_init
from odegan_jax.models.mlp import MLP, ResidualMLP
from odegan_jax.models.ngan import NGANDiscriminator, NGANGenerator
from odegan_jax.models.odeblock import ODEBlock

# name -> the per-sample data shape it accepts ("flat": 2D points; "any": flattened)
NETWORKS = {
    "mlp": "any",  # the notebook's depth × width ReLU MLP (images: 002's vanilla GAN)
    "m0a": "flat",  # 001 Table A.1 baseline
    "m1a": "flat",  # 001 Table A.1, 7 residual blocks
    "dcgan28": (28, 28, 1),  # 001 Table A.2 M0_B; model.res_blocks = c gives M_cB
    "dcgan32": (32, 32, 3),  # 001 Table A.2 M0_C; model.res_blocks = d gives M_dC
    "dcgan_official": (32, 32, 3),  # the ODE-GAN code's CIFAR-10 DCGAN (SN-GAN's DCGAN)
    "resnet32": (32, 32, 3),  # SN-GAN's ResNet for 32×32
    "ngan": (28, 28, 1),  # 000 Figures 4.1 / 4.2
    "dirac": (1,),  # Dirac-GAN, for tests and demonstrations
}
ODE_NETWORKS = ("ngan",)  # networks with Neural-ODE blocks (they report NFE)


def build_networks(model, sample_shape: Sequence[int]) -> tuple[nn.Module, nn.Module]:
    """Builds (G, D) from a ``config.model`` block for data of per-sample shape ``sample_shape``."""
    name = model.name
    sample_shape = tuple(sample_shape)
    if name not in NETWORKS:
        raise ValueError(f"unknown network {name!r}; allowed: {', '.join(NETWORKS)}")
    accepted = NETWORKS[name]
    if accepted not in ("flat", "any") and tuple(accepted) != sample_shape:
        raise ValueError(f"network {name!r} needs samples of shape {accepted}, "
                         f"but the data has {sample_shape}")
    if accepted == "flat" and len(sample_shape) != 1:
        raise ValueError(f"network {name!r} is for flat vectors, but the data has samples "
                         f"of shape {sample_shape}; use an image network")
    if name == "mlp":
        hidden = (model.width,) * model.depth
        return (MLP(hidden, sample_shape, model.init, model.init_std),
                MLP(hidden, 1, model.init, model.init_std))
    if name in ("m0a", "m1a"):
        blocks = 0 if name == "m0a" else model.num_blocks
        return (ResidualMLP(sample_shape[0], model.width, blocks, model.g_batchnorm, False,
                            model.init, model.init_std),
                ResidualMLP(1, model.width, blocks, model.d_batchnorm, True,
                            model.init, model.init_std))
    init = dict(init_scheme=model.init, init_std=model.init_std)
    sn = model.spectral_norm
    if name == "dcgan28":
        return (DCGANGenerator((128, 64), 7, 1, model.res_blocks, **init),
                DCGANDiscriminator((64, 128), model.res_blocks, model.d_batchnorm, sn, **init))
    if name == "dcgan32":
        return (DCGANGenerator((256, 128, 64), 4, 3, model.res_blocks, **init),
                DCGANDiscriminator((64, 128, 256), model.res_blocks, model.d_batchnorm, sn,
                                   **init))
    if name == "dcgan_official":
        return OfficialDCGANGenerator(3, **init), OfficialDCGANDiscriminator(sn, **init)
    if name == "resnet32":
        return ResNetGenerator(256, 3, **init), ResNetDiscriminator(128, sn, **init)
    if name == "ngan":
        ode = dict(solver=model.ode.solver, steps=model.ode.steps, t1=model.ode.t1,
                   rtol=model.ode.rtol, atol=model.ode.atol, gradient=model.ode.gradient)
        return (NGANGenerator(1, **ode, **init),
                NGANDiscriminator(**ode, batchnorm=model.d_batchnorm, **init))
    return DiracGenerator(), DiracDiscriminator()


__all__ = ["NETWORKS", "ODE_NETWORKS", "INITS", "build_networks", "kernel_init", "MLP", "ResidualMLP",
           "DCGANGenerator", "DCGANDiscriminator", "OfficialDCGANGenerator",
           "OfficialDCGANDiscriminator", "ResNetGenerator", "ResNetDiscriminator",
           "NGANGenerator", "NGANDiscriminator", "ODEBlock", "DiracGenerator",
           "DiracDiscriminator"]
