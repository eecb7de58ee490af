"""Configuration: the base ``ml_collections`` config, loading configs, overrides, checks.

This module sits at the bottom of the package: it imports nothing from ``odegan_jax``.

* :func:`base_config`: the defaults (``mog16_rk4``; the main job ``mog16_main`` halves the
  batch and narrows the networks). Experiment files in ``configs/`` start from
  it and change what their experiment needs.
* :func:`load_config` / :func:`resolve_config`: a config by name (``configs/NAME.py``) or path,
  with ``--config.a.b=value`` overrides typed like the defaults (:func:`apply_override`).
* :func:`validate`: the checks that need nothing but the config (types, ranges, combinations of
  keys). Names that select a component (``rule.integrator``, ``model.name``, ...) are checked by
  the factory that uses them, through :func:`choose`; ``experiment.build`` runs every factory
  before anything is compiled. Every check raises one :class:`ConfigError` naming the key.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import os
import pkgutil
from collections.abc import Mapping, Sequence

import ml_collections
from ml_collections import ConfigDict, config_dict

DEFAULT_CONFIG = "mog16_main"  # the main job (`odegan train` with no --config)


RULE_NAMES = ("ode", "simultaneous", "alternating")  # ODE-GAN, or an optax rule (rules.UPDATES)


class ConfigError(ValueError):
    """A config value is invalid; the message names the key and the allowed values."""


def base_config() -> ml_collections.ConfigDict:
    """Defaults shared by all experiments (``mog16_rk4``: ODE-GAN RK4 on the 16-Gaussian grid)."""
    c = ml_collections.ConfigDict()
    c.name = "mog16_rk4"  # run name; default workdir is runs/<name>-<seed>
    c.seed = 0  # the only source of randomness
    c.steps = 24_000  # training steps

    c.data = ml_collections.ConfigDict()
    # mog8 | mog25 | mog16 | swiss_roll | dirac | mnist | fashion_mnist | cifar10 | flowers |
    # digits | idx | npz (see data/images.py)
    c.data.name = "mog16"
    c.data.batch_size = 512  # samples per step (and per RK stage) of real data and of latents
    c.data.num_train = 0  # 0: fresh samples every step; N > 0: a fixed training set of N
    c.data.stratified = True  # mog16: every batch holds the 16 means tiled (the notebook)
    c.data.noise = 0.2  # swiss_roll noise
    # images: auto (local files, then scikit-learn, then tfds) | files | tfds | sklearn
    c.data.source = "auto"
    c.data.path = ""  # IDX directory or .npz file ("" : the dataset's default location)
    c.data.image_size = 0  # resize images to this square size (0: native)
    # pad images, centred, with the background value −1 to this square size (0: none); the
    # scores crop samples back to the data's own size. Fashion-MNIST on the official
    # 32×32 DCGAN (model.name=dcgan_official): 32
    c.data.pad_to = 0

    c.model = ml_collections.ConfigDict()
    # mlp | m0a | m1a | dcgan28 | dcgan32 | dcgan_official | resnet32 | ngan | dirac
    c.model.name = "mlp"
    c.model.width = 50  # mlp / m0a / m1a hidden width (the notebook's MLP: 25)
    c.model.depth = 2  # mlp hidden layers
    # mlp: batch_major (x @ W) | feature_major (Wᵀ xᵀ; the same function, other kernels)
    c.model.layout = "batch_major"
    c.model.num_blocks = 7  # m1a residual blocks
    c.model.g_batchnorm = True  # m0a / m1a
    c.model.d_batchnorm = True  # m0a / m1a / dcgan: BatchNorm in D (Yamazaki17: optional)
    c.model.latent_size = 32  # dimension of z
    c.model.latent_prior = "normal"  # normal: N(0, I) | uniform: U(-1, 1)
    c.model.init = "normal"  # normal (N(0, init_std)) | haiku | lecun | sonnet
    # 0.07² · 50 = 0.1² · 25: the pre-activation scale of N(0, 0.1) at width 25
    c.model.init_std = 0.07
    c.model.res_blocks = 0  # dcgan28: c of M_cB; dcgan32: d of M_dC (d blocks per stage)
    c.model.spectral_norm = False  # image discriminators: SN-GAN's spectral normalisation
    c.model.ode = ml_collections.ConfigDict()  # ngan: the Neural-ODE blocks of G and D
    c.model.ode.solver = "rk4"  # euler | heun | midpoint | ralston | rk4 | tsit5 | dopri5 | bosh3
    c.model.ode.steps = 1  # fixed-step solvers: steps over [0, t1]; adaptive: first-step guess
    c.model.ode.t1 = 1.0  # each block integrates over [0, t1]
    c.model.ode.rtol = 1e-3  # adaptive solvers
    c.model.ode.atol = 1e-3  # adaptive solvers
    c.model.ode.gradient = "backprop"  # backprop (through the solver) | adjoint (BacksolveAdjoint)

    c.game = ml_collections.ConfigDict()
    # minimax | non_saturating | notebook | wgan | wgan_gp | hinge | linear
    c.game.loss = "non_saturating"
    c.game.gp_weight = 10.0  # wgan_gp λ
    c.game.clip_value = 0.01  # wgan weight clipping

    c.rule = ml_collections.ConfigDict()
    c.rule.name = "ode"  # one of RULE_NAMES
    c.rule.integrator = "rk4"  # euler | heun | rk4 | midpoint | ralston | kutta3 | rk38
    c.rule.h = 0.6  # ODE step size (× the schedule)
    c.rule.reg_weight = 0.3  # λ of the gradient-norm regulariser
    c.rule.reg_placement = "post_step"  # post_step (Algorithm 1) | first_stage (TF code)
    c.rule.stage_batches = "same"  # same | fresh minibatch per RK stage
    c.rule.coupling = "joint"  # joint | frozen (each player with the other frozen)
    # constant | official (h/4 for 500 steps, h/2 after 400k) | piecewise
    c.rule.schedule = "piecewise"
    # piecewise: steps where the scale changes
    c.rule.schedule_boundaries = (12_000, 18_000, 21_000)
    # piecewise: h multipliers, one more than boundaries
    c.rule.schedule_scales = (1.0, 0.5, 0.25, 0.125)
    # piecewise: λ multipliers, one per phase of the schedule (() : λ constant)
    c.rule.reg_scales = ()
    c.rule.d_rate = 1.0  # α in v = −[α ∂ℓ_D/∂θ, ∂ℓ_G/∂φ]: D's speed relative to G's
    # fixed: h (× the schedule), halved in the state when a step goes non-finite | adaptive:
    # an embedded pair's error estimate accepts / rejects each step and sets the next h
    # (diffrax's PIDController; rule.h is the first attempt's size)
    c.rule.step_control = "fixed"
    c.rule.rtol = 1e-3  # adaptive: relative and absolute tolerance over every parameter
    c.rule.atol = 1e-3  # adaptive
    c.rule.pcoeff = 0.0  # adaptive: the PID controller's coefficients (0, 1: I control)
    c.rule.icoeff = 1.0  # adaptive
    c.rule.h_max = 0.0  # adaptive: largest step size (0: none)
    c.rule.max_rejections = 20  # adaptive: rejected attempts in a row before loop.nonfinite acts
    c.rule.use_optimizer = False  # ode: feed the RK direction to config.optimizer (RK4+Adam)
    # ode, fixed steps: before compiling, measure the field's leading eigenvalues at
    # initialisation (odegan stiffness) and warn when an h of the schedule lies outside the
    # integrator's stable range (a few seconds on an MLP, tens on a DCGAN on CPU)
    c.rule.stability_check = True
    # --config.rule.h=auto sets this: h = rule.h_auto_fraction × the measured h_max (÷ the
    # schedule's largest scale), written back into the run's config.json as rule.h
    c.rule.h_auto = False
    c.rule.h_auto_fraction = 0.5  # h = auto: the fraction of the measured h_max
    # use_optimizer: direction (the step's RK direction is the optimiser's one gradient per
    # step; stages placed with h) | stages (the official TF code: every RK stage point is an
    # optimiser step, so its moments advance at every stage)
    c.rule.optimizer_form = "direction"
    c.rule.n_critic = 1  # alternating: D steps per G step
    # > 0: an exponential moving average of G's parameters over the accepted steps (optax.ema,
    # bias-corrected) is kept in the state and evaluated (logs, summary, plots, samples)
    # instead of the last iterate; training never reads it (0: the last iterate)
    c.rule.g_ema_decay = 0.0

    c.optimizer = ml_collections.ConfigDict()
    c.optimizer.name = "adam"  # adam | adamw | rmsprop | sgd | adadelta | adagrad
    c.optimizer.learning_rate = 1e-4  # both players, unless a per-player rate is set
    c.optimizer.d_learning_rate = config_dict.placeholder(float)  # per-player override
    c.optimizer.g_learning_rate = config_dict.placeholder(float)  # per-player override
    c.optimizer.weight_decay = 0.0  # L2 on each loss (Yamazaki17: 1e-5)
    c.optimizer.b1 = config_dict.placeholder(float)  # unset: the optax default
    c.optimizer.b2 = config_dict.placeholder(float)  # adam / adamw; unset: the optax default
    c.optimizer.eps = config_dict.placeholder(float)  # adam / adamw / rmsprop / adagrad
    c.optimizer.momentum = config_dict.placeholder(float)  # sgd / rmsprop
    c.optimizer.nesterov = config_dict.placeholder(bool)  # sgd
    c.optimizer.decay = config_dict.placeholder(float)  # rmsprop
    c.optimizer.rho = config_dict.placeholder(float)  # adadelta
    c.optimizer.initial_accumulator_value = config_dict.placeholder(float)  # adagrad

    c.loop = ml_collections.ConfigDict()
    c.loop.steps_per_call = 100  # steps fused in one compiled call (MLPs, conv nets on GPUs)
    c.loop.log_every = 100  # metrics.jsonl cadence (steps); 2D rows carry modes / HQ share
    c.loop.eval_samples = 10_000  # 2D: samples for the modes / HQ share at every logged step
    c.loop.plot = True  # write PNG plots at the end
    c.loop.checkpoint_every = 5000  # orbax checkpoint of the whole state (0: only at the end)
    c.loop.keep_checkpoints = 3  # the last K are kept
    # what a non-finite loss or parameter does (it never enters the state): retry (ODE rules:
    # the step is rejected inside the compiled call and redone with h halved in the state for
    # the rest of the run; other rules stop) | stop (exit 3) | rollback (ODE rules: to the last
    # checkpoint with h halved for the rest of the run or loop.rollback_steps, the initial
    # state saved as checkpoint 0 for it; other rules stop). Adaptive step control rejects
    # non-finite steps itself; the policy acts after rule.max_rejections in a row.
    c.loop.nonfinite = "retry"
    c.loop.max_retries = 8  # retry: halvings of h (rejected steps) allowed over the whole run
    c.loop.max_rollbacks = 5  # rollback: restores allowed over the whole run
    # what a generator whose gradient is exactly 0 at the end of a compiled call does (a dead
    # G: one large step, then no sample gets a gradient from D, to the end of the run):
    # continue | rollback (as loop.nonfinite rollback: the newest checkpoint, h halved, the
    # same count and window; ODE rules) | stop (exit 3)
    c.loop.dead_generator = "continue"
    # rollback: steps after the restored checkpoint that run at the halved h, after which h is
    # back to its value at that checkpoint (0: halved for the rest of the run)
    c.loop.rollback_steps = 0
    # images: PNG grid at fixed latents every N steps (0: only at the end)
    c.loop.sample_every = 1000
    c.loop.sample_grid = 64  # images per grid
    c.loop.score_every = 0  # images: IS / FID / KID into metrics.jsonl every N steps (0: never)
    # G at the fixed evaluation latents at these steps: snapshots/step_N.npy (2D: all
    # loop.eval_samples points) or snapshots/step_N.png (images: loop.sample_grid images)
    c.loop.snapshot_steps = ()
    # ODE rules: every N steps, the local truncation error (one step of h against two of h/2
    # from the same state and minibatch) as lte / lte_rel in metrics.jsonl (0: never)
    c.loop.lte_every = 0

    c.eval = ml_collections.ConfigDict()
    c.eval.mode_fraction = 0.01  # a mode counts when it gets ≥ this share of samples within 3σ
    c.eval.num_sigmas = 3.0  # 2D: a sample is high-quality within this many σ of a mode
    c.eval.num_samples = 10_000  # images: samples for IS / FID / KID (Yamazaki17 used 5,000)
    c.eval.inception_weights = ""  # images: FID Inception-v3 .npz for Inception IS / FID / KID
    return c


def _fail(key: str, message: str):
    raise ConfigError(f"config.{key}: {message}")


def choose(key: str, value: object, allowed: Mapping | Sequence) -> object:
    """``allowed[value]`` for a mapping (``value`` itself for a sequence), or one ConfigError
    naming ``config.<key>`` and the allowed values. Factories select components through it."""
    if value not in allowed:
        _fail(key, f"{value!r} is not allowed; choose one of: {', '.join(map(str, allowed))}")
    return allowed[value] if isinstance(allowed, Mapping) else value


def _check_positive(
    config: ConfigDict, key: str, allow_zero: bool = False, integer: bool = False
) -> None:
    value = _get(config, key)
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        _fail(key, f"must be {'an integer' if integer else 'a number'}, got {value!r}")
    if value != value or value in (float("inf"), float("-inf")):
        _fail(key, f"must be a finite number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        _fail(key, f"must be {'≥ 0' if allow_zero else '> 0'}, got {value!r}")


def _get(config: ConfigDict, key: str):
    node = config
    for part in key.split("."):
        if part not in node:
            _fail(key, "is missing")
        node = node[part]
    return node


def validate(config: ml_collections.ConfigDict) -> None:
    """Checks the values that need nothing but the config: types, ranges and combinations of
    keys. Component names are checked where they are used (see the module doc)."""
    _check_positive(config, "seed", allow_zero=True, integer=True)
    if config.seed >= 2**32:
        _fail("seed", f"{config.seed} is outside the PRNG's seeds 0 … 2**32 - 1")
    for key in (
        "steps",
        "data.batch_size",
        "model.width",
        "model.depth",
        "model.latent_size",
        "rule.n_critic",
        "model.ode.steps",
        "loop.steps_per_call",
        "loop.log_every",
        "rule.max_rejections",
        "loop.eval_samples",
        "loop.sample_grid",
        "loop.keep_checkpoints",
        "eval.num_samples",
    ):
        _check_positive(config, key, integer=True)
    for key in (
        "data.num_train",
        "model.num_blocks",
        "model.res_blocks",
        "data.image_size",
        "data.pad_to",
        "loop.sample_every",
        "loop.score_every",
        "loop.checkpoint_every",
        "loop.max_retries",
        "loop.max_rollbacks",
        "loop.rollback_steps",
        "loop.lte_every",
    ):
        _check_positive(config, key, allow_zero=True, integer=True)
    if config.rule.get("h_auto") and (
        config.rule.name != "ode" or config.rule.step_control != "fixed"
    ):
        _fail(
            "rule.h",
            f"'auto' measures the stable step of an ODE rule with fixed steps; "
            f"this config has rule.name={config.rule.name!r}, "
            f"rule.step_control={config.rule.step_control!r}",
        )
    if not 0 < config.rule.get("h_auto_fraction", 0.5) <= 1:
        _fail("rule.h_auto_fraction", f"must lie in (0, 1], got {config.rule.h_auto_fraction!r}")
    for key in (
        "data.noise",
        "game.gp_weight",
        "rule.reg_weight",
        "optimizer.weight_decay",
        "rule.atol",
        "rule.pcoeff",
        "rule.icoeff",
        "rule.h_max",
        "rule.g_ema_decay",
    ):
        _check_positive(config, key, allow_zero=True)
    for key in (
        "model.init_std",
        "game.clip_value",
        "rule.h",
        "rule.d_rate",
        "optimizer.learning_rate",
        "model.ode.t1",
        "model.ode.rtol",
        "model.ode.atol",
        "rule.rtol",
        "eval.mode_fraction",
        "eval.num_sigmas",
    ):
        _check_positive(config, key)
    for key in ("d_learning_rate", "g_learning_rate"):
        if config.optimizer[key] is not None:
            _check_positive(config, f"optimizer.{key}")
    choose("rule.name", config.rule.name, RULE_NAMES)
    if config.rule.g_ema_decay >= 1.0:
        _fail(
            "rule.g_ema_decay",
            f"must be below 1 (0: no average; 0.999 averages over "
            f"about 1,000 steps), got {config.rule.g_ema_decay!r}",
        )
    # retry and rollback halve the ODE step size h; the optax rules stop (train.Calls), so a
    # config that rolls back (the main job) trains with another rule as it is
    choose("loop.nonfinite", config.loop.nonfinite, ("retry", "stop", "rollback"))
    choose("loop.dead_generator", config.loop.dead_generator, ("continue", "rollback", "stop"))
    if config.rule.step_control == "adaptive":
        _check_adaptive(config)
    if config.loop.lte_every and config.rule.name != "ode":
        _fail(
            "loop.lte_every",
            f"the truncation error is that of an ODE step, so it needs "
            f"rule.name='ode' (got {config.rule.name!r}); set it to 0",
        )
    snapshots = config.loop.snapshot_steps
    if not isinstance(snapshots, (tuple, list)) or not all(
        isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in snapshots
    ):
        _fail("loop.snapshot_steps", f"must be a tuple of steps ≥ 1, got {snapshots!r}")
    if config.eval.num_samples < 10:
        _fail(
            "eval.num_samples", f"needs ≥ 10 samples (10 IS splits), got {config.eval.num_samples}"
        )
    weights = config.eval.get("inception_weights", "")
    if weights and not os.path.isfile(os.path.expanduser(weights)):
        _fail(
            "eval.inception_weights",
            f"no file at {weights!r}; see odegan_jax/metrics/"
            f"inception.py for where to get and convert the weights, "
            f"or leave it empty for the classifier's scores only",
        )


def _check_adaptive(config: ConfigDict) -> None:
    r = config.rule
    if r.name != "ode":
        _fail(
            "rule.step_control",
            f"'adaptive' controls the ODE step size, so it needs "
            f"rule.name='ode' (got {r.name!r}); use 'fixed'",
        )
    if r.schedule != "constant":
        _fail(
            "rule.schedule",
            f"with rule.step_control='adaptive' the controller sets h; "
            f"set rule.schedule='constant' (got {r.schedule!r})",
        )
    if r.use_optimizer:
        _fail(
            "rule.use_optimizer",
            "the optimiser's update is not the RK step whose error "
            "the adaptive control estimates; set it to False or use "
            "rule.step_control='fixed'",
        )
    if config.loop.lte_every:
        _fail(
            "loop.lte_every",
            "adaptive runs log their own error estimate (error_norm); set loop.lte_every=0",
        )
    if r.pcoeff + r.icoeff <= 0:
        _fail(
            "rule.icoeff",
            f"pcoeff + icoeff must be > 0 for the controller to change h "
            f"(got {r.pcoeff} + {r.icoeff})",
        )


# ------------------------------------------------------------------------------------------
# Loading configs and command-line overrides
# ------------------------------------------------------------------------------------------


def config_names() -> list[str]:
    """The experiments in ``configs/`` (the ``odegan_jax.configs`` package)."""
    import odegan_jax.configs as pkg  # data files, not code of the package's layers

    return sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_"))


def with_defaults(saved: Mapping) -> ml_collections.ConfigDict:
    """A config as saved in a run's ``config.json``, with the keys added to
    :func:`base_config` since it was written set to their defaults (which keep the behaviour
    that run had)."""
    config = ml_collections.ConfigDict(saved)

    def fill(node, defaults) -> None:
        for key, value in defaults.items():
            if key not in node:
                node[key] = value
            elif isinstance(value, ml_collections.ConfigDict) and isinstance(
                node[key], ml_collections.ConfigDict
            ):
                fill(node[key], value)

    fill(config, base_config())
    return config


def load_config(name_or_path: str) -> ml_collections.ConfigDict:
    """``get_config()`` of a file path or of a config name in ``configs/``; a ``.json`` file
    is a resolved config as a run directory keeps it (``config.json``)."""
    if name_or_path.endswith(".json"):
        try:
            with open(name_or_path, encoding="utf-8") as f:
                return with_defaults(json.load(f))
        except (OSError, ValueError) as e:
            raise ConfigError(f"--config: cannot read {name_or_path} ({e})") from None
    if name_or_path.endswith(".py") or os.path.sep in name_or_path:
        if not os.path.isfile(name_or_path):
            raise ConfigError(f"--config: no such file {name_or_path!r}")
        spec = importlib.util.spec_from_file_location("odegan_user_config", name_or_path)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as e:  # a user's file: a syntax error, a failing import, ...
            raise ConfigError(
                f"--config: {name_or_path} cannot be loaded ({type(e).__name__}: {e}); fix the file"
            ) from None
    else:
        if name_or_path not in config_names():
            raise ConfigError(
                f"--config: unknown config {name_or_path!r}; available: "
                f"{', '.join(config_names())} (or give a path to a .py file)"
            )
        module = importlib.import_module(f"odegan_jax.configs.{name_or_path}")
    if not hasattr(module, "get_config"):
        raise ConfigError(f"--config: {name_or_path!r} defines no get_config()")
    try:
        config = module.get_config()
    except Exception as e:
        raise ConfigError(
            f"--config: get_config() of {name_or_path} raised {type(e).__name__}: {e}; fix the file"
        ) from None
    if not isinstance(config, ml_collections.ConfigDict):
        raise ConfigError(
            f"--config: get_config() of {name_or_path} returned "
            f"{type(config).__name__}, not an ml_collections.ConfigDict"
        )
    return config


_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


def _parse(text: str, field_type, key: str):
    try:
        if field_type is bool:
            low = text.lower()
            if low not in _TRUE | _FALSE:
                raise ValueError
            return low in _TRUE
        if field_type is int:
            value = float(text)
            if not value.is_integer():
                raise ValueError
            return int(value)
        if field_type is float:
            return float(text)
        if field_type is str:
            return text
        if field_type in (tuple, list):
            value = ast.literal_eval(text)
            return field_type(value if isinstance(value, (tuple, list)) else (value,))
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        name = getattr(field_type, "__name__", str(field_type))
        raise ConfigError(f"config.{key}: cannot read {text!r} as {name}") from None


def apply_override(config: ml_collections.ConfigDict, key: str, text: str) -> None:
    """Sets ``config.<key>`` from the command-line string ``text``, typed like the default."""
    *parents, leaf = key.split(".")
    node = config
    for i, part in enumerate(parents):
        if part not in node or not isinstance(node[part], ml_collections.ConfigDict):
            raise ConfigError(f"config.{'.'.join(parents[: i + 1])}: no such config block")
        node = node[part]
    if leaf not in node:
        raise ConfigError(f"config.{key}: no such key; keys here: {', '.join(sorted(node.keys()))}")
    if isinstance(node[leaf], ml_collections.ConfigDict):
        raise ConfigError(
            f"config.{key} is a block; set one of its keys: {', '.join(sorted(node[leaf].keys()))}"
        )
    if key == "rule.h" and text == "auto":  # measured at initialisation (odegan_jax.stiffness)
        node["h_auto"] = True
        return
    if text in ("None", "none") and key in _unset_by_default():
        node[leaf] = None  # back to the default of an optional setting (optimizer.b1, …)
        return
    node[leaf] = _parse(text, node.get_ref(leaf).get_type(), key)


def _unset_by_default() -> set:
    """Keys whose value in :func:`base_config` is None (placeholders: "use the library's
    default"); ``--config.KEY=None`` unsets them again."""

    def walk(node, prefix):
        for k, v in node.items():
            if isinstance(v, ml_collections.ConfigDict):
                yield from walk(v, f"{prefix}{k}.")
            elif v is None:
                yield prefix + k

    return set(walk(base_config(), ""))


def split_overrides(args: list[str]) -> list[tuple[str, str]]:
    """``["--config.a.b=v", ...]`` → ``[("a.b", "v"), ...]``; anything else is an error."""
    overrides = []
    for arg in args:
        if not arg.startswith("--config.") or "=" not in arg:
            raise ConfigError(
                f"unrecognised argument {arg!r}; config values are set as --config.KEY=VALUE"
            )
        key, value = arg[len("--config.") :].split("=", 1)
        overrides.append((key, value))
    return overrides


def resolve_config(name: str | None, overrides: list[str]) -> ml_collections.ConfigDict:
    """The config ``name`` (default: the main job) with ``--config.KEY=VALUE`` overrides."""
    config = load_config(name or DEFAULT_CONFIG)
    for key, value in split_overrides(overrides):
        apply_override(config, key, value)
    return config
