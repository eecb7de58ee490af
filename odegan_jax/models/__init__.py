"""Network registry: ``build_networks(model_config, sample_shape) -> (generator, discriminator)``."""
from __future__ import annotations

from typing import Sequence

import flax.linen as nn

from odegan_jax.models.dcgan import DCGANDiscriminator28, DCGANGenerator28
from odegan_jax.models.dirac import DiracDiscriminator, DiracGenerator
from odegan_jax.models.layers import INITS, kernel_init
from odegan_jax.models.mlp import MLP, ResidualMLP

# name -> the per-sample data shapes it accepts (None: any flat vector)
NETWORKS = {
    "mlp": "flat",  # the official notebook's depth × width ReLU MLP
    "m0a": "flat",  # 001 Table A.1 baseline
    "m1a": "flat",  # 001 Table A.1, 7 residual blocks
    "dcgan28": (28, 28, 1),  # 001 Table A.2 M0_B
    "dirac": (1,),  # Dirac-GAN, for tests and demonstrations
}


def build_networks(model, sample_shape: Sequence[int]) -> tuple[nn.Module, nn.Module]:
    """Builds (G, D) from a ``config.model`` block for data of per-sample shape ``sample_shape``."""
    name = model.name
    sample_shape = tuple(sample_shape)
    if name not in NETWORKS:
        raise ValueError(f"unknown network {name!r}; allowed: {', '.join(NETWORKS)}")
    accepted = NETWORKS[name]
    if accepted != "flat" and tuple(accepted) != sample_shape:
        raise ValueError(f"network {name!r} needs samples of shape {accepted}, "
                         f"but the data has {sample_shape}")
    if accepted == "flat" and len(sample_shape) != 1:
        raise ValueError(f"network {name!r} is for flat vectors, but the data has samples "
                         f"of shape {sample_shape}; use an image network")
    if name == "mlp":
        hidden = (model.width,) * model.depth
        return (MLP(hidden, sample_shape[0], model.init, model.init_std),
                MLP(hidden, 1, model.init, model.init_std))
    if name in ("m0a", "m1a"):
        blocks = 0 if name == "m0a" else model.num_blocks
        return (ResidualMLP(sample_shape[0], model.width, blocks, model.g_batchnorm, False,
                            model.init, model.init_std),
                ResidualMLP(1, model.width, blocks, model.d_batchnorm, True,
                            model.init, model.init_std))
    if name == "dcgan28":
        return (DCGANGenerator28(1, model.init, model.init_std),
                DCGANDiscriminator28(model.d_batchnorm, model.init, model.init_std))
    return DiracGenerator(), DiracDiscriminator()


__all__ = ["NETWORKS", "INITS", "build_networks", "kernel_init", "MLP", "ResidualMLP",
           "DCGANGenerator28", "DCGANDiscriminator28", "DiracGenerator", "DiracDiscriminator"]
