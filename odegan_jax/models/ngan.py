"""NGAN (Varshney19): a DCGAN for 28×28×1 whose G and D contain a Neural-ODE block.

Exactly the PyTorch layer lists of Varshney19 Figures 4.1 / 4.2 (NHWC here):

Generator (z ∈ R^100)::

    ConvTranspose2d(100, 32, 4, stride 1, bias=False) BN ReLU        1 → 4×4×32
    ConvTranspose2d(32, 16, 4, stride 2, pad 1, bias=False) BN ReLU  → 8×8×16
    ConstantPad2d(3, 0)                                              → 14×14×16 (augmentation)
    ODEBlock(ConvTranspose2dTime(17, 16, 5, pad 2), ReLU)            → 14×14×16
    ConvTranspose2d(16, 8, 4, stride 2, pad 1, bias=False) BN ReLU   → 28×28×8
    ConvTranspose2d(8, 1, 3, stride 1, pad 1) Tanh                   → 28×28×1

Discriminator::

    Conv2d(1, 8, 4, stride 2, pad 1, bias=False) BN LeakyReLU(0.2)   → 14×14×8
    [2 zero channels appended]                                       → 14×14×10 (augmentation)
    ODEBlock(Conv2dTime(11, 16, 1) LReLU, Conv2dTime(17, 16, 3, pad 1) LReLU,
             Conv2dTime(17, 10, 1) LReLU)                            → 14×14×10
    Conv2d(10, 16, 4, stride 2, pad 1, bias=False) BN LeakyReLU(0.2) → 7×7×16
    Linear(784, 1)                                                    (the Sigmoid is in the loss)

The ``*Time`` layers see t as one extra input channel (hence 17 = 16 + 1 and 11 = 10 + 1).
The D figure's ``Conv2dTime(11, …)`` after an 8-channel conv fixes the augmentation at two zero
channels; the G figure's ``ConstantPad2d(3)`` is its spatial zero augmentation.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp
from jax import Array

from odegan_jax.models.layers import batch_norm, conv, deconv, kernel_init
from odegan_jax.models.odeblock import ODEBlock


def _ode_fields(module) -> dict:
    return dict(
        solver=module.solver,
        steps=module.steps,
        t0=0.0,
        t1=module.t1,
        rtol=module.rtol,
        atol=module.atol,
        gradient=module.gradient,
        init_scheme=module.init_scheme,
        init_std=module.init_std,
    )


class NGANGenerator(nn.Module):
    channels: int = 1
    solver: str = "rk4"
    steps: int = 1
    t1: float = 1.0
    rtol: float = 1e-3
    atol: float = 1e-3
    gradient: str = "backprop"
    init_scheme: str = "normal"
    init_std: float = 0.02

    @nn.compact
    def __call__(self, z: Array, train: bool = True) -> Array:
        init = kernel_init(self.init_scheme, self.init_std)
        h = z.reshape(z.shape[0], 1, 1, -1)
        h = nn.relu(batch_norm(train)(deconv(32, 4, 1, 0, init, use_bias=False)(h)))  # 4×4
        h = nn.relu(batch_norm(train)(deconv(16, 4, 2, 1, init, use_bias=False)(h)))  # 8×8
        h = jnp.pad(h, ((0, 0), (3, 3), (3, 3), (0, 0)))  # ConstantPad2d(3): 14×14
        h = ODEBlock(
            layers=((16, 5, 2),),
            transpose=True,
            activation="relu",
            **_ode_fields(self),
            name="odeblock",
        )(h)
        h = nn.relu(batch_norm(train)(deconv(8, 4, 2, 1, init, use_bias=False)(h)))  # 28×28
        return jnp.tanh(deconv(self.channels, 3, 1, 1, init)(h))


class NGANDiscriminator(nn.Module):
    solver: str = "rk4"
    steps: int = 1
    t1: float = 1.0
    rtol: float = 1e-3
    atol: float = 1e-3
    gradient: str = "backprop"
    batchnorm: bool = True
    init_scheme: str = "normal"
    init_std: float = 0.02
    leak: float = 0.2

    @nn.compact
    def __call__(self, x: Array, train: bool = True) -> Array:
        init = kernel_init(self.init_scheme, self.init_std)
        h = conv(8, 4, 2, 1, init, use_bias=False)(x)  # 14×14×8
        if self.batchnorm:
            h = batch_norm(train)(h)
        h = nn.leaky_relu(h, self.leak)
        h = ODEBlock(
            layers=((16, 1, 0), (16, 3, 1), (10, 1, 0)),
            activation="leaky_relu",
            leak=self.leak,
            augment=2,
            **_ode_fields(self),
            name="odeblock",
        )(h)
        h = conv(16, 4, 2, 1, init, use_bias=False)(h)  # 7×7×16
        if self.batchnorm:
            h = batch_norm(train)(h)
        h = nn.leaky_relu(h, self.leak)
        return nn.Dense(1, kernel_init=init)(h.reshape(h.shape[0], -1))
