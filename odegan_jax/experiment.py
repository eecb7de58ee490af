"""An experiment: every component a config describes, built once, before anything compiles.

:func:`build` checks the config (``config.validate``, then each factory checks the keys it
reads and raises one ``ConfigError`` naming the key), draws every PRNG key from the config's
seed, reads the data and builds the game and the training rule. :func:`init_state` makes the
initial :class:`~odegan_jax.rules.TrainState`; :func:`load_run` rebuilds a saved run and
restores its newest good checkpoint (or a named one).

The experiment also holds what evaluation needs to be reproducible: the fixed evaluation
latents (drawn once, here, from the ``eval`` key) and one compiled G and D.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from ml_collections import ConfigDict

from odegan_jax import checkpoints, rules
from odegan_jax import config as config_lib
from odegan_jax.config import ConfigError
from odegan_jax.data import Dataset, expected_sample_shape, make_dataset
from odegan_jax.game import Game, make_loss
from odegan_jax.integrators import get_tableau
from odegan_jax.models import build_networks, network_spec

if TYPE_CHECKING:
    import orbax.checkpoint as ocp

if TYPE_CHECKING:  # diffrax is imported where it is used (start-up time)
    import diffrax

KEY_NAMES = ("init", "dataset", "stream", "train", "eval")  # split from the seed, in this order


class RunError(RuntimeError):
    """A run directory is missing, incomplete or unreadable."""


@dataclasses.dataclass(frozen=True)
class Experiment:
    """Everything static about a run.

    keys: name → PRNG key, all split from ``config.seed`` (:data:`KEY_NAMES`).
    eval_latents: ``[n, latent_size]`` fixed latents from the ``eval`` key, drawn once: n is
      ``loop.eval_samples`` for 2D data (modes / HQ share) and ``loop.sample_grid`` for images
      (the sample grids), so every logged 2D row, the summary and ``odegan eval`` agree.
    generate: ``jax.jit(game.generate)``: ``(params, model_state, z [n, latent]) -> G(z)``.
    discriminate: ``jax.jit(game.discriminate)``: ``(params, model_state, x) -> logits [n]``.
    """

    config: ml_collections.ConfigDict
    game: Game
    rule: rules.TrainingRule
    dataset: Dataset
    keys: dict
    eval_latents: jax.Array
    generate: Callable
    discriminate: Callable

    @property
    def is_2d(self) -> bool:
        return self.dataset.distribution is not None

    @property
    def is_image(self) -> bool:
        """Images ``[H, W, C]`` (sample grids, image scores); neither this nor ``is_2d``: the
        Dirac-GAN's scalars."""
        return len(self.dataset.sample_shape) == 3

    def latents(self, n: int) -> jax.Array:
        """The first n fixed evaluation latents (more than were drawn: n from the eval key)."""
        if n <= self.eval_latents.shape[0]:
            return self.eval_latents[:n]
        return self.game.sample_latents(self.keys["eval"], n)

    def evaluated_params(self, state: rules.TrainState) -> Any:
        """The parameters evaluation uses: G's moving average when ``rule.g_ema_decay`` > 0
        (:func:`rules.evaluated_params`), else the state's."""
        return rules.evaluated_params(state, self.config.rule.g_ema_decay)

    def samples(self, state: rules.TrainState, n: int) -> np.ndarray:
        """G at the first n fixed evaluation latents, inference mode: ``[n, *sample_shape]``
        (G's moving average when the run keeps one)."""
        return np.asarray(
            self.generate(self.evaluated_params(state), state.model_state, self.latents(n))
        )


def build_game(config: ConfigDict, networks: tuple) -> Game:
    """The game of ``config.game`` / ``config.model`` with networks ``(G, D)``."""
    loss = make_loss(
        config.game.loss, gp_weight=config.game.gp_weight, clip_value=config.game.clip_value
    )
    return Game(
        *networks,
        loss,
        config.model.latent_size,
        config.model.latent_prior,
        has_ode_blocks=network_spec(config.model.name).has_ode_blocks,
    )


# Config values that may be given to :func:`build_rule` as (traced) numbers instead: the
# hyperparameters a population (:mod:`.population`) varies inside one compiled program.
TRACEABLE = (
    "rule.h",
    "rule.reg_weight",
    "optimizer.learning_rate",
    "optimizer.d_learning_rate",
    "optimizer.g_learning_rate",
)


def _optimizer(config: ConfigDict, player: str, values: dict):
    opt = config.optimizer
    lr = values.get(f"optimizer.{player}_learning_rate", opt[f"{player}_learning_rate"])
    if lr is None:
        lr = values.get("optimizer.learning_rate", opt.learning_rate)
    settings = {k: opt[k] for k in rules.OPTIMIZER_HYPERPARAMETERS}
    return rules.make_optimizer(opt.name, lr, opt.weight_decay, **settings)


def build_rule(config: ConfigDict, game: Game, values: dict | None = None) -> rules.TrainingRule:
    """The training rule of ``config.rule`` (and ``config.optimizer``, always checked).

    ``values``: keys of :data:`TRACEABLE` → numbers (JAX scalars inside a trace) used instead
    of the config's values. ``rule.g_ema_decay`` > 0 wraps it in
    :func:`rules.with_generator_ema`."""
    values = values or {}
    unknown = set(values) - set(TRACEABLE)
    if unknown:
        raise ValueError(f"build_rule: {sorted(unknown)} cannot be traced; only {TRACEABLE}")
    rule = _build_rule(config, game, values)
    decay = config.rule.g_ema_decay
    return rules.with_generator_ema(rule, decay) if decay else rule


def _build_rule(config: ConfigDict, game: Game, values: dict) -> rules.TrainingRule:
    r = config.rule
    config_lib.choose("rule.name", r.name, config_lib.RULE_NAMES)
    d_opt, g_opt = _optimizer(config, "d", values), _optimizer(config, "g", values)
    if r.name == "ode":
        if r.n_critic != 1:
            raise ConfigError(
                f"config.rule.n_critic: is {r.n_critic}, which needs "
                f"rule.name='alternating' (got 'ode')"
            )
        adaptive = (
            config_lib.choose("rule.step_control", r.step_control, rules.STEP_CONTROLS)
            == "adaptive"
        )
        controller = step_controller(config) if adaptive else None
        loop = config.loop
        tableau = get_tableau(r.integrator, embedded=True, embedded_only=adaptive)
        return rules.ode_rule(
            game,
            tableau,
            values.get("rule.h", r.h),
            reg_weight=values.get("rule.reg_weight", r.reg_weight),
            reg_placement=r.reg_placement,
            stage_batches=r.stage_batches,
            coupling=r.coupling,
            schedule=r.schedule,
            schedule_boundaries=tuple(r.schedule_boundaries),
            schedule_scales=tuple(r.schedule_scales),
            reg_scales=tuple(r.reg_scales),
            d_rate=r.d_rate,
            optimizer=d_opt if r.use_optimizer else None,
            optimizer_form=r.optimizer_form,
            step_control=r.step_control,
            max_halvings=loop.max_retries if loop.nonfinite == "retry" else 0,
            controller=controller,
            max_rejections=r.max_rejections,
        )
    return rules.gradient_rule(game, d_opt, g_opt, update=r.name, n_critic=r.n_critic)


def step_controller(config: ConfigDict) -> diffrax.PIDController:
    """diffrax's PID controller of ``rule.step_control = 'adaptive'`` (rtol / atol over every
    parameter, RMS norm; pcoeff = icoeff = 0 … 1 chooses I, PI or PID control)."""
    import diffrax

    r = config.rule
    return diffrax.PIDController(
        rtol=r.rtol, atol=r.atol, pcoeff=r.pcoeff, icoeff=r.icoeff, dtmax=r.h_max or None
    )


def build(config: ml_collections.ConfigDict) -> Experiment:
    """Checks the config and builds every component; nothing is compiled here.

    Where the data's shape is known before reading files, the networks, the game and the
    rule are built first, so a bad key fails before a large dataset loads."""
    config_lib.validate(config)
    keys = dict(zip(KEY_NAMES, jax.random.split(jax.random.PRNGKey(config.seed), len(KEY_NAMES))))
    shape, dataset = expected_sample_shape(config.data), None
    if shape is None:  # idx / npz files: the shape is known once read
        dataset = make_dataset(config.data, keys["dataset"])
        shape = dataset.sample_shape
    game = build_game(config, build_networks(config.model, shape))
    rule = build_rule(config, game)
    if dataset is None:
        dataset = make_dataset(config.data, keys["dataset"])
    check_memory(config, dataset.sample_shape, rule.batches_per_step)
    needed = rule.batches_per_step * config.data.batch_size
    if dataset.train is not None and len(dataset.train) < needed:
        raise ConfigError(
            f"config.data.batch_size: a step of rule {rule.name!r} needs "
            f"{needed} samples ({rule.batches_per_step} batch(es) of "
            f"{config.data.batch_size}), but the training set has "
            f"{len(dataset.train)}; lower data.batch_size or use more data"
        )
    n = config.loop.eval_samples if dataset.distribution is not None else config.loop.sample_grid
    return Experiment(
        config,
        game,
        rule,
        dataset,
        keys,
        eval_latents=game.sample_latents(keys["eval"], n),
        generate=jax.jit(game.generate),
        discriminate=jax.jit(game.discriminate),
    )


def available_memory() -> int:
    """Bytes the default device can hold: the accelerator's limit, else the host's RAM."""
    stats = getattr(jax.devices()[0], "memory_stats", lambda: None)() or {}
    if "bytes_limit" in stats:
        return int(stats["bytes_limit"])
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_memory(config: ConfigDict, sample_shape: tuple, batches_per_step: int) -> None:
    """A ConfigError before allocating when a lower bound on the arrays of one training step
    and of the evaluation (inputs, latents, generated samples, float32; activations and
    parameters come on top) already exceeds the device's memory, naming the largest term."""
    sample = 4 * int(np.prod(sample_shape))
    batch, latent = config.data.batch_size, config.model.latent_size
    n_eval = config.loop.eval_samples if tuple(sample_shape) == (2,) else config.loop.sample_grid
    terms = {
        "data.batch_size": batches_per_step * batch * (2 * sample + 4 * latent),
        "model.latent_size": batch * 4 * latent + n_eval * 4 * latent,
        "loop.eval_samples": n_eval * (sample + 4 * latent),
    }
    total, limit = sum(terms.values()), available_memory()
    if total > limit:
        key = max(terms, key=terms.get)
        raise ConfigError(
            f"config.{key}: one step and its evaluation need at least "
            f"{total / 2**30:.1f} GiB of arrays (inputs, latents and samples "
            f"alone), more than the {limit / 2**30:.1f} GiB this device has; "
            f"lower config.{key}"
        )


def init_state(exp: Experiment) -> rules.TrainState:
    """Step 0: both networks initialised from the ``init`` key, the rule's state, the ``train``
    key (split at every step)."""
    example = jnp.zeros((exp.config.data.batch_size,) + tuple(exp.dataset.sample_shape))
    params, model_state = exp.game.init(exp.keys["init"], example)
    return rules.TrainState(
        jnp.zeros((), jnp.int32), params, model_state, exp.rule.init(params), exp.keys["train"]
    )


def legacy_layout(state: rules.TrainState) -> tuple[Any, Callable[[Any], rules.TrainState]]:
    """``(old_target, upgrade)`` for checkpoints of ODE runs written before the rule's state
    held the step control (their ``rule_state`` is the ``opt`` part alone): restored into
    ``old_target``, ``upgrade`` adds ``state``'s step control (``rule.h``, nothing rejected);
    None for other rules (their layout is unchanged)."""
    rule_state = state.rule_state
    if not (isinstance(rule_state, dict) and set(rule_state) == {"control", "opt"}):
        return None

    def upgrade(old: rules.TrainState) -> rules.TrainState:
        return old._replace(rule_state={"control": rule_state["control"], "opt": old.rule_state})

    return state._replace(rule_state=rule_state["opt"]), upgrade


def restore_run(
    mngr: ocp.CheckpointManager, exp: Experiment, **kwargs: Any
) -> tuple[rules.TrainState | None, int]:
    """:func:`checkpoints.restore_latest` into the layout of ``init_state(exp)`` (or the
    layout before the step control, :func:`legacy_layout`)."""
    target = init_state(exp)
    return checkpoints.restore_latest(mngr, target, legacy=legacy_layout(target), **kwargs)


def read_run_config(run_dir: str) -> ml_collections.ConfigDict:
    """The resolved config a run directory was trained with (its ``config.json``)."""
    path = os.path.join(run_dir, "config.json")
    if not os.path.isfile(path):
        raise RunError(f"{run_dir} is not a run directory (no config.json)")
    try:
        with open(path, encoding="utf-8") as f:
            return config_lib.with_defaults(json.load(f))
    except (OSError, ValueError) as e:
        raise RunError(f"cannot read {path}: {e}") from None


def load_run(
    run_dir: str, step: int | None = None, echo: Callable[[str], None] = lambda _: None
) -> tuple[Experiment, rules.TrainState, int]:
    """``(experiment, state, step)`` of a run directory: the checkpoint at ``step``, or the
    newest that restores (damaged ones are reported through ``echo`` and skipped, not moved:
    reading a run changes nothing in it)."""
    run_dir = os.path.abspath(run_dir)
    exp = build(read_run_config(run_dir))
    ckpt_dir = os.path.join(run_dir, "checkpoints")
    if not os.path.isdir(ckpt_dir):
        raise RunError(f"{run_dir} has no checkpoints in checkpoints/")
    mngr = checkpoints.manager(ckpt_dir, read_only=True)
    try:
        steps = sorted(mngr.all_steps())
        if not steps:
            raise RunError(f"{run_dir} has no checkpoints in checkpoints/")
        if step is not None and step not in steps:
            raise RunError(f"no checkpoint for step {step} in {run_dir}; have {steps}")
        state, found = restore_run(
            mngr,
            exp,
            up_to=step,
            on_damaged=lambda s, why: echo(
                f"odegan: checkpoint {s} is damaged ({why}); using the previous one"
            ),
        )
    finally:
        mngr.close()
    if state is None:
        raise RunError(f"no checkpoint of {run_dir} restores (all damaged: {steps})")
    if step is not None and found != step:
        raise RunError(f"the checkpoint for step {step} in {run_dir} is damaged")
    return exp, state, found
