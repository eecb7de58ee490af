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
from typing import Any, Callable, NamedTuple, Sequence

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

from odegan_jax.config import choose

_TOL = 1e-12


class ButcherTableau(NamedTuple):
    """An explicit Runge–Kutta scheme.

    a: the strictly lower-triangular stage matrix as rows for stages 2..s; row i (0-based) has
       i + 1 entries.
    b: the s solution weights.  c: the s nodes (c[0] = 0).  order: the classical order.
    """
    name: str
    a: tuple
    b: tuple
    c: tuple
    order: int

    @property
    def num_stages(self) -> int:
        return len(self.b)


def _a_matrix(t: ButcherTableau) -> list[list[float]]:
    s = t.num_stages
    return [[0.0] * s] + [list(row) + [0.0] * (s - len(row)) for row in t.a]


def _order_conditions(t: ButcherTableau) -> list[tuple[str, float, float]]:
    """(name, value, required) for the rooted-tree conditions of order ≤ 4."""
    a, b, c = _a_matrix(t), list(t.b), list(t.c)
    s = t.num_stages
    rng = range(s)
    ac = [sum(a[i][j] * c[j] for j in rng) for i in rng]
    ac2 = [sum(a[i][j] * c[j] ** 2 for j in rng) for i in rng]
    aac = [sum(a[i][j] * ac[j] for j in rng) for i in rng]
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
    return [(name, value, req) for order, name, value, req in conds if order <= t.order]


def make_tableau(name: str, a: Sequence[Sequence[float]], b: Sequence[float],
                 c: Sequence[float], order: int) -> ButcherTableau:
    """Builds and validates an explicit Butcher tableau; raises ValueError if inconsistent."""
    a = tuple(tuple(float(x) for x in row) for row in a)
    b, c = tuple(float(x) for x in b), tuple(float(x) for x in c)
    s = len(b)
    if s < 1 or len(c) != s:
        raise ValueError(f"tableau {name!r}: b and c must have the same length ≥ 1")
    if len(a) != s - 1 or any(len(row) != i + 1 for i, row in enumerate(a)):
        raise ValueError(f"tableau {name!r}: a must be strictly lower triangular, given as "
                         f"{s - 1} rows of lengths 1..{s - 1} (explicit schemes only)")
    if abs(c[0]) > _TOL:
        raise ValueError(f"tableau {name!r}: c[0] must be 0 for an explicit scheme")
    for i, row in enumerate(a):
        if abs(sum(row) - c[i + 1]) > 1e-10:
            raise ValueError(f"tableau {name!r}: row {i + 2} of a sums to {sum(row)}, "
                             f"but c[{i + 1}] = {c[i + 1]}")
    if not 1 <= order <= 4:
        raise ValueError(f"tableau {name!r}: order must be 1..4 (conditions checked up to 4)")
    tableau = ButcherTableau(name, a, b, c, int(order))
    for cond, value, required in _order_conditions(tableau):
        if abs(value - required) > 1e-10:
            raise ValueError(f"tableau {name!r} claims order {order} but fails {cond} "
                             f"(got {value})")
    return tableau


EULER = make_tableau("euler", [], [1.0], [0.0], order=1)
HEUN = make_tableau("heun", [[1.0]], [0.5, 0.5], [0.0, 1.0], order=2)
MIDPOINT = make_tableau("midpoint", [[0.5]], [0.0, 1.0], [0.0, 0.5], order=2)
RALSTON = make_tableau("ralston", [[2 / 3]], [0.25, 0.75], [0.0, 2 / 3], order=2)
KUTTA3 = make_tableau("kutta3", [[0.5], [-1.0, 2.0]], [1 / 6, 2 / 3, 1 / 6],
                      [0.0, 0.5, 1.0], order=3)
RK4 = make_tableau("rk4", [[0.5], [0.0, 0.5], [0.0, 0.0, 1.0]],
                   [1 / 6, 1 / 3, 1 / 3, 1 / 6], [0.0, 0.5, 0.5, 1.0], order=4)
RK38 = make_tableau("rk38", [[1 / 3], [-1 / 3, 1.0], [1.0, -1.0, 1.0]],
                    [1 / 8, 3 / 8, 3 / 8, 1 / 8], [0.0, 1 / 3, 2 / 3, 1.0], order=4)

TABLEAUX = {t.name: t for t in (EULER, HEUN, MIDPOINT, RALSTON, KUTTA3, RK4, RK38)}
# "rk2" is Heun's method in the official TF code's naming.
TABLEAUX["rk2"] = HEUN


def get_tableau(name: str, key: str = "rule.integrator") -> ButcherTableau:
    """The tableau called ``name``; a ConfigError naming ``config.<key>`` otherwise."""
    return choose(key, name, dict(sorted(TABLEAUX.items())))


@functools.lru_cache(maxsize=None)  # one solver class per tableau, so diffrax's jit reuses it
def to_diffrax(tableau: ButcherTableau) -> diffrax.AbstractERK:
    """A diffrax solver instance stepping exactly ``tableau`` (for ``diffrax.diffeqsolve``).

    The tableaux here carry no embedded error estimate, so ``b_error`` is zero: use it with
    ``ConstantStepSize`` (adaptive solves use diffrax's own Tsit5 / Dopri5 / Bosh3).
    """
    if tableau.num_stages < 2:
        return diffrax.Euler()  # diffrax's ERK needs ≥ 2 stages; Euler is its own class
    d_tab = diffrax.ButcherTableau(
        c=np.asarray(tableau.c[1:], np.float64),
        b_sol=np.asarray(tableau.b, np.float64),
        b_error=np.zeros(tableau.num_stages),
        a_lower=tuple(np.asarray(row, np.float64) for row in tableau.a))
    order = tableau.order
    solver = type(f"Diffrax_{tableau.name}", (diffrax.AbstractERK,), {
        "tableau": d_tab,
        "interpolation_cls": diffrax.ThirdOrderHermitePolynomialInterpolation.from_k,
        "order": lambda self, terms: order,
        "__module__": __name__,
    })
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


def _is_static_zero(x) -> bool:
    return isinstance(x, (int, float)) and x == 0


# --------------------------------------------------------------------------------------
# The step
# --------------------------------------------------------------------------------------

Field = Callable[[Any, int], tuple[Any, Any]]


class StepResult(NamedTuple):
    """y_next = y + h · direction, direction = Σ b_i k_i; aux: the field's aux at stage 1."""
    y_next: Any
    direction: Any
    aux: Any


def rk_step(field: Field, y: Any, h: float | jax.Array, tableau: ButcherTableau) -> StepResult:
    """One explicit Runge–Kutta step of size h over a pytree.

    Args:
      field: ``field(y, stage) -> (dy, aux)``; ``stage`` is the Python int 0..s-1, so the
        field can use a different minibatch per stage or add a stage-1 term.
      y: the state pytree.  h: the step size (may be traced).
    """
    k1, aux = field(y, 0)
    ks = [k1]
    for i, row in enumerate(tableau.a):
        y_i = tree_add_scaled(y, [(h * a_ij, k) for a_ij, k in zip(row, ks) if a_ij != 0])
        k_i, _ = field(y_i, i + 1)
        ks.append(k_i)
    weights = [(b_i, k) for b_i, k in zip(tableau.b, ks) if b_i != 0]
    direction = jax.tree.map(lambda *leaves: sum(b * leaf for (b, _), leaf in
                                                 zip(weights, leaves)), *[k for _, k in weights])
    y_next = tree_add_scaled(y, [(h, direction)])
    return StepResult(y_next, direction, aux)


def integrate(field: Callable[[Any], Any], y0: Any, h: float, num_steps: int,
              tableau: ButcherTableau) -> Any:
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
