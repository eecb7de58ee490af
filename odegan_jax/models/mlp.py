"""Fully connected networks for 2D data.

* :class:`MLP`: the official ODE-GAN notebook's network (depth × width ReLU, no BatchNorm),
  computed batch-major (``x @ W``, flax's ``nn.Dense``) or feature-major (``Wᵀ xᵀ`` on
  activations laid out [features, batch], :class:`FeatureMajorDense`): the same parameters and
  the same function, other kernels (BUILD_NOTES.md, Performance: 1.4–1.5x on the notebook's
  2×25 RK4 step on this CPU, where a 25-wide row is an awkward width for the vector units;
  1.2x more with the input's transpose materialised, see :class:`MLP`).
* :class:`ResidualMLP`: Yamazaki17 Table A.1. ``num_blocks=0`` is M0_A (Linear-32 ×2 + output),
  ``num_blocks=7`` is M1_A: the second hidden layer is replaced by 7 residual blocks of two
  Linear-32 layers each, giving 1 + 14 + 1 = 16 linear layers per network as the text says.
  A block computes ``h + act(BN(W₂ act(BN(W₁ h))))``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from odegan_jax.models.layers import batch_norm, kernel_init

LAYOUTS = ("batch_major", "feature_major")


class FeatureMajorDense(nn.Dense):
    """``nn.Dense`` on activations laid out [features, batch]: ``y = kernelᵀ x + bias[:, None]``.

    The parameters are nn.Dense's (``kernel`` [in, out], ``bias`` [out], the same initialiser
    calls, so the same values for the same key); give it nn.Dense's name (``Dense_i``) and a
    checkpoint or seed does not know which layout computed it. Float32 only needs no casting;
    ``dtype`` / ``param_dtype`` are honoured as nn.Dense honours them."""

    @nn.compact
    def __call__(self, inputs: jax.Array) -> jax.Array:
        kernel = self.param(
            "kernel", self.kernel_init, (inputs.shape[0], self.features), self.param_dtype
        )
        bias = (
            self.param("bias", self.bias_init, (self.features,), self.param_dtype)
            if self.use_bias
            else None
        )
        inputs, kernel, bias = nn.dtypes.promote_dtype(inputs, kernel, bias, dtype=self.dtype)
        y = jax.lax.dot_general(kernel, inputs, (((0,), (0,)), ((), ())), precision=self.precision)
        return y if bias is None else y + bias[:, None]


class MLP(nn.Module):
    """ReLU MLP on flattened inputs. ``out_shape`` an int or a per-sample shape; image shapes
    (rank 3) get a tanh output in [−1, 1] (Bhope19's vanilla GAN). ``layout`` (one of
    :data:`LAYOUTS`) picks how the products are laid out inside; inputs, outputs and
    parameters are the same either way, and the outputs agree to float rounding."""

    hidden: Sequence[int] = (25, 25)
    out_shape: int | Sequence[int] = 2
    init_scheme: str = "haiku"
    init_std: float = 0.1
    layout: str = "batch_major"

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = True) -> jnp.ndarray:
        del train
        k_init = kernel_init(self.init_scheme, self.init_std)
        shape = (self.out_shape,) if isinstance(self.out_shape, int) else tuple(self.out_shape)
        x = x.reshape(x.shape[0], -1)
        widths = (*self.hidden, int(np.prod(shape)))
        if self.layout == "feature_major":
            # The transpose is materialised (a copy of the [batch, in] input, ~1k-16k floats):
            # left to itself XLA folds it into the first layer's products as a transposed
            # operand, and its CPU kernels ran those 2-3x slower than a copy and a plain
            # product (22-39 µs against 7-21 µs on the notebook's step; BUILD_NOTES.md,
            # Performance). The barrier changes no value; XLA's kernels round as they choose.
            h = jax.lax.optimization_barrier(x.T)
            for i, width in enumerate(widths):
                h = FeatureMajorDense(width, kernel_init=k_init, name=f"Dense_{i}")(h)
                h = nn.relu(h) if i < len(self.hidden) else h
            out = h.T
        elif self.layout == "batch_major":
            h = x
            for i, width in enumerate(widths):
                h = nn.Dense(width, kernel_init=k_init)(h)
                h = nn.relu(h) if i < len(self.hidden) else h
            out = h
        else:
            raise ValueError(f"MLP layout {self.layout!r}; choose one of {LAYOUTS}")
        if len(shape) == 3:
            out = jnp.tanh(out)
        return out.reshape((x.shape[0],) + shape)


class ResidualMLP(nn.Module):
    """Yamazaki17 Table A.1 (M0_A / M1_A); ``discriminator`` picks the D column of the table."""

    out_dim: int
    width: int = 32
    num_blocks: int = 0
    batchnorm: bool = True
    discriminator: bool = False
    init_scheme: str = "normal"
    init_std: float = 0.1
    leak: float = 0.2

    def _act(self) -> Callable:
        if self.discriminator:
            return lambda h: nn.leaky_relu(h, self.leak)
        return nn.relu

    def _layer(self, h, train: bool, use_bn: bool):
        h = nn.Dense(self.width, kernel_init=kernel_init(self.init_scheme, self.init_std))(h)
        if use_bn:
            h = batch_norm(train)(h)
        return self._act()(h)

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = True) -> jnp.ndarray:
        x = x.reshape(x.shape[0], -1)
        # D's first layer has no BatchNorm (DCGAN practice, Table A.1).
        h = self._layer(x, train, self.batchnorm and not self.discriminator)
        if self.num_blocks == 0:
            h = self._layer(h, train, self.batchnorm)
        for _ in range(self.num_blocks):
            r = self._layer(h, train, self.batchnorm)
            h = h + self._layer(r, train, self.batchnorm)
        return nn.Dense(self.out_dim, kernel_init=kernel_init(self.init_scheme, self.init_std))(h)
