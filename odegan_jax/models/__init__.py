"""The network registry: ``build_networks(model_config, sample_shape) -> (G, D)``.

Each entry of :data:`NETWORKS` is a :class:`NetworkSpec`: the per-sample data shape the pair
takes, its builder, and whether it holds Neural-ODE blocks (which report their NFE).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

import flax.linen as nn

from odegan_jax.config import ConfigError, choose
from odegan_jax.models.dcgan import (
    DCGANDiscriminator,
    DCGANGenerator,
    OfficialDCGANDiscriminator,
    OfficialDCGANGenerator,
)
from odegan_jax.models.dirac import DiracDiscriminator, DiracGenerator
from odegan_jax.models.layers import INITS, kernel_init
from odegan_jax.models.mlp import LAYOUTS, MLP, ResidualMLP
from odegan_jax.models.ngan import NGANDiscriminator, NGANGenerator
from odegan_jax.models.odeblock import GRADIENTS, SOLVERS, ODEBlock
from odegan_jax.models.resnet import ResNetDiscriminator, ResNetGenerator

if TYPE_CHECKING:
    from ml_collections import ConfigDict

Builder = Callable[..., tuple[nn.Module, nn.Module]]  # (config.model, sample_shape) -> (G, D)


class NetworkSpec(NamedTuple):
    """sample_shape: the per-sample shape ``(H, W, C)`` the pair takes (``C = None``: any number
    of channels), ``"flat"`` (vectors, e.g. 2D points) or ``"any"`` (flattened internally)."""

    sample_shape: tuple | str
    build: Builder
    has_ode_blocks: bool = False


def _mlp(model, shape):
    hidden = (model.width,) * model.depth
    return (
        MLP(hidden, shape, model.init, model.init_std, model.layout),
        MLP(hidden, 1, model.init, model.init_std, model.layout),
    )


def _residual_mlp(blocks: Callable):
    def build(model, shape):
        n = blocks(model)
        return (
            ResidualMLP(
                shape[0], model.width, n, model.g_batchnorm, False, model.init, model.init_std
            ),
            ResidualMLP(1, model.width, n, model.d_batchnorm, True, model.init, model.init_std),
        )

    return build


def _init(model) -> dict:
    return dict(init_scheme=model.init, init_std=model.init_std)


def _dcgan(features_g, first_kernel, channels, features_d):
    def build(model, shape):
        return (
            DCGANGenerator(features_g, first_kernel, channels, model.res_blocks, **_init(model)),
            DCGANDiscriminator(
                features_d, model.res_blocks, model.d_batchnorm, model.spectral_norm, **_init(model)
            ),
        )

    return build


def _ngan(model, shape):
    ode = dict(
        solver=model.ode.solver,
        steps=model.ode.steps,
        t1=model.ode.t1,
        rtol=model.ode.rtol,
        atol=model.ode.atol,
        gradient=model.ode.gradient,
    )
    return (
        NGANGenerator(1, **ode, **_init(model)),
        NGANDiscriminator(**ode, batchnorm=model.d_batchnorm, **_init(model)),
    )


NETWORKS = {
    # the notebook's depth × width ReLU MLP (images: Bhope19's vanilla GAN)
    "mlp": NetworkSpec("any", _mlp),
    "m0a": NetworkSpec("flat", _residual_mlp(lambda m: 0)),  # Yamazaki17 Table A.1 baseline
    # Yamazaki17 Table A.1, 7 blocks
    "m1a": NetworkSpec("flat", _residual_mlp(lambda m: m.num_blocks)),
    # Yamazaki17 Table A.2 M0_B; model.res_blocks = c gives M_cB
    "dcgan28": NetworkSpec((28, 28, 1), _dcgan((128, 64), 7, 1, (64, 128))),
    # Yamazaki17 Table A.2 M0_C; model.res_blocks = d gives M_dC
    "dcgan32": NetworkSpec((32, 32, 3), _dcgan((256, 128, 64), 4, 3, (64, 128, 256))),
    # the official ODE-GAN code's DCGAN (cs_gan/nets.py; SN-GAN's DCGAN), 32×32, C channels
    "dcgan_official": NetworkSpec(
        (32, 32, None),
        lambda m, s: (
            OfficialDCGANGenerator(s[-1], **_init(m)),
            OfficialDCGANDiscriminator(m.spectral_norm, **_init(m)),
        ),
    ),
    "resnet32": NetworkSpec(
        (32, 32, 3),
        lambda m, s: (  # SN-GAN's ResNet for 32×32
            ResNetGenerator(256, 3, **_init(m)),
            ResNetDiscriminator(128, m.spectral_norm, **_init(m)),
        ),
    ),
    "ngan": NetworkSpec((28, 28, 1), _ngan, has_ode_blocks=True),  # Varshney19 Figures 4.1 / 4.2
    "dirac": NetworkSpec((1,), lambda m, s: (DiracGenerator(), DiracDiscriminator())),
}
IMAGE_NETWORKS = tuple(name for name, spec in NETWORKS.items() if spec.sample_shape != "flat")


def network_spec(name: str) -> NetworkSpec:
    return choose("model.name", name, NETWORKS)


def _fits(accepted: tuple, shape: tuple) -> bool:
    return len(accepted) == len(shape) and all(a is None or a == d for a, d in zip(accepted, shape))


def build_networks(model: ConfigDict, sample_shape: Sequence[int]) -> tuple[nn.Module, nn.Module]:
    """(G, D) of a ``config.model`` block for data of per-sample shape ``sample_shape``.

    Raises one ConfigError naming the key when the network cannot take that shape (with the
    ``data.image_size`` that would fit) or an ODE setting is unknown."""
    spec = network_spec(model.name)
    shape = tuple(sample_shape)
    choose("model.init", model.init, INITS)
    choose("model.layout", model.layout, LAYOUTS)
    choose("model.ode.solver", model.ode.solver, SOLVERS)
    choose("model.ode.gradient", model.ode.gradient, GRADIENTS)
    accepted = spec.sample_shape
    if accepted == "flat" and len(shape) != 1:
        others = ", ".join(n for n in IMAGE_NETWORKS if NETWORKS[n].sample_shape != (1,))
        raise ConfigError(
            f"config.model.name: {model.name!r} is a network for 2D points; "
            f"for images of shape {shape} use one of: {others}"
        )
    if accepted not in ("flat", "any") and not _fits(accepted, shape):
        hint = ""
        if len(shape) == 3 and accepted[-1] in (None, shape[-1]) and shape[0] != accepted[0]:
            hint = (
                f"; set --config.data.image_size={accepted[0]} (resize) or "
                f"--config.data.pad_to={accepted[0]} (pad)"
            )
        wanted = "(" + ", ".join("C" if d is None else str(d) for d in accepted) + ")"
        raise ConfigError(
            f"config.model.name: network {model.name!r} needs samples of shape "
            f"{wanted}, but the data has {shape}{hint}"
        )
    return spec.build(model, shape)


__all__ = [
    "NETWORKS",
    "NetworkSpec",
    "network_spec",
    "INITS",
    "build_networks",
    "kernel_init",
    "MLP",
    "ResidualMLP",
    "DCGANGenerator",
    "DCGANDiscriminator",
    "OfficialDCGANGenerator",
    "OfficialDCGANDiscriminator",
    "ResNetGenerator",
    "ResNetDiscriminator",
    "NGANGenerator",
    "NGANDiscriminator",
    "ODEBlock",
    "DiracGenerator",
    "DiracDiscriminator",
]


def describe_networks(model: ConfigDict, sample_shape: Sequence[int], batch: int = 2) -> dict:
    """Each player's layers, output shapes and trainable-parameter counts, from shapes alone
    (``jax.eval_shape``; nothing is computed and no data is read): ``{"G": {"params": N,
    "table": str}, "D": {...}}``; the tables are ``flax.linen.tabulate``'s."""
    import jax
    import jax.numpy as jnp

    generator, discriminator = build_networks(model, sample_shape)
    z = jnp.zeros((batch, model.latent_size))
    x = jnp.zeros((batch, *sample_shape))
    out = {}
    for name, net, example in (("G", generator, z), ("D", discriminator, x)):
        key = jax.random.PRNGKey(0)
        variables = jax.eval_shape(lambda k, e, n=net: n.init(k, e, train=False), key, example)
        params = variables.get("params", {})
        count = sum(int(math.prod(leaf.shape)) for leaf in jax.tree.leaves(params))
        table = nn.tabulate(
            net, key, console_kwargs={"width": 120, "force_terminal": False, "color_system": None}
        )(example, train=False)
        out[name] = {"params": count, "table": table}
    return out
