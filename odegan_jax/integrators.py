"""Explicit Runge–Kutta steps over pytrees, declared by Butcher tableaux.

A scheme is data: ``ButcherTableau(a, b, c)``. The tableau checks itself when built
(explicit, rows of ``a`` sum to ``c``, weights sum to 1, and the order conditions up to the
order it claims). One stepping function, :func:`rk_step`, serves every tableau; a new scheme is
a new tableau, not new code.

Stages are unrolled in Python (the number of stages is static): on CPU, gradients of
convolutions inside ``lax.scan``/``while_loop`` are 5–15x slower than unrolled code.

This is the package's one Runge–Kutta engine: the ODE-GAN rules step the GAN's parameters with
:func:`rk_step`, and the Neural-ODE blocks (``models/odeblock.py``) step their hidden state
with it; :func:`to_diffrax` hands the same tableau to ``diffrax.diffeqsolve`` where diffrax's
machinery is needed (adjoint gradients, step-size controllers).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from odegan_jax.config import ConfigError, choose

if TYPE_CHECKING:  # diffrax is imported where it is used: ~0.9 s of every process's start-up
    import diffrax

_TOL = 1e-12


class ButcherTableau(NamedTuple):
    """An explicit Runge–Kutta scheme.

    a: the strictly lower-triangular stage matrix as rows for stages 2..s; row i (0-based) has
       i + 1 entries.
    b: the s solution weights.  c: the s nodes (c[0] = 0).  order: the classical order.
    b_error: embedded pairs only (else ``()``): the error weights, diffrax's convention: the
       error estimate of a step is h·Σ b_errorᵢ kᵢ, the difference between the solution and an
       embedded one of weights b − b_error.  embedded_order: that embedded solution's order.
    """

    name: str
    a: tuple
    b: tuple
    c: tuple
    order: int
    b_error: tuple = ()
    embedded_order: int = 0

    @property
    def num_stages(self) -> int:
        return len(self.b)

    @property
    def embedded(self) -> bool:
        """True for an embedded pair (a step also estimates its local error)."""
        return bool(self.b_error)


def _a_matrix(t: ButcherTableau) -> list[list[float]]:
    s = t.num_stages
    return [[0.0] * s] + [list(row) + [0.0] * (s - len(row)) for row in t.a]


def _order_conditions(
    t: ButcherTableau, order: int, b: Sequence[float] | None = None
) -> list[tuple[str, float, float]]:
    """(name, value, required) for the rooted-tree conditions of order ≤ ``order`` (≤ 5) on
    the weights ``b`` (default: the tableau's own)."""
    a, c = _a_matrix(t), list(t.c)
    b = list(t.b if b is None else b)
    s = t.num_stages
    rng = range(s)

    def mat(v):  # A·v
        return [sum(a[i][j] * v[j] for j in rng) for i in rng]

    ac = mat(c)
    ac2 = mat([x**2 for x in c])
    aac = mat(ac)

    def bsum(*vectors):  # Σᵢ bᵢ · Πₖ vectorₖ[i]
        return sum(b[i] * np.prod([v[i] for v in vectors]) for i in rng)

    conds = [
        (1, "sum b = 1", sum(b), 1.0),
        (2, "sum b c = 1/2", sum(b[i] * c[i] for i in rng), 1 / 2),
        (3, "sum b c^2 = 1/3", sum(b[i] * c[i] ** 2 for i in rng), 1 / 3),
        (3, "sum b a c = 1/6", sum(b[i] * ac[i] for i in rng), 1 / 6),
        (4, "sum b c^3 = 1/4", sum(b[i] * c[i] ** 3 for i in rng), 1 / 4),
        (4, "sum b c a c = 1/8", sum(b[i] * c[i] * ac[i] for i in rng), 1 / 8),
        (4, "sum b a c^2 = 1/12", sum(b[i] * ac2[i] for i in rng), 1 / 12),
        (4, "sum b a a c = 1/24", sum(b[i] * aac[i] for i in rng), 1 / 24),
    ]
    if order >= 5:  # the nine trees of order 5 (Butcher): Σ b Φ(t) = 1/γ(t)
        conds += [
            (5, "sum b c^4 = 1/5", bsum(c, c, c, c), 1 / 5),
            (5, "sum b c^2 a c = 1/10", bsum(c, c, ac), 1 / 10),
            (5, "sum b c a c^2 = 1/15", bsum(c, ac2), 1 / 15),
            (5, "sum b c a a c = 1/30", bsum(c, aac), 1 / 30),
            (5, "sum b (a c)^2 = 1/20", bsum(ac, ac), 1 / 20),
            (5, "sum b a c^3 = 1/20", bsum(mat([x**3 for x in c])), 1 / 20),
            (5, "sum b a (c a c) = 1/40", bsum(mat([x * y for x, y in zip(c, ac)])), 1 / 40),
            (5, "sum b a a c^2 = 1/60", bsum(mat(ac2)), 1 / 60),
            (5, "sum b a a a c = 1/120", bsum(mat(aac)), 1 / 120),
        ]
    return [(name, value, req) for k, name, value, req in conds if k <= order]


def _failed_condition(t: ButcherTableau, order: int, b=None) -> str | None:
    for cond, value, required in _order_conditions(t, order, b):
        if abs(value - required) > 1e-10:
            return f"{cond} (got {value})"
    return None


def make_tableau(
    name: str,
    a: Sequence[Sequence[float]],
    b: Sequence[float],
    c: Sequence[float],
    order: int,
    b_error: Sequence[float] | None = None,
    embedded_order: int | None = None,
) -> ButcherTableau:
    """Builds and validates an explicit Butcher tableau; raises ValueError if inconsistent.

    An embedded pair also gives ``b_error`` and ``embedded_order``: the embedded weights
    b − b_error must have exactly that order (its conditions hold, one of the next order
    fails), below ``order``."""
    a = tuple(tuple(float(x) for x in row) for row in a)
    b, c = tuple(float(x) for x in b), tuple(float(x) for x in c)
    s = len(b)
    if s < 1 or len(c) != s:
        raise ValueError(f"tableau {name!r}: b and c must have the same length ≥ 1")
    if len(a) != s - 1 or any(len(row) != i + 1 for i, row in enumerate(a)):
        raise ValueError(
            f"tableau {name!r}: a must be strictly lower triangular, given as "
            f"{s - 1} rows of lengths 1..{s - 1} (explicit schemes only)"
        )
    if abs(c[0]) > _TOL:
        raise ValueError(f"tableau {name!r}: c[0] must be 0 for an explicit scheme")
    for i, row in enumerate(a):
        if abs(sum(row) - c[i + 1]) > 1e-10:
            raise ValueError(
                f"tableau {name!r}: row {i + 2} of a sums to {sum(row)}, "
                f"but c[{i + 1}] = {c[i + 1]}"
            )
    if not 1 <= order <= 5:
        raise ValueError(f"tableau {name!r}: order must be 1..5 (conditions checked up to 5)")
    tableau = ButcherTableau(name, a, b, c, int(order))
    failed = _failed_condition(tableau, order)
    if failed:
        raise ValueError(f"tableau {name!r} claims order {order} but fails {failed}")
    if b_error is None:
        return tableau
    b_error = tuple(float(x) for x in b_error)
    if len(b_error) != s or embedded_order is None or not 1 <= embedded_order < order:
        raise ValueError(
            f"tableau {name!r}: an embedded pair needs {s} error weights and an "
            f"embedded_order in 1..{order - 1}"
        )
    low = [x - e for x, e in zip(b, b_error)]
    failed = _failed_condition(tableau, embedded_order, low)
    if failed:
        raise ValueError(
            f"tableau {name!r}: the embedded weights b - b_error claim order "
            f"{embedded_order} but fail {failed}"
        )
    if _failed_condition(tableau, embedded_order + 1, low) is None:
        raise ValueError(
            f"tableau {name!r}: the embedded weights b - b_error have order "
            f"above {embedded_order}; the error estimate would not be O(h^"
            f"{embedded_order + 1})"
        )
    return tableau._replace(b_error=b_error, embedded_order=int(embedded_order))


EULER = make_tableau("euler", [], [1.0], [0.0], order=1)
HEUN = make_tableau("heun", [[1.0]], [0.5, 0.5], [0.0, 1.0], order=2)
MIDPOINT = make_tableau("midpoint", [[0.5]], [0.0, 1.0], [0.0, 0.5], order=2)
RALSTON = make_tableau("ralston", [[2 / 3]], [0.25, 0.75], [0.0, 2 / 3], order=2)
KUTTA3 = make_tableau(
    "kutta3", [[0.5], [-1.0, 2.0]], [1 / 6, 2 / 3, 1 / 6], [0.0, 0.5, 1.0], order=3
)
RK4 = make_tableau(
    "rk4",
    [[0.5], [0.0, 0.5], [0.0, 0.0, 1.0]],
    [1 / 6, 1 / 3, 1 / 3, 1 / 6],
    [0.0, 0.5, 0.5, 1.0],
    order=4,
)
RK38 = make_tableau(
    "rk38",
    [[1 / 3], [-1 / 3, 1.0], [1.0, -1.0, 1.0]],
    [1 / 8, 3 / 8, 3 / 8, 1 / 8],
    [0.0, 1 / 3, 2 / 3, 1.0],
    order=4,
)

TABLEAUX = {t.name: t for t in (EULER, HEUN, MIDPOINT, RALSTON, KUTTA3, RK4, RK38)}
# "rk2" is Heun's method in the official TF code's naming.
TABLEAUX["rk2"] = HEUN


def _from_diffrax(name: str, solver: type, order: int, embedded_order: int) -> ButcherTableau:
    """An embedded pair whose coefficients are diffrax's (not re-typed here), validated."""
    t = solver.tableau
    return make_tableau(
        name,
        [np.asarray(row).tolist() for row in t.a_lower],
        np.asarray(t.b_sol).tolist(),
        [0.0] + np.asarray(t.c).tolist(),
        order,
        b_error=np.asarray(t.b_error).tolist(),
        embedded_order=embedded_order,
    )


# Embedded pairs: a solution of ``order`` and an error estimate from one of ``embedded_order``
# (adaptive step control). Kept apart from TABLEAUX: the Neural-ODE blocks' ``tsit5`` /
# ``dopri5`` / ``bosh3`` name diffrax's adaptive solvers themselves. Their coefficients are read
# from diffrax on first use, so that a run without them does not import diffrax (~0.9 s of a
# process's start-up); ``EMBEDDED_TABLEAUX``, ``HEUN_EULER``, ``BOSH3``, ``DOPRI5`` and
# ``TSIT5`` are module attributes all the same.
# (module attribute, name, diffrax solver, order, embedded order)
_EMBEDDED = (
    ("HEUN_EULER", "heun_euler", "Heun", 2, 1),
    ("BOSH3", "bosh3", "Bosh3", 3, 2),
    ("DOPRI5", "dopri5", "Dopri5", 5, 4),
    ("TSIT5", "tsit5", "Tsit5", 5, 4),
)
EMBEDDED_NAMES = tuple(e[1] for e in _EMBEDDED)


@functools.cache
def embedded_tableaux() -> dict[str, ButcherTableau]:
    """The embedded pairs by name (:data:`EMBEDDED_NAMES`)."""
    import diffrax

    return {
        name: _from_diffrax(name, getattr(diffrax, solver), order, embedded_order)
        for _, name, solver, order, embedded_order in _EMBEDDED
    }


def __getattr__(attr: str):
    if attr == "EMBEDDED_TABLEAUX":
        return embedded_tableaux()
    for module_attr, name, *_ in _EMBEDDED:
        if attr == module_attr:
            return embedded_tableaux()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


def get_tableau(
    name: str, key: str = "rule.integrator", *, embedded: bool = False, embedded_only: bool = False
) -> ButcherTableau:
    """The tableau called ``name``; a ConfigError naming ``config.<key>`` otherwise.
    ``embedded``: the embedded pairs are allowed too; ``embedded_only``: only they are (with
    a message saying that adaptive step control needs an error estimate)."""
    if name in TABLEAUX and not embedded_only:
        return TABLEAUX[name]
    pairs = embedded_tableaux() if embedded or embedded_only else {}
    if embedded_only:
        if name not in pairs:
            raise ConfigError(
                f"config.{key}: adaptive step control needs an embedded pair "
                f"(an error estimate); {name!r} has none. Choose one of: "
                f"{', '.join(pairs)}"
            )
        return pairs[name]
    choices = {**TABLEAUX, **pairs}
    return choose(key, name, dict(sorted(choices.items())))


@functools.cache  # one solver class per tableau, so diffrax's jit reuses it
def to_diffrax(tableau: ButcherTableau) -> diffrax.AbstractERK:
    """A diffrax solver instance stepping exactly ``tableau`` (for ``diffrax.diffeqsolve``).

    An embedded pair brings its error weights (for diffrax's step-size controllers, with
    diffrax's ``error_order`` = the embedded order + 1, the order in h of the local error
    estimate); the other tableaux have ``b_error`` zero: use them with ``ConstantStepSize``.
    """
    import diffrax

    if tableau.num_stages < 2:
        return diffrax.Euler()  # diffrax's ERK needs ≥ 2 stages; Euler is its own class
    d_tab = diffrax.ButcherTableau(
        c=np.asarray(tableau.c[1:], np.float64),
        b_sol=np.asarray(tableau.b, np.float64),
        b_error=np.asarray(tableau.b_error or np.zeros(tableau.num_stages), np.float64),
        a_lower=tuple(np.asarray(row, np.float64) for row in tableau.a),
    )
    order, error_order = tableau.order, tableau.embedded_order + 1
    solver = type(
        f"Diffrax_{tableau.name}",
        (diffrax.AbstractERK,),
        {
            "tableau": d_tab,
            "interpolation_cls": diffrax.ThirdOrderHermitePolynomialInterpolation.from_k,
            "order": lambda self, terms: order,
            "error_order": lambda self, terms: error_order,
            "__module__": __name__,
        },
    )
    return solver()


# --------------------------------------------------------------------------------------
# Pytree arithmetic
# --------------------------------------------------------------------------------------


def tree_add_scaled(y: Any, terms: Sequence[tuple[float, Any]]) -> Any:
    """y + Σ coefficient · tree; zero coefficients are skipped statically."""
    terms = [(coef, tree) for coef, tree in terms if not _is_static_zero(coef)]
    if not terms:
        return y

    def combine(y_leaf, *leaves):
        acc = y_leaf
        for (coef, _), leaf in zip(terms, leaves):
            acc = acc + jnp.asarray(coef, y_leaf.dtype) * leaf
        return acc

    return jax.tree.map(combine, y, *[tree for _, tree in terms])


def _is_static_zero(x: Array) -> bool:
    return isinstance(x, (int, float)) and x == 0


# --------------------------------------------------------------------------------------
# The step
# --------------------------------------------------------------------------------------

Field = Callable[[Any, int], tuple[Any, Any]]


class StepResult(NamedTuple):
    """y_next = y + h · direction, direction = Σ b_i k_i; aux: the field's aux at stage 1;
    error: embedded pairs only (else None), the local error estimate h · Σ b_error_i k_i."""

    y_next: Any
    direction: Any
    aux: Any
    error: Any = None


def rk_step(
    field: Field,
    y: Any,
    h: float | jax.Array,
    tableau: ButcherTableau,
    increment: Callable[[Any, int], Any] | None = None,
) -> StepResult:
    """One explicit Runge–Kutta step of size h over a pytree.

    Args:
      field: ``field(y, stage) -> (dy, aux)``; ``stage`` is the Python int 0..s-1, so the
        field can use a different minibatch per stage or add a stage-1 term.
      y: the state pytree.  h: the step size (may be traced).
      increment: ``increment(Σ_j a_ij k_j, i) -> Δ`` places stage i at ``y + Δ`` instead of
        ``y + h Σ_j a_ij k_j`` (the official TF code's "RK4 + Adam" makes each stage point an
        optimiser step along that combination).
    """
    k1, aux = field(y, 0)
    ks = [k1]
    for i, row in enumerate(tableau.a):
        if increment is None:
            y_i = tree_add_scaled(y, [(h * a_ij, k) for a_ij, k in zip(row, ks) if a_ij != 0])
        else:
            y_i = jax.tree.map(jnp.add, y, increment(_weighted_sum(row, ks), i + 1))
        k_i, _ = field(y_i, i + 1)
        ks.append(k_i)
    direction = _weighted_sum(tableau.b, ks)
    y_next = tree_add_scaled(y, [(h, direction)])
    error = None
    if tableau.embedded:
        error = jax.tree.map(lambda leaf: h * leaf, _weighted_sum(tableau.b_error, ks))
    return StepResult(y_next, direction, aux, error)


def _weighted_sum(weights: Sequence[float], ks: Sequence[Any]) -> Any:
    """Σ wᵢ kᵢ over the stages with wᵢ ≠ 0."""
    terms = [(w, k) for w, k in zip(weights, ks) if w != 0]
    return jax.tree.map(
        lambda *leaves: sum(w * leaf for (w, _), leaf in zip(terms, leaves)), *[k for _, k in terms]
    )


class AdaptiveStep(NamedTuple):
    """One attempted step under error control. ``y``, ``t``: after the attempt (unchanged
    when it was rejected); ``h``: the size the controller proposes for the next attempt;
    ``accepted``; ``error_norm``: the controller's scaled error norm of the attempt (≤ 1
    accepts; inf for a non-finite candidate); ``controller_state``: diffrax's."""

    y: Any
    t: jax.Array
    h: jax.Array
    accepted: jax.Array
    error_norm: jax.Array
    controller_state: Any


def init_controller(
    controller: diffrax.PIDController, tableau: ButcherTableau, y0: Any, t0: float, h0: float
) -> Any:
    """The controller's initial state for a solve from ``(t0, y0)`` with first step ``h0``."""
    _, state = controller.init(None, t0, t0 + h0, y0, h0, None, None, tableau.embedded_order + 1)
    return state


def adaptive_rk_step(
    field: Field,
    y: Any,
    t: jax.Array,
    h: jax.Array,
    tableau: ButcherTableau,
    controller: diffrax.PIDController,
    controller_state: Any,
    *,
    t_end: float | None = None,
) -> AdaptiveStep:
    """An attempted step of an embedded pair from ``(t, y)`` with size ``h``, accepted or
    rejected by diffrax's step-size controller (its ``adapt_step_size``, driven step by step
    from outside ``diffeqsolve``), which also proposes the next size.

    A candidate with a non-finite value is rejected with the controller's largest decrease
    (its error is taken as infinite: diffrax's rule for a failed step). ``t_end``: the step
    is shortened so as not to pass it, as ``diffeqsolve`` does at the end of its interval;
    :func:`control_step` refuses a tableau without an error estimate.
    """
    t1 = t + h if t_end is None else jnp.minimum(t + h, t_end)
    step = rk_step(field, y, t1 - t, tableau)
    decision = control_step(
        controller, tableau, y, step.y_next, step.error, t, t1, controller_state
    )
    y_new = jax.tree.map(lambda new, old: jnp.where(decision.accepted, new, old), step.y_next, y)
    return AdaptiveStep(
        y_new,
        decision.t_next,
        decision.h_next,
        decision.accepted,
        decision.error_norm,
        decision.controller_state,
    )


class ControlDecision(NamedTuple):
    """What the controller makes of a candidate: ``accepted`` (finite and within the
    tolerance), the next step's start ``t_next`` and size ``h_next``, the scaled
    ``error_norm`` (inf for a non-finite candidate) and the controller's new state."""

    accepted: jax.Array
    t_next: jax.Array
    h_next: jax.Array
    error_norm: jax.Array
    controller_state: Any


def control_step(
    controller: diffrax.PIDController,
    tableau: ButcherTableau,
    y0: Any,
    y1: Any,
    y_error: Any,
    t0: float,
    t1: float,
    controller_state: Any,
) -> ControlDecision:
    """diffrax's ``PIDController.adapt_step_size`` on the candidate ``y1`` (with its error
    estimate) of a step from ``(t0, y0)`` to ``t1``. A candidate with a non-finite value
    is rejected with the controller's largest decrease (its error is taken as infinite, as
    diffrax does for a failed step), even when the controller sits at its ``dtmin``."""
    if not tableau.embedded:
        raise ValueError(
            f"tableau {tableau.name!r} has no error estimate; adaptive step "
            f"control needs an embedded pair: {', '.join(EMBEDDED_NAMES)}"
        )
    finite = jnp.all(jnp.array([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves((y1, y_error))]))
    y_error = jax.tree.map(lambda e: jnp.where(finite, e, jnp.inf), y_error)
    candidate = jax.tree.map(lambda new, old: jnp.where(finite, new, old), y1, y0)
    keep, next_t0, next_t1, _, state, _ = controller.adapt_step_size(
        t0, t1, y0, candidate, None, y_error, tableau.embedded_order + 1, controller_state
    )
    error_norm = jnp.where(finite, scaled_error(controller, y0, candidate, y_error), jnp.inf)
    state = (state[0], state[1], jnp.asarray(state[2], bool))  # a fixed pytree to carry
    return ControlDecision(keep & finite, next_t0, next_t1 - next_t0, error_norm, state)


def scaled_error(controller: diffrax.PIDController, y0: Any, y1: Any, y_error: Any) -> jax.Array:
    """The controller's accept / reject measure, as ``PIDController.adapt_step_size``
    computes it (norm of error / (atol + rtol · max(|y0|, |y1|)))."""

    def scale(a, b, e):
        return e / (controller.atol + jnp.maximum(jnp.abs(a), jnp.abs(b)) * controller.rtol)

    return controller.norm(jax.tree.map(scale, y0, y1, y_error))


def integrate(
    field: Callable[[Any], Any], y0: Any, h: float, num_steps: int, tableau: ButcherTableau
) -> Any:
    """Fixed-step integration of an autonomous field ``dy = field(y)``: one jitted step,
    called ``num_steps`` times."""
    step = jax.jit(lambda y: rk_step(lambda y_, _stage: (field(y_), None), y, h, tableau).y_next)
    y = y0
    for _ in range(num_steps):
        y = step(y)
    return y


def linear_amplification(tableau: ButcherTableau, z: complex) -> complex:
    """Stability function R(z) of the scheme: one step of y' = λy gives y·R(hλ), z = hλ."""
    a = _a_matrix(tableau)
    s = tableau.num_stages
    k: list[complex] = []
    for i in range(s):
        k.append(z * (1 + sum(a[i][j] * k[j] for j in range(i))))
    return 1 + sum(bi * ki for bi, ki in zip(tableau.b, k))
