"""The Dirac-GAN (Mescheder et al. 2018): D(x) = ψx, G(z) = θ, data at 0.

With a linear loss (the WGAN objective, f(t) = t) the gradient field is an exact rotation of
(θ, ψ) with unit angular speed, so the per-step radius of every scheme has a closed form.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp


class DiracGenerator(nn.Module):
    init_value: float = 1.0

    @nn.compact
    def __call__(self, z: jnp.ndarray, train: bool = True) -> jnp.ndarray:
        del train
        theta = self.param("theta", lambda key: jnp.asarray(self.init_value, jnp.float32))
        return jnp.broadcast_to(theta.astype(z.dtype), (z.shape[0], 1))


class DiracDiscriminator(nn.Module):
    init_value: float = 1.0

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = True) -> jnp.ndarray:
        del train
        psi = self.param("psi", lambda key: jnp.asarray(self.init_value, jnp.float32))
        return psi.astype(x.dtype) * x.reshape(x.shape[0], 1)
