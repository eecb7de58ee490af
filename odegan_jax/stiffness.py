"""Stiffness of the training field: the leading eigenvalues of its Jacobian and, for every
explicit tableau, the largest stable step size.

An explicit Runge–Kutta step of size h maps a perturbation along an eigenvector of the field's
Jacobian J (eigenvalue λ) to R(hλ) times itself, R the tableau's stability polynomial
``R(z) = 1 + Σ_k z^k bᵀA^{k−1}1``. The linearised step is stable while |R(hλᵢ)| ≤ 1 for
every eigenvalue; a step size past that bound makes the largest eigen-directions grow every
step, which on a GAN saturates D within a few steps. :func:`h_max` gives the bound for the
leading eigenvalues, :func:`leading_eigenvalues` computes those from Jacobian-vector products
(forward over reverse) with ARPACK's implicitly restarted Arnoldi method
(``scipy.sparse.linalg.eigs`` on a ``LinearOperator``), or, for a few hundred parameters, from
the dense Jacobian with LAPACK.

Eigenvalues with a positive real part are modes the exact flow amplifies as well (the field of a
GAN has them away from equilibrium); they bound no step size and are listed apart
(``growing``). The bound comes from the decaying and rotating modes (Re λ ≤ 0): the stiff
ones, which an explicit step amplifies while the exact flow damps them.

The field is the one the ODE rule integrates: ``v(θ, φ) = −[α ∂ℓ_D/∂θ + λ g_θ, ∂ℓ_G/∂φ]`` on
one fixed minibatch and one fixed set of latents (BatchNorm in training mode, as every stage
evaluates it), with the regulariser g_θ = ∇_θ‖∂ℓ_G/∂φ‖² as a term of the field. Algorithm 1
applies it after the step (``post_step``) and the official code inside the first stage
(``first_stage``); to first order in h both are that term.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
import scipy.sparse.linalg
from jax.flatten_util import ravel_pytree
from ml_collections import ConfigDict

from odegan_jax import game as game_lib
from odegan_jax.data import get_batches
from odegan_jax.integrators import TABLEAUX, ButcherTableau, embedded_tableaux

if TYPE_CHECKING:
    from odegan_jax.experiment import Experiment
    from odegan_jax.rules import TrainState

DENSE_MAX = 400  # parameters up to which the Jacobian is formed densely (LAPACK)
# a real part this small relative to |λ| is rounding: the eigenvalue is read as imaginary
IMAGINARY_RTOL = 1e-6
# the train-time check: fewer eigenvalues and a looser tolerance than `odegan stiffness`
CHECK_K, CHECK_TOL = 4, 0.1


class StiffnessError(ValueError):
    """The stiffness cannot be measured as asked; the message says what to change."""


class Stiffness(NamedTuple):
    """eigenvalues: complex ``[k]``, largest magnitude first; h_max: tableau name → the
    largest stable h for them (0: no h > 0 is stable; inf: every h is); num_params: the
    field's dimension; converged: whether the eigensolver met its tolerance."""

    eigenvalues: np.ndarray
    h_max: dict
    num_params: int
    converged: bool = True

    def to_json(self) -> dict:
        return {
            "eigenvalues": [[float(z.real), float(z.imag)] for z in self.eigenvalues],
            "growing": [bool(growing(complex(z))) for z in self.eigenvalues],
            "h_max": {k: _finite_or_str(v) for k, v in self.h_max.items()},
            "num_params": self.num_params,
            "converged": self.converged,
        }


def _finite_or_str(x: float):
    return float(x) if math.isfinite(x) else "inf"


# ------------------------------------------------------------------------------------------
# Stability polynomials
# ------------------------------------------------------------------------------------------


def stability_polynomial(tableau: ButcherTableau) -> np.ndarray:
    """Coefficients ``r_0 … r_s`` of R(z) = Σ r_k z^k: r_0 = 1, r_k = bᵀA^{k−1}1."""
    s = tableau.num_stages
    a = np.zeros((s, s))
    for i, row in enumerate(tableau.a):
        a[i + 1, : len(row)] = row
    b = np.asarray(tableau.b, float)
    coeffs, v = [1.0], np.ones(s)
    for _ in range(s):
        coeffs.append(float(b @ v))
        v = a @ v
    return np.asarray(coeffs)


def stable_step(coeffs: np.ndarray, eigenvalue: complex) -> float:
    """The largest h with |R(h'λ)| ≤ 1 for all 0 < h' ≤ h (0 when no h > 0 is stable, inf
    when all are). A real part below ``IMAGINARY_RTOL``·|λ| is read as 0."""
    lam = complex(eigenvalue)
    if lam == 0:
        return math.inf
    if abs(lam.real) <= IMAGINARY_RTOL * abs(lam):
        lam = complex(0.0, lam.imag)
    # in x = h|λ| the coefficients are O(1) whatever |λ| is: rk · (λ/|λ|)^k
    size = abs(lam)
    c = np.asarray(coeffs, complex) * (lam / size) ** np.arange(len(coeffs))
    # |R(xλ/|λ|)|² − 1 as a real polynomial in x (lowest degree first); constant term 0
    g = np.convolve(c, np.conj(c)).real
    g[0] -= 1.0
    scale = np.max(np.abs(g))
    g = np.where(np.abs(g) <= 1e-12 * scale, 0.0, g)
    nonzero = np.flatnonzero(g)
    if len(nonzero) == 0:
        return math.inf
    if g[nonzero[0]] > 0:  # |R| > 1 right from h = 0
        return 0.0
    roots = np.roots(g[::-1])
    positive = sorted(
        r.real for r in roots if r.real > 0 and abs(r.imag) <= 1e-7 * max(1.0, abs(r))
    )
    poly = np.polynomial.Polynomial(g)
    for r in positive:  # the first root where |R| − 1 turns positive
        if poly(r * (1 + 1e-6)) > 0:
            return float(r) / size
    return math.inf


def explicit_tableaux(embedded: bool = False) -> dict:
    """The explicit tableaux by name (Heun once, under ``heun``); ``embedded``: the embedded
    pairs too (their solution weights; reading them imports diffrax)."""
    out = {t.name: t for t in TABLEAUX.values()}
    if embedded:
        out.update(embedded_tableaux())
    return out


def growing(z: complex) -> bool:
    """An eigenvalue whose mode the exact flow amplifies (Re λ > 0, beyond rounding)."""
    return z.real > IMAGINARY_RTOL * abs(z)


def h_max(eigenvalues: Sequence[complex], tableaux: dict | None = None) -> dict:
    """Tableau name → the largest h with |R(hλ)| ≤ 1 for every eigenvalue that the exact
    flow does not amplify (Re λ ≤ 0: :func:`stable_step`); ``tableaux`` defaults to
    :func:`explicit_tableaux`. Growing modes (Re λ > 0; a GAN's field has them away from
    equilibrium, where ℓ_G is locally concave) grow under the exact flow too: no step size
    makes a step "stable" for them, so they bound nothing and are reported apart
    (:func:`growing`)."""
    tableaux = tableaux or explicit_tableaux()
    decaying = [z for z in eigenvalues if not growing(complex(z))]
    out = {}
    for name, tableau in tableaux.items():
        coeffs = stability_polynomial(tableau)
        out[name] = min((stable_step(coeffs, z) for z in decaying), default=math.inf)
    return out


# ------------------------------------------------------------------------------------------
# The field and its eigenvalues
# ------------------------------------------------------------------------------------------


def training_field(
    exp: Experiment, state: TrainState, batch: jax.Array, key: jax.Array
) -> tuple[jax.Array, Callable, tuple]:
    """``(y0, f, inputs)``: the flattened parameters, the flattened field ``f(y, *inputs)`` of
    the ODE rule at ``state``'s step (λ with its schedule; see the module doc) and the
    minibatch, latents and model state it is evaluated on. The inputs are arguments, not
    constants of the compiled program, which XLA would otherwise fold (minutes of compile
    time for the convolutions of a DCGAN)."""
    cfg, game = exp.config, exp.game
    draws = game_lib.draw(game, key, batch)
    reg = float(cfg.rule.reg_weight)
    if cfg.rule.reg_scales:
        from odegan_jax.rules import reg_weight_schedule

        scale = reg_weight_schedule(
            cfg.rule.schedule, tuple(cfg.rule.schedule_boundaries), tuple(cfg.rule.reg_scales)
        )
        reg *= float(scale(state.step))
    alpha = float(cfg.rule.d_rate)
    y0, unravel = ravel_pytree(state.params)

    def f(y, real, draws, model_state):
        params = unravel(y)
        ev = game_lib.player_gradients(game, params, model_state, real, draws, penalty=reg > 0)
        v_d = jax.tree.map(lambda g: -alpha * g, ev.grads["d"])
        if reg > 0:
            v_d = jax.tree.map(lambda v, p: v - reg * p, v_d, ev.penalty_grad)
        return ravel_pytree({"d": v_d, "g": jax.tree.map(jnp.negative, ev.grads["g"])})[0]

    return y0, f, (batch, draws, state.model_state)


def leading_eigenvalues(
    f: Callable,
    y0: jax.Array,
    inputs: tuple = (),
    k: int = 6,
    tol: float = 1e-3,
    maxiter: int | None = None,
) -> tuple[np.ndarray, bool]:
    """The ``k`` eigenvalues of largest magnitude of the Jacobian of ``y ↦ f(y, *inputs)`` at
    ``y0`` (complex, largest first) and whether ARPACK converged (the dense path always
    does)."""
    n = int(y0.size)
    if n <= max(DENSE_MAX, k + 2):
        jac = np.asarray(jax.jit(jax.jacfwd(f))(y0, *inputs), np.float64)
        values = scipy.linalg.eigvals(jac)
        return values[np.argsort(-np.abs(values))][:k], True
    jvp = jax.jit(lambda y, v, *args: jax.jvp(lambda u: f(u, *args), (y,), (v,))[1])

    def matvec(v):
        return np.asarray(jvp(y0, jnp.asarray(np.ravel(v), y0.dtype), *inputs), np.float64)

    op = scipy.sparse.linalg.LinearOperator((n, n), matvec=matvec, dtype=np.float64)
    rng = np.random.default_rng(0)  # ARPACK's start vector: fixed, so repeats agree
    v0 = rng.standard_normal(n)
    try:
        values = scipy.sparse.linalg.eigs(
            op,
            k=k,
            which="LM",
            tol=tol,
            v0=v0,
            maxiter=maxiter or 50 * n,
            return_eigenvectors=False,
        )
        converged = True
    except scipy.sparse.linalg.ArpackNoConvergence as e:
        values, converged = e.eigenvalues, False
        if len(values) == 0:
            raise StiffnessError(
                "the eigensolver found no eigenvalue; raise --maxiter or --tol"
            ) from None
    return values[np.argsort(-np.abs(values))], converged


def fixed_batch(exp: Experiment, key: jax.Array) -> jax.Array:
    """One minibatch of the run's data (the config's batch size), drawn from ``key``."""
    return get_batches(exp.dataset, key, 0, 1, exp.config.data.batch_size)[0]


def probe_key(exp: Experiment) -> jax.Array:
    """The minibatch and latents of the measurement: from the ``eval`` key folded with 2, so
    training's own keys (and its parameters) are untouched."""
    return jax.random.fold_in(exp.keys["eval"], 2)


def require_ode_rule(config: ConfigDict) -> None:
    if config.rule.name != "ode":
        raise StiffnessError(
            f"the stiffness of the training field bounds the step size of an ODE rule; "
            f"{config.name!r} trains with rule.name={config.rule.name!r}, whose optimiser "
            f"has no such step. Use a config with rule.name='ode'"
        )


def measure(
    exp: Experiment, state: TrainState, k: int = 6, tol: float = 1e-3, embedded: bool = False
) -> Stiffness:
    """The stiffness of ``exp``'s training field at ``state`` (:func:`training_field` on the
    fixed minibatch of :func:`probe_key`); h_max for every explicit tableau (``embedded``, or
    an embedded-pair integrator: the pairs too)."""
    require_ode_rule(exp.config)
    batch_key, latent_key = jax.random.split(probe_key(exp))
    y0, f, inputs = training_field(exp, state, fixed_batch(exp, batch_key), latent_key)
    values, converged = leading_eigenvalues(f, y0, inputs, k=min(k, int(y0.size)), tol=tol)
    tableaux = explicit_tableaux(embedded or exp.config.rule.integrator not in TABLEAUX)
    return Stiffness(values, h_max(values, tableaux), int(y0.size), converged)


def measure_run(
    run_dir: str, steps: Sequence[int] | None = None, k: int = 6, tol: float = 1e-3
) -> dict:
    """The stiffness at the run's checkpoints (``steps``: those of them, 0 meaning the
    config's initialisation), as ``{"measurements": [{"step", "eigenvalues", "h_max", …}]}``.
    """
    from odegan_jax import checkpoints
    from odegan_jax.experiment import RunError, build, init_state, read_run_config, restore_run

    config = read_run_config(run_dir)
    require_ode_rule(config)
    exp = build(config)
    ckpt_dir = os.path.join(run_dir, "checkpoints")
    available = []
    if os.path.isdir(ckpt_dir):
        mngr = checkpoints.manager(ckpt_dir, read_only=True)
        available = sorted(mngr.all_steps())
    else:
        mngr = None
    wanted = available if steps is None else [s for s in steps if s == 0 or s in available]
    if not wanted or (steps is None and not available):
        raise StiffnessError(
            f"{run_dir} has no checkpoints in checkpoints/ to measure; "
            f"give a config instead to measure at initialisation"
        )
    out = []
    try:
        for step in wanted:
            if step == 0 and 0 not in available:
                state = init_state(exp)
            else:
                state, found = restore_run(mngr, exp, up_to=step)
                if state is None or found != step:
                    raise RunError(f"checkpoint {step} of {run_dir} does not restore")
            out.append({"step": int(step), **measure(exp, state, k, tol).to_json()})
    finally:
        if mngr is not None:
            mngr.close()
    return {
        "run": os.path.basename(os.path.abspath(run_dir)),
        "k": k,
        "tol": tol,
        "measurements": out,
    }


# ------------------------------------------------------------------------------------------
# The step sizes a config will take
# ------------------------------------------------------------------------------------------


def scheduled_steps(config: ConfigDict) -> list[tuple[float, int, int]]:
    """``(h, first step, last step)`` of each phase of the config's fixed step-size schedule
    that the run reaches."""
    from odegan_jax.rules import OFFICIAL_SCHEDULE

    r, steps = config.rule, config.steps
    if r.step_control == "adaptive" or r.schedule == "constant":
        return [(float(r.h), 0, steps)]
    bounds, scales = (
        OFFICIAL_SCHEDULE
        if r.schedule == "official"
        else (tuple(r.schedule_boundaries), tuple(r.schedule_scales))
    )
    edges = [0, *bounds, steps]
    return [
        (float(r.h) * s, lo, min(hi, steps))
        for s, lo, hi in zip(scales, edges, edges[1:])
        if lo < steps
    ]


def integrator_h_max(config: ConfigDict, stiffness: Stiffness) -> float:
    """h_max of the config's integrator (``rk2`` is Heun's)."""
    name = config.rule.integrator
    return stiffness.h_max[TABLEAUX[name].name if name in TABLEAUX else name]


def unstable_phases(config: ConfigDict, stiffness: Stiffness) -> list[tuple[float, int, int]]:
    """The schedule's phases whose h exceeds the integrator's h_max at ``stiffness``."""
    bound = integrator_h_max(config, stiffness)
    return [p for p in scheduled_steps(config) if p[0] > bound]


def h_auto(config: ConfigDict, stiffness: Stiffness) -> float:
    """``rule.h=auto``: ``rule.h_auto_fraction`` (default 0.5) of the integrator's h_max at
    initialisation, divided by the schedule's largest scale, so that every phase stays at or
    below that fraction of the bound; the margin leaves room for the stiffness to change in
    training."""
    bound = integrator_h_max(config, stiffness)
    if not math.isfinite(bound) or bound <= 0:
        raise StiffnessError(
            f"rule.h=auto: {config.rule.integrator} has no stable h > 0 for this field at "
            f"initialisation (h_max {bound}); its leading eigenvalues "
            f"{', '.join(f'{z:.3g}' for z in stiffness.eigenvalues[:3])}. Choose another "
            f"integrator or set rule.reg_weight > 0"
        )
    largest = max(h / float(config.rule.h) for h, _, _ in scheduled_steps(config))
    return float(config.rule.h_auto_fraction) * bound / largest


def check_config(
    config: ConfigDict, exp: Experiment | None = None, echo: Callable[[str], None] = print
) -> Stiffness | None:
    """The train-time check of an ODE rule with fixed steps (``rule.stability_check``): one
    warning line when an h of the schedule lies outside the stable range at initialisation.
    Returns the measurement (None when the check does not apply)."""
    r = config.rule
    if r.name != "ode" or r.step_control != "fixed" or not (r.stability_check or r.h_auto):
        return None
    from odegan_jax.experiment import build, init_state

    exp = exp or build(config)
    m = measure(exp, init_state(exp), k=CHECK_K, tol=CHECK_TOL)
    bad = unstable_phases(config, m)
    if bad and not r.h_auto:
        bound = integrator_h_max(config, m)
        phases = ", ".join(f"{h:.4g} (steps {lo}–{hi})" for h, lo, hi in bad)
        echo(
            f"odegan: warning: h {phases} lies outside {r.integrator}'s stable range at "
            f"initialisation (h_max {bound:.3g}, leading eigenvalue "
            f"{max(m.eigenvalues, key=abs):.3g}); a stable h: rule.h ≤ "
            f"{bound * r.h / max(h for h, _, _ in bad):.3g}, or --config.rule.h=auto"
        )
    return m
