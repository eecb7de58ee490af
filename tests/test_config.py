"""Config validation and command-line overrides: one clear error per bad value."""

from __future__ import annotations

import pytest

from odegan_jax.config import (
    ConfigError,
    apply_override,
    base_config,
    config_names,
    load_config,
    resolve_config,
)
from odegan_jax.experiment import build

BAD_VALUES = [
    (
        "rule.name",
        "rk5",
        "config.rule.name: 'rk5' is not allowed; choose one of: ode, simultaneous, alternating",
    ),
    ("rule.integrator", "rk5", "config.rule.integrator: 'rk5' is not allowed"),
    (
        "game.loss",
        "lsgan",
        "choose one of: minimax, non_saturating, notebook, wgan, wgan_gp, hinge",
    ),
    ("data.name", "cifar100", "config.data.name: 'cifar100' is not allowed"),
    ("model.name", "vit", "config.model.name: 'vit' is not allowed"),
    ("optimizer.name", "lbfgs", "config.optimizer.name"),
    ("rule.h", 0.0, "config.rule.h: must be > 0"),
    ("rule.h", -0.1, "config.rule.h: must be > 0"),
    ("rule.reg_weight", -0.01, "config.rule.reg_weight: must be ≥ 0"),
    ("data.batch_size", 0, "config.data.batch_size: must be > 0"),
    ("model.latent_size", -3, "config.model.latent_size: must be > 0"),
    ("rule.coupling", "loose", "config.rule.coupling"),
    ("rule.stage_batches", "some", "config.rule.stage_batches"),
    ("rule.reg_placement", "middle", "config.rule.reg_placement"),
    ("steps", 0, "config.steps: must be > 0"),
    (
        "loop.nonfinite",
        "ignore",
        "config.loop.nonfinite: 'ignore' is not allowed; choose one of: retry, stop, rollback",
    ),
    ("loop.max_retries", -1, "config.loop.max_retries: must be ≥ 0"),
    (
        "loop.dead_generator",
        "ignore",
        "config.loop.dead_generator: 'ignore' is not allowed; "
        "choose one of: continue, rollback, stop",
    ),
    ("rule.g_ema_decay", 1.0, "config.rule.g_ema_decay: must be below 1"),
    ("rule.g_ema_decay", -0.1, "config.rule.g_ema_decay: must be ≥ 0"),
    ("rule.g_ema_decay", float("nan"), "config.rule.g_ema_decay: must be a finite number"),
]


@pytest.mark.parametrize("key,value,message", BAD_VALUES)
def test_bad_values_name_the_key_and_the_allowed_values(key, value, message):
    config = base_config()
    config.update_from_flattened_dict({key: value})
    with pytest.raises(ConfigError) as info:
        build(config)  # config.validate, then every factory, before anything compiles
    assert message in str(info.value)


def test_every_shipped_config_is_valid(monkeypatch):
    """Every key of every config is checked before its data is read: the data loader is
    replaced by one that stops the build (CIFAR-10 and MNIST are not on this machine, and
    tfds would reach for the network)."""
    from odegan_jax import experiment

    class DataReached(Exception):
        pass

    def stop(*args):
        raise DataReached

    monkeypatch.setattr(experiment, "make_dataset", stop)
    names = config_names()
    assert {"mog16_rk4", "mog16_official"} <= set(names)
    for name in names:
        with pytest.raises(DataReached):
            build(load_config(name))


def test_n_critic_needs_alternating():
    config = base_config()
    config.rule.n_critic = 5
    with pytest.raises(ConfigError, match="needs rule.name='alternating'"):
        build(config)


def test_hyperparameter_of_another_optimizer():
    config = base_config()
    config.optimizer.momentum = 0.9
    with pytest.raises(ConfigError, match="momentum does not apply to 'adam'"):
        build(config)


def test_overrides_are_typed_like_the_defaults():
    config = base_config()
    apply_override(config, "seed", "7")
    apply_override(config, "rule.h", "0.25")
    apply_override(config, "data.stratified", "true")
    apply_override(config, "optimizer.b1", "0.5")  # a placeholder (None) of type float
    assert (config.seed, config.rule.h, config.data.stratified, config.optimizer.b1) == (
        7,
        0.25,
        True,
        0.5,
    )
    with pytest.raises(ConfigError, match="config.seed: cannot read 'seven' as int"):
        apply_override(config, "seed", "seven")
    with pytest.raises(ConfigError, match="config.rule.hh: no such key; keys here:"):
        apply_override(config, "rule.hh", "1")
    with pytest.raises(ConfigError, match="config.rules: no such config block"):
        apply_override(config, "rules.h", "1")
    apply_override(config, "optimizer.b1", "None")  # an optional setting unset again
    assert config.optimizer.b1 is None
    with pytest.raises(ConfigError, match="config.rule.h: cannot read 'None' as float"):
        apply_override(config, "rule.h", "None")  # not optional


def test_resolve_config_rejects_stray_arguments():
    with pytest.raises(ConfigError, match="--config.KEY=VALUE"):
        resolve_config(None, ["--steps=3"])
    with pytest.raises(ConfigError, match="unknown config 'nope'"):
        resolve_config("nope", [])
