"""Neural-ODE blocks on diffrax: ``h(t1) = h(t0) + ∫ f(h, t; w) dt`` inside a flax network.

:class:`ODEBlock` integrates a flax vector field (:class:`ConvODEFunc`: time-dependent conv or
transposed conv layers, t as an extra input channel, no BatchNorm) with any diffrax solver:

* fixed-step (any tableau of :mod:`odegan_jax.integrators`: ``euler``, ``heun``, ``midpoint``,
  ``ralston``, ``kutta3``, ``rk4``, ``rk38``) with ``steps`` steps of the package's one
  Runge–Kutta engine, ``integrators.rk_step``, *unrolled in Python* — every step and every stage
  is straight-line code, because XLA on CPU differentiates convolutions inside ``scan`` /
  ``while_loop`` 5–15x slower than unrolled code (JAX issue 12868). Tested equal to
  ``diffrax.diffeqsolve`` with diffrax's own solvers. With ``adjoint`` gradients the same
  tableau runs inside ``diffeqsolve`` (``integrators.to_diffrax``).
* adaptive (``tsit5``, ``dopri5``, ``bosh3``) with ``rtol`` / ``atol`` through
  ``diffrax.diffeqsolve`` and a PID controller.

Gradients: ``backprop`` differentiates through the solver's operations (unrolled, or diffrax's
``RecursiveCheckpointAdjoint`` for adaptive solvers); ``adjoint`` uses diffrax's
``BacksolveAdjoint`` (the continuous adjoint of Varshney19 Algorithm 2: O(1) memory in the number of
steps, gradients exact only up to the solver's error).

Each call sows its number of function evaluations into the ``nfe`` collection (exact for
fixed-step solvers; ``diffrax`` step statistics × evaluations per step for adaptive ones).
Zero-channel augmentation (augmented Neural ODEs) appends ``augment`` zero channels before
integrating.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import Array

from odegan_jax.config import ConfigError, choose
from odegan_jax.integrators import TABLEAUX, get_tableau, rk_step, to_diffrax
from odegan_jax.models.layers import conv, deconv, kernel_init

# diffrax's adaptive solvers by name (its classes; diffrax is imported where a solve is built)
ADAPTIVE_SOLVERS = {"tsit5": "Tsit5", "dopri5": "Dopri5", "bosh3": "Bosh3"}
FIXED_SOLVERS = tuple(sorted(TABLEAUX))  # every tableau of integrators.py
SOLVERS = FIXED_SOLVERS + tuple(ADAPTIVE_SOLVERS)
GRADIENTS = ("backprop", "adjoint")
# function evaluations per accepted-or-rejected step of the adaptive solvers (FSAL: the last
# stage of one step is the first of the next; one extra evaluation starts the solve)
_ADAPTIVE_EVALS_PER_STEP = {"tsit5": 6, "dopri5": 6, "bosh3": 3}


def _unrolled_fixed_solve(tableau, f, y0, args, t0: float, t1: float, steps: int):
    """``steps`` steps of ``integrators.rk_step`` (every stage straight-line code); the field
    receives the stage, so stage i is evaluated at t + cᵢ·dt. Returns ``(y(t1), nfe)``."""
    dt = (t1 - t0) / steps
    y = y0
    for i in range(steps):
        t = t0 + i * dt
        field = lambda y_, stage, t=t: (f(t + tableau.c[stage] * dt, y_, args), None)  # noqa: E731
        y = rk_step(field, y, dt, tableau).y_next
    return y, steps * tableau.num_stages


def odeint(
    f: Callable,
    y0: Any,
    args: Any,
    *,
    solver: str = "rk4",
    t0: float = 0.0,
    t1: float = 1.0,
    steps: int = 1,
    rtol: float = 1e-3,
    atol: float = 1e-3,
    gradient: str = "backprop",
    max_steps: int = 1024,
) -> tuple[Any, int]:
    """Solves ``dy/dt = f(t, y, args)`` from ``t0`` to ``t1``; returns ``(y(t1), nfe)``.

    ``nfe`` is a Python int for unrolled fixed-step solves, else a traced int32.
    """
    choose("model.ode.solver", solver, SOLVERS)
    choose("model.ode.gradient", gradient, GRADIENTS)
    if solver in FIXED_SOLVERS:
        if steps < 1:
            raise ConfigError(
                f"config.model.ode.steps: fixed-step ODE solver {solver!r} needs "
                f"steps ≥ 1, got {steps}"
            )
        tableau = get_tableau(solver, "model.ode.solver")
        if gradient == "backprop":
            return _unrolled_fixed_solve(tableau, f, y0, args, t0, t1, steps)
    import diffrax  # only for diffrax's solves: the unrolled one above needs none of it

    if solver in FIXED_SOLVERS:
        stepper, controller, dt0 = (
            to_diffrax(tableau),
            diffrax.ConstantStepSize(),
            (t1 - t0) / steps,
        )
    else:
        stepper = getattr(diffrax, ADAPTIVE_SOLVERS[solver])()
        controller, dt0 = diffrax.PIDController(rtol=rtol, atol=atol), (t1 - t0) / max(steps, 1)
    adjoint = (
        diffrax.BacksolveAdjoint()
        if gradient == "adjoint"
        else diffrax.RecursiveCheckpointAdjoint()
    )
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(f),
        stepper,
        t0,
        t1,
        dt0,
        y0,
        args,
        stepsize_controller=controller,
        adjoint=adjoint,
        max_steps=max_steps,
        saveat=diffrax.SaveAt(t1=True),
    )
    y1 = jax.tree.map(lambda x: x[-1], sol.ys)
    num_steps = sol.stats["num_steps"]
    if solver in ADAPTIVE_SOLVERS:
        return y1, num_steps * _ADAPTIVE_EVALS_PER_STEP[solver] + 1
    return y1, num_steps * tableau.num_stages


class TimeConv(nn.Module):
    """A conv (or stride-1 transposed conv) of ``[t, x]``: t enters as an extra channel."""

    features: int
    kernel: int
    padding: int = 0
    transpose: bool = False
    init_scheme: str = "normal"
    init_std: float = 0.02

    @nn.compact
    def __call__(self, t: float, x: Array) -> jax.Array:
        tt = jnp.broadcast_to(jnp.asarray(t, x.dtype), x.shape[:-1] + (1,))
        h = jnp.concatenate([tt, x], axis=-1)
        layer = deconv if self.transpose else conv  # stride 1, PyTorch's padding convention
        init = kernel_init(self.init_scheme, self.init_std)
        return layer(self.features, self.kernel, 1, self.padding, init)(h)


class ConvODEFunc(nn.Module):
    """f(h, t): time-dependent conv layers, each followed by an activation; no BatchNorm.

    ``layers``: ``(features, kernel, padding)`` per layer; the last layer's features must equal
    the state's channels.
    """

    layers: Sequence[tuple[int, int, int]]
    transpose: bool = False
    activation: str = "relu"  # relu | leaky_relu
    leak: float = 0.2
    init_scheme: str = "normal"
    init_std: float = 0.02

    @nn.compact
    def __call__(self, t: float, x: Array) -> jax.Array:
        h = x
        for features, kernel, padding in self.layers:
            h = TimeConv(
                features, kernel, padding, self.transpose, self.init_scheme, self.init_std
            )(t, h)
            h = nn.relu(h) if self.activation == "relu" else nn.leaky_relu(h, self.leak)
        if h.shape != x.shape:
            raise ValueError(
                f"ODE function maps {x.shape} to {h.shape}; the last layer must "
                f"keep the state's shape"
            )
        return h


class ODEBlock(nn.Module):
    """Integrates ``dh/dt = ConvODEFunc(h, t)`` from ``t0`` to ``t1`` (see the module doc).

    The vector field's parameters live under ``params['func']`` and are passed to the solver
    as its ``args``, so the whole solve is a pure function of them.
    """

    layers: Sequence[tuple[int, int, int]]
    transpose: bool = False
    activation: str = "relu"
    leak: float = 0.2
    augment: int = 0  # zero channels appended before integrating (augmented Neural ODE)
    solver: str = "rk4"
    steps: int = 1
    t0: float = 0.0
    t1: float = 1.0
    rtol: float = 1e-3
    atol: float = 1e-3
    gradient: str = "backprop"
    max_steps: int = 1024
    init_scheme: str = "normal"
    init_std: float = 0.02

    def _func(self) -> ConvODEFunc:
        return ConvODEFunc(
            tuple(map(tuple, self.layers)),
            self.transpose,
            self.activation,
            self.leak,
            self.init_scheme,
            self.init_std,
            parent=None,
        )

    @nn.compact
    def __call__(self, x: Array) -> jax.Array:
        if self.augment:
            x = jnp.concatenate([x, jnp.zeros(x.shape[:-1] + (self.augment,), x.dtype)], -1)
        func = self._func()
        params = self.param("func", lambda key: func.init(key, self.t0, x)["params"])

        def vector_field(t, y, args):
            return func.apply({"params": args}, t, y)

        y, nfe = odeint(
            vector_field,
            x,
            params,
            solver=self.solver,
            t0=self.t0,
            t1=self.t1,
            steps=self.steps,
            rtol=self.rtol,
            atol=self.atol,
            gradient=self.gradient,
            max_steps=self.max_steps,
        )
        self.sow("nfe", "nfe", jnp.asarray(nfe, jnp.int32))
        return y
