"""Scores of a generator: the 2D quality (modes / high-quality share) and image IS / FID / KID.

Pure in the sense of the rest of the package: experiments and states in, numbers out; the
caller (the training loop's actions, the CLI) writes them.

* :func:`quality_2d`: modes covered and the high-quality share of G at the experiment's fixed
  evaluation latents: the same sampler for every logged row, the summary and ``odegan eval``.
* :class:`ImageScorer`: IS, FID and KID in the shipped classifier's space (Yamazaki17 Table B.1) on
  ``n`` samples, next to their ceilings on real data (IS of the real test set, FID and KID of
  the test set against the training set); the same in Inception-v3's space (FID's standard
  network, for 32×32 RGB) when a local weights file is given (:mod:`.metrics.inception`).
* :func:`generate`: ``n`` samples of G at latents from a key, in batches.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import jax
import numpy as np
from ml_collections import ConfigDict

from odegan_jax.config import ConfigError
from odegan_jax.data.images import load_images, unpad
from odegan_jax.metrics import inception, scores
from odegan_jax.metrics.classifier import load_classifier, weights_path
from odegan_jax.metrics.modes import mode_metrics

if TYPE_CHECKING:
    from odegan_jax.experiment import Experiment
    from odegan_jax.rules import TrainState


def quality_2d(exp: Experiment, state: TrainState, n: int | None = None) -> dict:
    """``modes_covered``, ``num_modes``, ``hq_fraction`` (share of samples within
    ``eval.num_sigmas`` σ of a mode) of G at the first n fixed latents (default
    ``loop.eval_samples``, the training logs' count)."""
    cfg = exp.config
    samples = exp.samples(state, n or cfg.loop.eval_samples)
    m = mode_metrics(
        samples,
        exp.dataset.distribution,
        mode_fraction=cfg.eval.mode_fraction,
        num_sigmas=cfg.eval.num_sigmas,
    )
    return {k: m[k] for k in ("modes_covered", "num_modes", "hq_fraction")}


def generate(
    exp: Experiment, state: TrainState, n: int, key: jax.Array, batch: int = 500
) -> np.ndarray:
    """``[n, *sample_shape]`` samples of G (inference mode; its moving average when the run
    keeps one) at latents drawn from ``key``."""
    params, out = exp.evaluated_params(state), []
    for i, k in enumerate(jax.random.split(key, (n + batch - 1) // batch)):
        m = min(batch, n - i * batch)
        out.append(
            np.asarray(exp.generate(params, state.model_state, exp.game.sample_latents(k, m)))
        )
    return np.concatenate(out)


def classifier_for(config: ConfigDict) -> str | None:
    """The shipped classifier that scores this run's images, if any."""
    name = config.data.name
    if name == "digits" and config.data.image_size != 28:
        return None
    return name if os.path.exists(weights_path(name)) else None


class _Space(NamedTuple):
    """One scoring network's space: its real training features and the real-data ceilings."""

    apply: Callable
    info: dict
    f_train: np.ndarray
    ceilings: dict


def _space(apply, info: dict, test_x, train_x) -> _Space:
    p_test, f_test = apply(test_x)
    _, f_train = apply(train_x)
    real_is, real_is_std = scores.inception_score(p_test, splits=min(10, len(test_x)))
    real_kid, _ = scores.kernel_inception_distance(f_test, f_train)
    return _Space(
        apply,
        info,
        f_train,
        {
            "is_real_test": real_is,
            "is_real_test_std": real_is_std,
            "fid_real_test_vs_train": scores.fid_from_features(f_test, f_train),
            "kid_real_test_vs_train": real_kid,
        },
    )


def score_key(exp: Experiment) -> jax.Array:
    """The key of the scorer's samples and real-data subset, derived from the config's seed
    (the ``eval`` key folded with 1, so it differs from the fixed evaluation latents)."""
    return jax.random.fold_in(exp.keys["eval"], 1)


class ImageScorer:
    """IS / FID / KID of ``n`` samples and the real-data ceilings (see the module doc), in the
    shipped classifier's space and, given ``inception_weights`` (a path), in Inception-v3's.

    The networks, the real data, their features and the ceilings are loaded and computed once,
    here; each call scores a state's samples only (``loop.score_every`` calls it repeatedly).
    Samples and the real training subset are drawn from :func:`score_key`."""

    def __init__(self, exp, n: int = 10_000, inception_weights: str = "") -> None:
        cfg = exp.config
        if n < 10:
            raise ConfigError(
                f"--n / config.eval.num_samples: image scores need ≥ 10 samples "
                f"(10 IS splits, a covariance for FID), got {n}"
            )
        self.n, self.note, self.spaces = int(n), None, {}
        self.key, subset_key = jax.random.split(score_key(exp))
        name = classifier_for(cfg)
        net = inception.load_inception(inception_weights) if inception_weights else None
        if name is None:
            self.note = f"no shipped classifier for {cfg.data.name!r} at this image size"
            if net is None:
                self.note += f"; Inception scores need weights ({inception.SOURCE})"
                return
        test_x, _ = load_images(
            cfg.data.name, cfg.data.source, cfg.data.path, "test", cfg.data.image_size
        )
        # padded data (data.pad_to) is scored at its own size: samples are cropped back
        self.shape = test_x.shape[1:]
        train_x = unpad(exp.dataset.train, self.shape)
        pick = np.asarray(
            jax.random.choice(subset_key, len(train_x), (min(n, len(train_x)),), replace=False)
        )
        train_x, test_x = train_x[np.sort(pick)], test_x[:n]
        if name is not None:
            clf = load_classifier(name)
            self.spaces[None] = _space(
                clf.apply,
                {"classifier": name, "classifier_test_accuracy": clf.info.get("test_accuracy")},
                test_x,
                train_x,
            )
        if net is not None:
            self.spaces["inception"] = _space(net.apply, {"weights": net.path}, test_x, train_x)

    def __call__(self, exp: Experiment, state: TrainState) -> dict:
        if not self.spaces:
            return {"note": self.note}
        fake = unpad(generate(exp, state, self.n, self.key), self.shape)
        result: dict = {"num_samples": self.n}
        if self.note:
            result["note"] = self.note
        for key, space in self.spaces.items():
            p_fake, f_fake = space.apply(fake)
            is_mean, is_std = scores.inception_score(p_fake, splits=min(10, len(fake)))
            kid, kid_std = scores.kernel_inception_distance(f_fake, space.f_train)
            row = {
                **space.info,
                "is": is_mean,
                "is_std": is_std,
                "fid": scores.fid_from_features(f_fake, space.f_train),
                "kid": kid,
                "kid_std": kid_std,
                **space.ceilings,
            }
            if key is None:
                result.update(row)
            else:
                result[key] = row
        return result


def score_run(
    exp: Experiment, state: TrainState, n: int | None = None, inception_weights: str = ""
) -> dict:
    """The run's scores at ``state``: the 2D quality for 2D data (the same fixed latents as the
    training logs), else the image scores of ``n`` samples (default ``eval.num_samples``)."""
    if exp.is_2d:
        n = n or exp.config.loop.eval_samples
        return {**quality_2d(exp, state, n), "num_samples": n}
    return ImageScorer(exp, n or exp.config.eval.num_samples, inception_weights)(exp, state)


def gam_runs(loaded_a: tuple, loaded_b: tuple, n: int, seed: int = 0) -> dict:
    """The Generative Adversarial Metric (Varshney19 §4.2.3) of two loaded runs ``(exp, state,
    step)``
    on the same data: A's and B's discriminators on ``n`` real test points (images: the test
    split; 2D: fresh draws) and on ``n`` samples of the other's generator
    (:func:`.metrics.gam.gam`), plus both steps and ``num_samples``."""
    from odegan_jax.experiment import RunError
    from odegan_jax.metrics.gam import gam

    (exp_a, st_a, step_a), (exp_b, st_b, step_b) = loaded_a, loaded_b
    ca, cb = exp_a.config.data, exp_b.config.data
    if (ca.name, ca.image_size) != (cb.name, cb.image_size):
        raise RunError(f"GAM needs two runs on the same data; got {ca.name} and {cb.name}")
    key_test, key_a, key_b = jax.random.split(jax.random.PRNGKey(seed), 3)
    if exp_a.is_2d:
        test = np.asarray(exp_a.dataset.distribution.sample(key_test, n))
    else:
        test = load_images(ca.name, ca.source, ca.path, "test", ca.image_size)[0][:n]
    result = gam(
        lambda x: exp_a.discriminate(st_a.params, st_a.model_state, x),
        lambda x: exp_b.discriminate(st_b.params, st_b.model_state, x),
        test,
        generate(exp_a, st_a, n, key_a),
        generate(exp_b, st_b, n, key_b),
        exp_a.game.loss.logit_sign,
        exp_b.game.loss.logit_sign,
    )
    return {"step_a": step_a, "step_b": step_b, "num_samples": n, **result}
