"""Configuration: the base ``ml_collections`` config and its validation.

Experiment files in ``configs/`` start from :func:`base_config` and change what their
experiment needs. Every value can be overridden on the command line as
``--config.a.b=value``. :func:`validate` checks every key before anything is compiled and
raises one :class:`ConfigError` naming the key and what it accepts.
"""
from __future__ import annotations

import os

import ml_collections
from ml_collections import config_dict


class ConfigError(ValueError):
    """A config value is invalid; the message names the key and the allowed values."""


def base_config() -> ml_collections.ConfigDict:
    """Defaults shared by all experiments (the main job: ODE-GAN RK4 on the 16-Gaussian grid)."""
    c = ml_collections.ConfigDict()
    c.name = "mog16_rk4"  # run name; default workdir is runs/<name>-<seed>
    c.seed = 0  # the only source of randomness
    c.steps = 24_000  # training steps

    c.data = ml_collections.ConfigDict()
    c.data.name = "mog16"  # mog8 | mog25 | mog16 | swiss_roll | an image dataset below
    c.data.batch_size = 512
    c.data.num_train = 0  # 0: fresh samples every step; N > 0: a fixed training set of N
    c.data.stratified = True  # mog16: every batch holds the 16 means tiled (the notebook)
    c.data.noise = 0.2  # swiss_roll noise
    # images: mnist | fashion_mnist | cifar10 | flowers | digits | idx | npz (see data/images.py)
    c.data.source = "auto"  # auto | files | tfds | sklearn
    c.data.path = ""  # IDX directory or .npz file ("" : the dataset's default location)
    c.data.image_size = 0  # resize images to this square size (0: native)

    c.model = ml_collections.ConfigDict()
    c.model.name = "mlp"  # mlp | m0a | m1a | dcgan28 | dcgan32 | dcgan_official | resnet32 | ngan | dirac
    c.model.width = 50  # mlp / m0a / m1a hidden width (the notebook's MLP: 25)
    c.model.depth = 2  # mlp hidden layers
    c.model.num_blocks = 7  # m1a residual blocks
    c.model.g_batchnorm = True  # m0a / m1a
    c.model.d_batchnorm = True  # m0a / m1a / dcgan: BatchNorm in D (001: optional)
    c.model.latent_size = 32
    c.model.latent_prior = "normal"  # normal: N(0, I) | uniform: U(-1, 1)
    c.model.init = "normal"  # normal (N(0, init_std)) | haiku | lecun
    c.model.init_std = 0.07  # 0.07² · 50 = 0.1² · 25: the pre-activation scale of N(0, 0.1) at width 25
    c.model.res_blocks = 0  # dcgan28: c of M_cB; dcgan32: d of M_dC (d blocks per stage)
    c.model.spectral_norm = False  # image discriminators: SN-GAN's spectral normalisation
    c.model.ode = ml_collections.ConfigDict()  # ngan: the Neural-ODE blocks of G and D
    c.model.ode.solver = "rk4"  # euler | heun | midpoint | ralston | rk4 | tsit5 | dopri5 | bosh3
    c.model.ode.steps = 1  # fixed-step solvers: steps over [0, t1]; adaptive: first-step guess
    c.model.ode.t1 = 1.0
    c.model.ode.rtol = 1e-3  # adaptive solvers
    c.model.ode.atol = 1e-3
    c.model.ode.gradient = "backprop"  # backprop (through the solver) | adjoint (BacksolveAdjoint)

    c.game = ml_collections.ConfigDict()
    c.game.loss = "non_saturating"  # minimax | non_saturating | notebook | wgan | wgan_gp | hinge
    c.game.gp_weight = 10.0  # wgan_gp λ
    c.game.clip_value = 0.01  # wgan weight clipping

    c.rule = ml_collections.ConfigDict()
    c.rule.name = "ode"  # ode | simultaneous | alternating
    c.rule.integrator = "rk4"  # euler | heun | rk4 | midpoint | ralston | kutta3 | rk38
    c.rule.h = 0.6  # ODE step size (× the schedule)
    c.rule.reg_weight = 0.3  # λ of the gradient-norm regulariser
    c.rule.reg_placement = "post_step"  # post_step (Algorithm 1) | first_stage (TF code)
    c.rule.stage_batches = "same"  # same | fresh minibatch per RK stage
    c.rule.coupling = "joint"  # joint | frozen (each player with the other frozen)
    c.rule.schedule = "piecewise"  # constant | official (h/4 for 500 steps, h/2 after 400k) | piecewise
    c.rule.schedule_boundaries = (12_000, 18_000, 21_000)  # piecewise: steps where the scale changes
    c.rule.schedule_scales = (1.0, 0.5, 0.25, 0.125)  # piecewise: h multipliers, one more than boundaries
    c.rule.d_rate = 1.0  # α in v = −[α ∂ℓ_D/∂θ, ∂ℓ_G/∂φ]: D's speed relative to G's
    c.rule.use_optimizer = False  # ode: feed the RK direction to config.optimizer (RK4+Adam)
    c.rule.n_critic = 1  # alternating: D steps per G step

    c.optimizer = ml_collections.ConfigDict()
    c.optimizer.name = "adam"  # adam | adamw | rmsprop | sgd | adadelta | adagrad
    c.optimizer.learning_rate = 1e-4
    c.optimizer.d_learning_rate = config_dict.placeholder(float)  # per-player override
    c.optimizer.g_learning_rate = config_dict.placeholder(float)
    c.optimizer.weight_decay = 0.0  # L2 on each loss (001: 1e-5)
    c.optimizer.b1 = config_dict.placeholder(float)  # unset: the optax default
    c.optimizer.b2 = config_dict.placeholder(float)
    c.optimizer.eps = config_dict.placeholder(float)
    c.optimizer.momentum = config_dict.placeholder(float)
    c.optimizer.nesterov = config_dict.placeholder(bool)
    c.optimizer.decay = config_dict.placeholder(float)
    c.optimizer.rho = config_dict.placeholder(float)
    c.optimizer.initial_accumulator_value = config_dict.placeholder(float)

    c.loop = ml_collections.ConfigDict()
    c.loop.steps_per_call = 100  # training steps fused in one compiled call (MLPs only)
    c.loop.log_every = 100  # metrics.jsonl cadence (steps); 2D rows carry modes / HQ share
    c.loop.eval_samples = 10_000  # 2D: samples for the modes / HQ share at every logged step
    c.loop.plot = True  # write PNG plots at the end
    c.loop.checkpoint_every = 5000  # orbax checkpoint of the whole state (0: only at the end)
    c.loop.keep_checkpoints = 3  # the last K are kept
    # what a non-finite loss or parameter does: retry (ODE rules: redo the call from the state
    # before it with h halved, then go on at the scheduled h; other rules stop) | stop (exit 3) |
    # rollback (ODE rules: to the last checkpoint with h halved for the rest of the run)
    c.loop.nonfinite = "retry"
    c.loop.max_retries = 8  # retry: halvings of h allowed over the whole run
    c.loop.max_rollbacks = 5
    c.loop.sample_every = 1000  # images: PNG grid at fixed latents every N steps (0: only at the end)
    c.loop.sample_grid = 64  # images per grid
    c.loop.score_every = 0  # images: IS / FID / KID into metrics.jsonl every N steps (0: never)

    c.eval = ml_collections.ConfigDict()
    c.eval.mode_fraction = 0.01  # a mode counts when it gets ≥ this share of samples within 3σ
    c.eval.num_sigmas = 3.0
    c.eval.num_samples = 10_000  # images: samples for IS / FID / KID (001 used 5,000)
    c.eval.inception_weights = ""  # images: FID Inception-v3 .npz for Inception IS / FID / KID
    return c


def _fail(key: str, message: str):
    raise ConfigError(f"config.{key}: {message}")


def _check_choice(config, key: str, allowed):
    value = _get(config, key)
    if value not in allowed:
        _fail(key, f"{value!r} is not allowed; choose one of: {', '.join(map(str, allowed))}")


def _check_positive(config, key: str, allow_zero: bool = False, integer: bool = False):
    value = _get(config, key)
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        _fail(key, f"must be {'an integer' if integer else 'a number'}, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        _fail(key, f"must be {'≥ 0' if allow_zero else '> 0'}, got {value!r}")


def _get(config, key: str):
    node = config
    for part in key.split("."):
        if part not in node:
            _fail(key, "is missing")
        node = node[part]
    return node


def validate(config: ml_collections.ConfigDict) -> None:
    """Checks names, ranges and combinations; raises ConfigError before any compilation."""
    # Imported here: validation needs every registry, and they sit below the config.
    from odegan_jax.data import DATASETS
    from odegan_jax.game import LATENT_PRIORS, LOSSES
    from odegan_jax.integrators import TABLEAUX
    from odegan_jax.models import INITS, NETWORKS
    from odegan_jax import rules

    _check_positive(config, "seed", allow_zero=True, integer=True)
    _check_positive(config, "steps", integer=True)
    _check_choice(config, "data.name", DATASETS)
    _check_positive(config, "data.batch_size", integer=True)
    _check_positive(config, "data.num_train", allow_zero=True, integer=True)
    _check_positive(config, "data.noise", allow_zero=True)
    _check_choice(config, "model.name", list(NETWORKS))
    for key in ("model.width", "model.depth", "model.latent_size"):
        _check_positive(config, key, integer=True)
    _check_positive(config, "model.num_blocks", allow_zero=True, integer=True)
    _check_choice(config, "model.latent_prior", LATENT_PRIORS)
    _check_choice(config, "model.init", INITS)
    _check_positive(config, "model.init_std")
    _check_choice(config, "game.loss", LOSSES)
    _check_positive(config, "game.gp_weight", allow_zero=True)
    _check_positive(config, "game.clip_value")
    _check_choice(config, "rule.name", ("ode",) + rules.UPDATES)
    _check_choice(config, "rule.integrator", sorted(TABLEAUX))
    _check_positive(config, "rule.h")
    _check_positive(config, "rule.reg_weight", allow_zero=True)
    _check_positive(config, "rule.d_rate")
    _check_choice(config, "rule.reg_placement", rules.REG_PLACEMENTS)
    _check_choice(config, "rule.stage_batches", rules.STAGE_BATCHES)
    _check_choice(config, "rule.coupling", rules.COUPLINGS)
    _check_choice(config, "rule.schedule", rules.SCHEDULES)
    if config.rule.schedule == "piecewise":
        b, sc = tuple(config.rule.schedule_boundaries), tuple(config.rule.schedule_scales)
        if len(sc) != len(b) + 1 or list(b) != sorted(b) or any(x <= 0 for x in sc):
            _fail("rule.schedule_scales", f"a piecewise schedule needs increasing "
                  f"rule.schedule_boundaries and one more positive scale than boundaries; got "
                  f"boundaries {b} and scales {sc}")
    _check_positive(config, "rule.n_critic", integer=True)
    if config.rule.n_critic > 1 and config.rule.name != "alternating":
        _fail("rule.n_critic", f"is {config.rule.n_critic}, which needs "
                               f"rule.name='alternating' (got {config.rule.name!r})")
    _check_choice(config, "optimizer.name", list(rules.OPTIMIZERS))
    _check_positive(config, "optimizer.learning_rate")
    _check_positive(config, "optimizer.weight_decay", allow_zero=True)
    for key in ("d_learning_rate", "g_learning_rate"):
        if config.optimizer[key] is not None:
            _check_positive(config, f"optimizer.{key}")
    try:
        rules.optimizer_kwargs(config.optimizer.name, optimizer_hyperparameters(config))
    except ValueError as e:
        raise ConfigError(str(e)) from None
    for key in ("steps_per_call", "log_every", "eval_samples", "sample_grid"):
        _check_positive(config, f"loop.{key}", integer=True)
    _check_positive(config, "loop.sample_every", allow_zero=True, integer=True)
    _check_positive(config, "loop.score_every", allow_zero=True, integer=True)
    _check_positive(config, "loop.checkpoint_every", allow_zero=True, integer=True)
    _check_positive(config, "loop.keep_checkpoints", integer=True)
    _check_choice(config, "loop.nonfinite", ("retry", "stop", "rollback"))
    _check_positive(config, "loop.max_retries", allow_zero=True, integer=True)
    _check_positive(config, "loop.max_rollbacks", allow_zero=True, integer=True)
    if config.loop.nonfinite == "rollback" and config.rule.name != "ode":
        _fail("loop.nonfinite", "'rollback' halves the ODE step size h, so it needs "
                                f"rule.name='ode' (got {config.rule.name!r}); use 'stop'")
    import jax
    devices = jax.device_count()
    if devices > 1 and config.data.batch_size % devices:
        _fail("data.batch_size", f"{config.data.batch_size} is not divisible by the {devices} "
                                 f"devices (data parallelism); choose a multiple of {devices}")
    _check_positive(config, "eval.num_samples", integer=True)
    if config.eval.num_samples < 10:
        _fail("eval.num_samples", f"needs ≥ 10 samples (10 IS splits), got "
                                  f"{config.eval.num_samples}")
    _check_positive(config, "model.res_blocks", allow_zero=True, integer=True)
    from odegan_jax.models.odeblock import GRADIENTS, SOLVERS
    _check_choice(config, "model.ode.solver", SOLVERS)
    _check_choice(config, "model.ode.gradient", GRADIENTS)
    _check_positive(config, "model.ode.steps", integer=True)
    for key in ("t1", "rtol", "atol"):
        _check_positive(config, f"model.ode.{key}")
    from odegan_jax.data.images import SOURCES
    _check_choice(config, "data.source", SOURCES)
    _check_positive(config, "data.image_size", allow_zero=True, integer=True)
    if config.data.name in ("idx", "npz") and not config.data.path:
        _fail("data.path", f"data.name={config.data.name!r} reads local files: set "
                           f"--config.data.path to an IDX directory or a .npz file")
    if config.data.path and not os.path.exists(config.data.path):
        _fail("data.path", f"{config.data.path!r} does not exist")
    _check_network_shape(config)
    _check_positive(config, "eval.mode_fraction")
    _check_positive(config, "eval.num_sigmas")
    weights = config.eval.get("inception_weights", "")
    if weights and not os.path.isfile(os.path.expanduser(weights)):
        from odegan_jax.metrics.inception import SOURCE
        _fail("eval.inception_weights", f"no file at {weights!r}; get {SOURCE}, or leave it "
                                        f"empty for the classifier's scores only")
    if config.data.num_train and config.data.num_train < config.data.batch_size * 4:
        _fail("data.num_train", f"{config.data.num_train} is smaller than the samples of one "
                                f"step (up to 4 batches of {config.data.batch_size})")


def _check_network_shape(config) -> None:
    """The network must accept the dataset's sample shape (known without loading data)."""
    from odegan_jax.data.images import NATIVE_SHAPES
    from odegan_jax.models import NETWORKS
    accepted = NETWORKS[config.model.name]
    name = config.data.name
    if name in NATIVE_SHAPES:
        h, w, c = NATIVE_SHAPES[name]
        if config.data.image_size:
            h = w = config.data.image_size
        shape = (h, w, c)
    elif name in ("idx", "npz"):
        return  # known once the files are read; build_networks checks it then
    else:
        shape = (2,)
    if accepted == "any":
        return
    if accepted == "flat":
        if len(shape) != 1:
            _fail("model.name", f"{config.model.name!r} is a network for 2D points; for "
                                f"images use mlp, dcgan28, dcgan32, dcgan_official, resnet32 "
                                f"or ngan")
        return
    if tuple(accepted) != shape:
        hint = ""
        if accepted[-1] == shape[-1] and shape[0] != accepted[0]:
            hint = f"; set --config.data.image_size={accepted[0]}"
        _fail("model.name", f"network {config.model.name!r} needs samples of shape "
                            f"{tuple(accepted)}, but {name!r} has {shape}{hint}")


def optimizer_hyperparameters(config) -> dict:
    from odegan_jax.rules import OPTIMIZER_HYPERPARAMETERS
    return {k: config.optimizer[k] for k in OPTIMIZER_HYPERPARAMETERS}
