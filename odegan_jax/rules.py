"""Training rules behind one interface.

A :class:`TrainingRule` is a pair of pure functions, in the manner of optax:

* ``init(params) -> rule_state``
* ``step(state: TrainState, batches) -> (state, metrics)`` where ``batches`` has shape
  ``[rule.batches_per_step, B, ...]``.

The loop never asks which rule it has. Rules:

* :func:`ode_rule`: ODE-GAN. One explicit Runge–Kutta step (any :class:`ButcherTableau`) over
  the joint vector field, the gradient-norm regulariser, and optionally the RK direction fed to
  an optax optimiser ("RK4 + Adam", Qin20 Table 1). Its state holds the step size
  (:class:`StepControl`): fixed steps (× a schedule) halved when a step goes non-finite, or
  chosen by diffrax's PID controller from an embedded pair's error estimate; a rejected step
  leaves the state as it was, inside the compiled step.
* :func:`gradient_rule`: simultaneous or alternating (n_critic) gradient updates with any optax
  optimiser per player.

BatchNorm policy (model state): every stage of a step runs in training mode, i.e. uses the
statistics of its own minibatch; the running averages are updated once per step, from the
evaluation at the current point (stage 1); intermediate stages' updates are discarded.
For alternating updates each player's running averages are updated by its own updates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from chex import ArrayTree
from optax.tree_utils import tree_bias_correction, tree_norm

from odegan_jax import game as game_lib
from odegan_jax.config import RULE_NAMES, ConfigError, choose
from odegan_jax.game import Game, Params
from odegan_jax.integrators import (
    EMBEDDED_NAMES,
    ButcherTableau,
    control_step,
    rk_step,
    tree_add_scaled,
)

if TYPE_CHECKING:
    import diffrax


class TrainState(NamedTuple):
    """All training state, checkpointed whole."""

    step: jax.Array  # int32 scalar: number of completed steps
    params: Params  # {'d': θ, 'g': φ}
    model_state: dict  # {'d': ..., 'g': ...}
    rule_state: Any  # ODE: {"control": StepControl, "opt": optimiser states or ()}; optax: states
    key: jax.Array  # PRNG key, split at every step


class TrainingRule(NamedTuple):
    name: str
    init: Callable[[Params], Any]
    step: Callable[[TrainState, jax.Array], tuple[TrainState, dict]]
    batches_per_step: int


# --------------------------------------------------------------------------------------
# Optimisers
# --------------------------------------------------------------------------------------

OPTIMIZERS = {
    "adam": optax.adam,
    "adamw": optax.adamw,
    "rmsprop": optax.rmsprop,
    "sgd": optax.sgd,
    "adadelta": optax.adadelta,
    "adagrad": optax.adagrad,
}
# Hyperparameter keys of ``config.optimizer`` that may be set, and the optimisers taking each.
OPTIMIZER_HYPERPARAMETERS = (
    "b1",
    "b2",
    "eps",
    "momentum",
    "nesterov",
    "decay",
    "rho",
    "initial_accumulator_value",
)


def optimizer_kwargs(name: str, settings: dict) -> dict:
    """Keeps the hyperparameters that are set; a ConfigError if one does not apply to ``name``."""
    import inspect

    accepted = inspect.signature(OPTIMIZERS[name]).parameters
    kwargs = {}
    for key, value in settings.items():
        if value is None:
            continue
        if key not in accepted:
            allowed = [k for k in OPTIMIZER_HYPERPARAMETERS if k in accepted]
            raise ConfigError(
                f"config.optimizer.{key} does not apply to {name!r}; "
                f"{name} takes: {', '.join(allowed) or 'none of them'}"
            )
        kwargs[key] = value
    return kwargs


def make_optimizer(
    name: str, learning_rate: float, weight_decay: float = 0.0, **hyperparameters: Any
) -> optax.GradientTransformation:
    """An optax optimiser by name. ``weight_decay`` adds wd·θ to the gradient (L2 on the loss,
    as in Yamazaki17), except for adamw where it is the decoupled decay of that optimiser."""
    choose("optimizer.name", name, OPTIMIZERS)
    kwargs = optimizer_kwargs(name, hyperparameters)
    if name == "adamw":
        return optax.adamw(learning_rate, weight_decay=weight_decay, **kwargs)
    opt = OPTIMIZERS[name](learning_rate, **kwargs)
    if weight_decay > 0:
        opt = optax.chain(optax.add_decayed_weights(weight_decay), opt)
    return opt


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def _clip_d(loss: game_lib.Loss, params: Params) -> Params:
    """WGAN weight clipping: projects θ onto the ℓ∞ ball of radius c after every update."""
    if loss.clip_value is None:
        return params
    return {
        "d": optax.projections.projection_linf_ball(params["d"], loss.clip_value),
        "g": params["g"],
    }


def _finite(metrics: dict, params: Params) -> jax.Array:
    """True when the losses and every parameter are finite (one reduction over params)."""
    ok = jnp.isfinite(metrics["loss_d"]) & jnp.isfinite(metrics["loss_g"])
    return ok & jnp.isfinite(tree_norm(params, squared=True))


SCHEDULES = ("constant", "official", "piecewise")
OFFICIAL_SCHEDULE = ((500, 400_000), (0.25, 1.0, 0.5))


def step_size_schedule(
    kind: str, h: float, boundaries: Sequence[int] = (), scales: Sequence[float] = ()
) -> Callable[[jax.Array], jax.Array]:
    """The step size at a given step (a float32 scalar), from ``optax.join_schedules``.

    constant: h. official (cs_gan/main_ode.py): h/4 for steps < 500, h until 400k, then h/2.
    piecewise: h · scales[i] for boundaries[i-1] ≤ step < boundaries[i] (len(scales) =
    len(boundaries) + 1, boundaries increasing, scales > 0).
    """
    choose("rule.schedule", kind, SCHEDULES)
    if kind == "constant":
        boundaries, scales = (), (1.0,)
    elif kind == "official":
        boundaries, scales = OFFICIAL_SCHEDULE
    boundaries, scales = tuple(boundaries), tuple(scales)
    if (
        len(scales) != len(boundaries) + 1
        or list(boundaries) != sorted(boundaries)
        or any(not x > 0 for x in scales)
    ):
        raise ConfigError(
            f"config.rule.schedule_scales: a piecewise schedule needs increasing "
            f"rule.schedule_boundaries and one more positive scale than "
            f"boundaries; got boundaries {boundaries} and scales {scales}"
        )
    return _piecewise_constant([h * x for x in scales], boundaries)


def _piecewise_constant(values, boundaries) -> Callable[[jax.Array], jax.Array]:
    """values[i] for boundaries[i-1] ≤ step < boundaries[i], as a float32 scalar (optax)."""
    schedule = optax.join_schedules([optax.constant_schedule(v) for v in values], list(boundaries))
    return lambda step: jnp.asarray(schedule(step), jnp.float32)


def reg_weight_schedule(
    kind: str, boundaries: Sequence[int] = (), scales: Sequence[float] = ()
) -> Callable[[jax.Array], jax.Array] | None:
    """λ's multiplier at a given step: None (λ constant) for empty ``scales``, else
    ``scales[i]`` over the i-th phase of the piecewise step-size schedule."""
    scales = tuple(scales)
    if not scales:
        return None
    boundaries = tuple(boundaries)
    if kind != "piecewise" or len(scales) != len(boundaries) + 1 or any(not x >= 0 for x in scales):
        raise ConfigError(
            f"config.rule.reg_scales: λ multipliers follow the piecewise step-size "
            f"schedule; they need rule.schedule='piecewise' (got {kind!r}) and one "
            f"multiplier ≥ 0 per phase, {len(boundaries) + 1} for boundaries "
            f"{boundaries} (got {scales}); () keeps λ constant"
        )
    return _piecewise_constant(scales, boundaries)


# --------------------------------------------------------------------------------------
# ODE-GAN
# --------------------------------------------------------------------------------------

REG_PLACEMENTS = ("post_step", "first_stage")
STAGE_BATCHES = ("same", "fresh")
COUPLINGS = ("joint", "frozen")
STEP_CONTROLS = ("fixed", "adaptive")
# how the ODE rule feeds an optimiser (rule.use_optimizer): "direction": the step's RK
# direction Σ bᵢkᵢ is its one gradient per step, the stages placed with h; "stages": the
# official TF code's RK4 + Adam, every stage point an optimiser step along that stage's
# combination Σ_j a_ij k_j (the moments advance at each stage), then the final step along Σ bᵢkᵢ
OPTIMIZER_FORMS = ("direction", "stages")


class StepControl(NamedTuple):
    """The ODE rule's step-size state, checkpointed with the rest of the rule's state.

    h: float32. Fixed steps: the base step size (the schedule multiplies it); it starts at
      ``rule.h`` and is halved by each rejected step. Adaptive: the size of the next attempt,
      set by the controller.
    rejected: int32, attempts rejected over the run (non-finite candidates; adaptive: also
      those whose error estimate was too large).
    streak: int32, consecutive rejections of the current step (0 after an accepted one).
    controller: diffrax ``PIDController`` state (its previous inverse scaled errors and the
      at-dtmin flag), kept for fixed steps too so that a run may switch between the two.
    """

    h: jax.Array
    rejected: jax.Array
    streak: jax.Array
    controller: tuple


def init_control(h: float) -> StepControl:
    # distinct arrays: the loop donates the state, and a buffer may be donated only once
    return StepControl(
        jnp.asarray(h, jnp.float32),
        jnp.zeros((), jnp.int32),
        jnp.zeros((), jnp.int32),
        (jnp.ones((), jnp.float32), jnp.ones((), jnp.float32), jnp.zeros((), bool)),
    )


def _select(accept: jax.Array, new, old):
    """``new`` where ``accept`` else ``old``, leaf by leaf (the state of a rejected step)."""
    return jax.tree.map(lambda a, b: jnp.where(accept, a, b), new, old)


def ode_rule(
    game: Game,
    tableau: ButcherTableau,
    h: float,
    *,
    reg_weight: float = 0.0,
    reg_placement: str = "post_step",
    stage_batches: str = "same",
    coupling: str = "joint",
    schedule: str = "constant",
    schedule_boundaries: Sequence[int] = (),
    schedule_scales: Sequence[float] = (),
    reg_scales: Sequence[float] = (),
    d_rate: float = 1.0,
    optimizer: optax.GradientTransformation | None = None,
    optimizer_form: str = "direction",
    step_control: str = "fixed",
    max_halvings: int = 0,
    controller: diffrax.PIDController | None = None,
    max_rejections: int = 0,
) -> TrainingRule:
    """ODE-GAN: one Runge–Kutta step of the joint gradient vector field per training step.

    Args:
      tableau: the explicit scheme (Euler, Heun, RK4, ...; an embedded pair for adaptive
        step control).
      h: step size for both players (scaled by ``schedule``); the first attempt's size under
        adaptive control.
      reg_weight: λ of the regulariser g_θ = ∇_θ ‖∂ℓ_G/∂φ‖².
      reg_placement: ``post_step`` (Qin20 Algorithm 1: θ ← θ - hλg_θ after the step, the
        notebook) or ``first_stage`` (official TF code: λ/b₁·g_θ added to the stage-1 D
        gradient, so the intermediate stages see it and the step carries exactly hλg_θ).
      stage_batches: ``same`` minibatch and latents for every stage (the notebook: the RK
        step integrates one fixed-batch field) or a ``fresh`` one per stage (TF code).
      coupling: ``joint`` integrates (θ, φ) together; ``frozen`` integrates each player with
        the other held at its value at the start of the step (the notebook).
      schedule: ``constant``, ``official`` (h/4 for 500 steps, h/2 after 400k) or
        ``piecewise`` (h · schedule_scales between schedule_boundaries).
      reg_scales: empty (λ constant) or, with a piecewise schedule, one multiplier ≥ 0 of λ
        per phase of it (as many as ``schedule_scales``).
      d_rate: α of the field −[α ∂ℓ_D/∂θ, ∂ℓ_G/∂φ] (Qin20's slides write the flow with
        per-player rates α, β); α > 1 makes D the faster player (two time scales).
      optimizer: if given, the RK direction Σ bᵢkᵢ is fed to it as the (negative) gradient
        instead of taking the step y + h·direction.
      optimizer_form: ``direction``: the intermediate stages still use h and the optimiser
        sees one gradient per step; ``stages`` (official TF code, ``main_ode.py`` with
        ``opt_name=adam``): each stage point is an optimiser step from y along Σ_j a_ij k_j,
        so the optimiser state advances s times per step (s − 1 stages and the final step).
      step_control: ``fixed``: a non-finite candidate is rejected and h (in the state)
        halved, at most ``max_halvings`` times over the run; ``adaptive``: ``controller``
        (diffrax's PIDController, with its rtol / atol over the parameters) accepts or
        rejects each candidate from the pair's error estimate and sets the next h; at most
        ``max_rejections`` rejections in a row.

    A rejected attempt leaves the state as it was (parameters, BatchNorm statistics,
    optimiser state, PRNG key and step counter) but for the step control, so the next attempt
    redoes the same step (same minibatch and latents) with the new h. An attempt that may not
    be rejected any more (the bounds above) also leaves the state as it was and is reported
    by ``metrics['failed']``: the loop's ``loop.nonfinite`` policy takes over.
    """
    choose("rule.reg_placement", reg_placement, REG_PLACEMENTS)
    choose("rule.stage_batches", stage_batches, STAGE_BATCHES)
    choose("rule.coupling", coupling, COUPLINGS)
    choose("rule.step_control", step_control, STEP_CONTROLS)
    choose("rule.optimizer_form", optimizer_form, OPTIMIZER_FORMS)
    adaptive = step_control == "adaptive"
    if adaptive and (controller is None or not tableau.embedded):
        raise ValueError(
            f"adaptive step control needs a controller and an embedded pair; "
            f"{tableau.name!r} has no error estimate (embedded pairs: "
            f"{', '.join(EMBEDDED_NAMES)})"
        )
    s = tableau.num_stages
    h_at = step_size_schedule(schedule, h, schedule_boundaries, schedule_scales)
    # a traced λ (a population's member) always computes the regulariser; its weight may be 0
    use_reg = not isinstance(reg_weight, (int, float)) or reg_weight > 0
    first_stage = use_reg and reg_placement == "first_stage"
    first_stage_weight = reg_weight / tableau.b[0] if first_stage else 0.0
    reg_at = reg_weight_schedule(schedule, schedule_boundaries, reg_scales)

    def init(params: ArrayTree):
        opt = (
            ()
            if optimizer is None
            else {"d": optimizer.init(params["d"]), "g": optimizer.init(params["g"])}
        )
        return {"control": init_control(h), "opt": opt}

    def step_size(state: TrainState) -> jax.Array:
        control = state.rule_state["control"]
        if adaptive:
            return control.h
        # the schedule's value times the state's h over the configured h. An unhalved run
        # takes the scheduled sizes bit for bit; XLA would divide by the constant h0 through
        # its reciprocal (inexact, and flushed to 0 past 1e38), hence the barrier, behind
        # which the division is exact for the halvings' powers of two
        h0 = jnp.asarray(h, jnp.float32)
        scheduled = h_at(state.step)
        ratio = control.h / jax.lax.optimization_barrier(h0)
        return jnp.where(control.h == h0, scheduled, scheduled * ratio)

    def candidate(state: TrainState, batches: jax.Array, h_now: jax.Array):
        key, step_key = jax.random.split(state.key)
        # each stage's latents drawn once, however often the stage evaluates the game
        if stage_batches == "fresh":
            draws = [
                game_lib.draw(game, k, batches[i])
                for i, k in enumerate(jax.random.split(step_key, s))
            ]
            batch_of = lambda i: batches[i]  # noqa: E731
        else:
            draws = [game_lib.draw(game, step_key, batches[0])] * s
            batch_of = lambda i: batches[0]  # noqa: E731
        y0, ms0 = state.params, state.model_state
        # λ (and the first stage's λ/b₁) this step; a constant λ enters as the Python float
        lam, lam_first = reg_weight, first_stage_weight
        if reg_at is not None:
            scale = reg_at(state.step)
            lam, lam_first = reg_weight * scale, first_stage_weight * scale

        def gradients_at(params: ArrayTree, i, penalty: bool = False):
            return game_lib.player_gradients(
                game, params, ms0, batch_of(i), draws[i], penalty=penalty
            )

        def velocity(grad_d, grad_g):
            return {
                "d": jax.tree.map(lambda x: -d_rate * x, grad_d),
                "g": jax.tree.map(jnp.negative, grad_g),
            }

        def field(y, i):
            if i == 0:
                ev = gradients_at(y, 0, penalty=use_reg)
                v = velocity(ev.grads["d"], ev.grads["g"])
                if first_stage:
                    v = {"d": tree_add_scaled(v["d"], [(-lam_first, ev.penalty_grad)]), "g": v["g"]}
                return v, ev
            if coupling == "joint":
                grads = gradients_at(y, i).grads
                return velocity(grads["d"], grads["g"]), None
            grad_d = gradients_at({"d": y["d"], "g": y0["g"]}, i).grads["d"]
            grad_g = gradients_at({"d": y0["d"], "g": y["g"]}, i).grads["g"]
            return velocity(grad_d, grad_g), None

        opt_states = [state.rule_state["opt"]]

        def optimizer_move(direction, stage=None):
            """The optimiser's step from y0 along ``direction`` (its negative is the
            gradient); the state it leaves is the next stage's (``stage``: rk_step's
            index, unused)."""
            moves, new_opt = {}, {}
            for p in ("d", "g"):
                grad = jax.tree.map(jnp.negative, direction[p])
                moves[p], new_opt[p] = optimizer.update(grad, opt_states[-1][p], y0[p])
            opt_states.append(new_opt)
            return moves

        stage_moves = optimizer_move if optimizer_form == "stages" and optimizer else None
        result = rk_step(field, y0, h_now, tableau, increment=stage_moves)
        ev0 = result.aux
        if optimizer is None:
            params = result.y_next
        else:
            params = optax.apply_updates(y0, optimizer_move(result.direction))
        opt = opt_states[-1]
        if use_reg and reg_placement == "post_step":
            params = {
                "d": tree_add_scaled(params["d"], [(-h_now * lam, ev0.penalty_grad)]),
                "g": params["g"],
            }
        params = _clip_d(game.loss, params)
        metrics = dict(
            ev0.metrics,
            h=h_now,
            grad_norm_d=tree_norm(ev0.grads["d"]),
            grad_norm_g=tree_norm(ev0.grads["g"]),
        )
        metrics["finite"] = _finite(metrics, params)
        new = TrainState(
            state.step + 1, params, ev0.model_state, dict(state.rule_state, opt=opt), key
        )
        return new, metrics, result

    def step(state: TrainState, batches: jax.Array):
        control = state.rule_state["control"]
        h_now = step_size(state)
        new, metrics, result = candidate(state, batches, h_now)
        finite = metrics["finite"]
        if adaptive:  # time is that of the step alone: each step has its own minibatch
            decision = control_step(
                controller,
                tableau,
                state.params,
                result.y_next,
                result.error,
                jnp.zeros((), jnp.float32),
                h_now,
                control.controller,
            )
            accept = decision.accepted & finite
            may_reject = control.streak < max_rejections
            pid = decision.controller_state
            # a failed attempt changes nothing, so the ones after it in the call fail alike
            next_h = jnp.where(
                ~accept & ~may_reject, control.h, jnp.asarray(decision.h_next, jnp.float32)
            )
            metrics["error_norm"] = decision.error_norm
        else:
            accept = finite
            may_reject = control.rejected < max_halvings
            pid = control.controller
            next_h = jnp.where(~accept & may_reject, control.h / 2, control.h)
        rejected = ~accept & may_reject
        failed = ~accept & ~may_reject
        new_control = StepControl(
            h=next_h,
            rejected=control.rejected + rejected.astype(jnp.int32),
            streak=jnp.where(accept, 0, control.streak + rejected.astype(jnp.int32)),
            controller=_select(~failed, pid, control.controller),
        )
        out = _select(accept, new, state)
        out = out._replace(rule_state=dict(out.rule_state, control=new_control))
        metrics.update(
            accepted=accept,
            failed=failed,
            rejected=new_control.rejected,
            nfe=jnp.asarray(s, jnp.int32),
        )
        return out, metrics

    name = (
        tableau.name + ("+opt" if optimizer is not None else "") + ("+adaptive" if adaptive else "")
    )
    batches = s if stage_batches == "fresh" else 1
    return TrainingRule(name, init, step, batches)


# --------------------------------------------------------------------------------------
# Gradient baselines
# --------------------------------------------------------------------------------------

UPDATES = tuple(name for name in RULE_NAMES if name != "ode")  # the optax rules


def gradient_rule(
    game: Game,
    d_optimizer: optax.GradientTransformation,
    g_optimizer: optax.GradientTransformation,
    *,
    update: str = "simultaneous",
    n_critic: int = 1,
) -> TrainingRule:
    """Gradient updates with optax optimisers.

    simultaneous: both players step from the gradients at (θ_k, φ_k) on one minibatch.
    alternating: ``n_critic`` D steps, each on a fresh minibatch and latents, then one G step
    against the updated D (WGAN's schedule; n_critic = 1 is the usual DCGAN loop).
    """
    choose("rule.name", update, UPDATES)
    if n_critic < 1:
        raise ConfigError(f"config.rule.n_critic: must be ≥ 1, got {n_critic}")
    if update == "simultaneous" and n_critic != 1:
        raise ConfigError(
            f"config.rule.n_critic: is {n_critic}, which needs "
            f"rule.name='alternating' (got 'simultaneous')"
        )

    def init(params: ArrayTree):
        return {"d": d_optimizer.init(params["d"]), "g": g_optimizer.init(params["g"])}

    def apply(opt, grads, opt_state, params: ArrayTree):
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    def step(state: TrainState, batches: jax.Array):
        key, *keys = jax.random.split(state.key, n_critic + 2)
        params, ms, opt = state.params, state.model_state, state.rule_state
        if update == "simultaneous":
            ev = game_lib.player_gradients(game, params, ms, batches[0], keys[0])
            new_d, opt_d = apply(d_optimizer, ev.grads["d"], opt["d"], params["d"])
            new_g, opt_g = apply(g_optimizer, ev.grads["g"], opt["g"], params["g"])
            params = _clip_d(game.loss, {"d": new_d, "g": new_g})
            ms, metrics, grads = ev.model_state, ev.metrics, ev.grads
        else:
            opt_d, opt_g = opt["d"], opt["g"]
            for i in range(n_critic):
                ev = game_lib.player_gradients(game, params, ms, batches[i], keys[i])
                new_d, opt_d = apply(d_optimizer, ev.grads["d"], opt_d, params["d"])
                params = _clip_d(game.loss, {"d": new_d, "g": params["g"]})
                ms = ev.model_state
                if i == 0:
                    metrics, grads = ev.metrics, ev.grads
            ev_g = game_lib.player_gradients(
                game, params, ms, batches[n_critic - 1], keys[n_critic]
            )
            new_g, opt_g = apply(g_optimizer, ev_g.grads["g"], opt_g, params["g"])
            params = {"d": params["d"], "g": new_g}
            ms = {"d": ms["d"], "g": ev_g.model_state["g"]}
        metrics = dict(
            metrics, grad_norm_d=tree_norm(grads["d"]), grad_norm_g=tree_norm(grads["g"])
        )
        finite = metrics["finite"] = _finite(metrics, params)
        # a non-finite step fails (the loop stops at its index); the state is not guarded:
        # nothing after it is saved, and a select over the state would change XLA's fusions
        metrics.update(accepted=finite, failed=~finite)
        return TrainState(state.step + 1, params, ms, {"d": opt_d, "g": opt_g}, key), metrics

    batches = n_critic if update == "alternating" else 1
    return TrainingRule(update, init, step, batches)


# --------------------------------------------------------------------------------------
# An averaged generator
# --------------------------------------------------------------------------------------

G_EMA = "g_ema"  # the key of the rule state that holds G's average


def with_generator_ema(rule: TrainingRule, decay: float) -> TrainingRule:
    """``rule`` with an exponential moving average of G's parameters over its accepted steps
    (``optax.ema`` with its bias correction, so the average weighs only steps taken, not the
    initial G), kept in the rule state beside the rule's own keys (``rule_state[G_EMA]``;
    both rules' states are dicts). Training does not read it: the trajectory and
    ``params_sha256`` are those of the wrapped rule, bit for bit. Evaluation uses it
    (:func:`evaluated_params`), as GAN codebases evaluate an averaged G (Yazıcı et al. 2019,
    "The Unusual Effectiveness of Averaging in GAN Training"): the last iterate of a game's
    gradient field circles its equilibrium, the average sits closer. A rejected or failed
    step leaves the average as it was. G's BatchNorm running statistics (``model_state``) are
    the iterate's."""
    ema = optax.ema(decay, debias=True)

    def init(params: ArrayTree):
        return {**rule.init(params), G_EMA: ema.init(params["g"])}

    def step(state: TrainState, batches: jax.Array):
        new, metrics = rule.step(without_generator_ema(state), batches)
        old = state.rule_state[G_EMA]
        _, updated = ema.update(new.params["g"], old)
        average = jax.tree.map(lambda u, o: jnp.where(metrics["accepted"], u, o), updated, old)
        return new._replace(rule_state={**new.rule_state, G_EMA: average}), metrics

    return TrainingRule(rule.name, init, step, rule.batches_per_step)


def evaluated_params(state: TrainState, decay: float) -> Params:
    """The parameters evaluation uses: G's moving average (bias-corrected) when the rule keeps
    one (:func:`with_generator_ema`, ``decay`` its rule.g_ema_decay), else ``state.params``."""
    if not _keeps_average(state):
        return state.params
    average = state.rule_state[G_EMA]
    g = tree_bias_correction(average.ema, decay, average.count)
    # before the first accepted step there is nothing to average: the iterate (the initial G)
    return {
        **state.params,
        "g": jax.tree.map(
            lambda a, p: jnp.where(average.count > 0, a, p).astype(p.dtype), g, state.params["g"]
        ),
    }


def without_generator_ema(state: TrainState) -> TrainState:
    """``state`` without G's moving average: the wrapped rule's state, which evaluation reads
    as the last iterate."""
    if not _keeps_average(state):
        return state
    return state._replace(rule_state={k: v for k, v in state.rule_state.items() if k != G_EMA})


def _keeps_average(state: TrainState) -> bool:
    return isinstance(state.rule_state, dict) and G_EMA in state.rule_state
