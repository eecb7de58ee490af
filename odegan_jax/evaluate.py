"""Evaluation of trained runs without retraining: scores, GAM, samples, nearest neighbours.

* :func:`load_run`: rebuilds a run's experiment from its ``config.json`` and restores a
  checkpoint (the latest, or a named step).
* :class:`ImageScorer` / :func:`image_scores`: IS, FID and KID in the shipped classifier's
  space (001 Table B.1) on ``n`` samples, next to their ceilings on real data: IS of the real test set, FID and KID of
  the test set against the training set; the same in Inception-v3's space (FID's standard
  network, for 32×32 RGB) when a local weights file is given (:mod:`.metrics.inception`).
* :func:`gam`: the Generative Adversarial Metric (000 §4.2.3) between two runs.
* :func:`nearest_neighbours`: the L2-nearest training image of each of k samples (001 §4.5.4).
"""
from __future__ import annotations

import json
import os
from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from odegan_jax import checkpoints, plots, train
from odegan_jax.data.images import load_images
from odegan_jax.metrics import inception, scores
from odegan_jax.metrics.classifier import load_classifier, weights_path
from odegan_jax.metrics.modes import mode_metrics

GAM_TOLERANCE = 0.05  # r_test counts as ≈ 1 within ±5%


class RunError(RuntimeError):
    """A run directory is missing, incomplete or unreadable."""


def checkpoint_steps(run_dir: str) -> list[int]:
    ckpt = os.path.join(run_dir, "checkpoints")
    if not os.path.isdir(ckpt):
        return []
    return sorted(int(d) for d in os.listdir(ckpt) if d.isdigit())


def load_run(run_dir: str, step: Optional[int] = None):
    """``(experiment, state, step)`` of a run directory."""
    run_dir = os.path.abspath(run_dir)
    path = os.path.join(run_dir, "config.json")
    if not os.path.exists(path):
        raise RunError(f"{run_dir} is not a run directory (no config.json)")
    with open(path, encoding="utf-8") as f:
        config = ml_collections.ConfigDict(json.load(f))
    steps = checkpoint_steps(run_dir)
    if not steps:
        raise RunError(f"{run_dir} has no checkpoints in checkpoints/")
    if step is None:
        step = steps[-1]
    elif step not in steps:
        raise RunError(f"no checkpoint for step {step} in {run_dir}; have {steps}")
    exp = train.build(config)
    target = train.init_state(exp)
    mngr = checkpoints.manager(os.path.join(run_dir, "checkpoints"))
    try:
        state = checkpoints.restore(mngr, step, target)
    finally:
        mngr.close()
    return exp, state, step


def generate(exp, state, n: int, key: jax.Array, batch: int = 500) -> np.ndarray:
    fn = exp.jit_generate
    out = []
    for i, k in enumerate(jax.random.split(key, (n + batch - 1) // batch)):
        m = min(batch, n - i * batch)
        out.append(np.asarray(fn(state.params, state.model_state,
                                 exp.game.sample_latents(k, m))))
    return np.concatenate(out)


def classifier_for(config) -> Optional[str]:
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
    return _Space(apply, info, f_train, {
        "is_real_test": real_is, "is_real_test_std": real_is_std,
        "fid_real_test_vs_train": scores.fid_from_features(f_test, f_train),
        "kid_real_test_vs_train": real_kid})


class ImageScorer:
    """IS / FID / KID of ``n`` samples and the real-data ceilings (see the module doc), in the
    shipped classifier's space and, given Inception weights (argument, else
    ``config.eval.inception_weights``, else ``$ODEGAN_INCEPTION_WEIGHTS``), in Inception-v3's.

    The networks, the real data, their features and the ceilings are loaded and computed once,
    here; each call scores a state's samples only (``loop.score_every`` calls it repeatedly)."""

    def __init__(self, exp, n: int = 10_000, seed: int = 0, inception_weights: str = ""):
        cfg = exp.config
        self.n, self.seed, self.note, self.spaces = int(n), seed, None, {}
        name = classifier_for(cfg)
        weights = inception.resolve_path(inception_weights or cfg.eval.get("inception_weights", ""))
        net = inception.load_inception(weights) if weights else None  # a bad path fails first
        if name is None:
            self.note = f"no shipped classifier for {cfg.data.name!r} at this image size"
            if net is None:
                self.note += f"; Inception scores need weights ({inception.SOURCE})"
                return
        test_x, _ = load_images(cfg.data.name, cfg.data.source, cfg.data.path, "test",
                                cfg.data.image_size)
        train_x = exp.dataset.train
        rng = np.random.default_rng(seed)
        train_x = train_x[rng.choice(len(train_x), min(n, len(train_x)), replace=False)]
        test_x = test_x[:n]
        if name is not None:
            clf = load_classifier(name)
            self.spaces[None] = _space(clf.apply, {
                "classifier": name, "classifier_test_accuracy": clf.info.get("test_accuracy")},
                test_x, train_x)
        if net is not None:
            self.spaces["inception"] = _space(net.apply, {"weights": net.path}, test_x, train_x)

    def __call__(self, exp, state) -> dict:
        if not self.spaces:
            return {"note": self.note}
        fake = generate(exp, state, self.n, jax.random.PRNGKey(self.seed))
        result: dict = {"num_samples": self.n}
        if self.note:
            result["note"] = self.note
        for key, space in self.spaces.items():
            p_fake, f_fake = space.apply(fake)
            is_mean, is_std = scores.inception_score(p_fake, splits=min(10, len(fake)))
            kid, kid_std = scores.kernel_inception_distance(f_fake, space.f_train)
            row = {**space.info, "is": is_mean, "is_std": is_std,
                   "fid": scores.fid_from_features(f_fake, space.f_train),
                   "kid": kid, "kid_std": kid_std, **space.ceilings}
            if key is None:
                result.update(row)
            else:
                result[key] = row
        return result


def image_scores(exp, state, n: int = 10_000, seed: int = 0, inception_weights: str = "") -> dict:
    """One-off :class:`ImageScorer` call."""
    return ImageScorer(exp, n, seed, inception_weights)(exp, state)


def evaluate_run(run_dir: str, step: Optional[int] = None, n: Optional[int] = None,
                 inception_weights: str = "") -> dict:
    exp, state, step = load_run(run_dir, step)
    result = {"run": os.path.abspath(run_dir), "step": step,
              "params_sha256": checkpoints.params_sha256(state.params, state.model_state)}
    if exp.dataset.distribution is not None:
        samples = generate(exp, state, n or exp.config.loop.eval_samples, exp.keys["eval"])
        m = mode_metrics(samples, exp.dataset.distribution,
                         mode_fraction=exp.config.eval.mode_fraction,
                         num_sigmas=exp.config.eval.num_sigmas)
        result.update({k: m[k] for k in ("modes_covered", "num_modes", "hq_fraction")},
                      num_samples=len(samples))
    else:
        result.update(image_scores(exp, state, n or exp.config.eval.num_samples,
                                   inception_weights=inception_weights))
    with open(os.path.join(run_dir, "eval.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    return result


# ------------------------------------------------------------------------------------ GAM

def _d_accuracy(exp, state, x: np.ndarray, real: bool, batch: int = 500) -> float:
    """Share of ``x`` that D classifies correctly (as real when ``real``)."""
    fn = exp.jit_discriminate
    sign = exp.game.loss.logit_sign  # logits of P(real) × sign
    correct = 0
    for i in range(0, len(x), batch):
        logits = np.asarray(fn(state.params, state.model_state, jnp.asarray(x[i:i + batch])))
        says_real = sign * logits > 0
        correct += int(np.sum(says_real if real else ~says_real))
    return correct / len(x)


def gam(run_a: str, run_b: str, n: int = 10_000, seed: int = 0) -> dict:
    """GAM of model A = (G_A, D_A) against model B (000 §4.2.3).

    r_test = Acc(D_B(x_test)) / Acc(D_A(x_test)); r_samples = Acc(D_B(G_A(z))) /
    Acc(D_A(G_B(z))). A wins when r_samples < 1 and r_test ≈ 1 (within ±GAM_TOLERANCE): its
    samples fool B's discriminator more than B's fool A's, while both discriminators are
    equally good on real test data. B wins under the mirrored condition; otherwise a tie.
    """
    exp_a, st_a, step_a = load_run(run_a)
    exp_b, st_b, step_b = load_run(run_b)
    ca, cb = exp_a.config.data, exp_b.config.data
    if (ca.name, ca.image_size) != (cb.name, cb.image_size):
        raise RunError(f"GAM needs two runs on the same data; got {ca.name} and {cb.name}")
    if exp_a.dataset.distribution is not None:
        test = np.asarray(exp_a.dataset.distribution.sample(jax.random.PRNGKey(seed + 1), n))
    else:
        test, _ = load_images(ca.name, ca.source, ca.path, "test", ca.image_size)
        test = test[:n]
    key_a, key_b = jax.random.split(jax.random.PRNGKey(seed))
    g_a, g_b = generate(exp_a, st_a, n, key_a), generate(exp_b, st_b, n, key_b)
    acc = {"D_A(x_test)": _d_accuracy(exp_a, st_a, test, True),
           "D_B(x_test)": _d_accuracy(exp_b, st_b, test, True),
           "D_A(G_B(z))": _d_accuracy(exp_a, st_a, g_b, False),
           "D_B(G_A(z))": _d_accuracy(exp_b, st_b, g_a, False)}
    r_test = acc["D_B(x_test)"] / max(acc["D_A(x_test)"], 1e-12)
    r_samples = acc["D_B(G_A(z))"] / max(acc["D_A(G_B(z))"], 1e-12)
    return {"run_a": os.path.abspath(run_a), "run_b": os.path.abspath(run_b),
            "step_a": step_a, "step_b": step_b, "num_samples": n, "accuracies": acc,
            "r_test": r_test, "r_samples": r_samples, "tolerance": GAM_TOLERANCE,
            "winner": gam_winner(r_test, r_samples)}


def gam_winner(r_test: float, r_samples: float, tol: float = GAM_TOLERANCE) -> str:
    if abs(r_test - 1.0) > tol:
        return "undecided (r_test not ≈ 1: the discriminators differ on real data)"
    if r_samples < 1.0:
        return "A"
    if r_samples > 1.0:
        return "B"
    return "tie"


# ------------------------------------------------------------------- nearest neighbours

def nearest_neighbours(exp, state, k: int, path: str, seed: int = 0) -> list[float]:
    """PNG of k samples (left) next to their L2-nearest training images; returns distances."""
    if exp.dataset.train is None or exp.dataset.distribution is not None:
        raise RunError("nearest neighbours need an image training set")
    samples = generate(exp, state, k, jax.random.PRNGKey(seed))
    train_x = exp.dataset.train
    flat_s = samples.reshape(k, -1).astype(np.float32)
    best = np.full(k, np.inf)
    idx = np.zeros(k, np.int64)
    for i in range(0, len(train_x), 5000):
        chunk = train_x[i:i + 5000].reshape(-1, flat_s.shape[1])
        d2 = (np.sum(flat_s ** 2, 1)[:, None] - 2 * flat_s @ chunk.T
              + np.sum(chunk ** 2, 1)[None, :])
        j = np.argmin(d2, axis=1)
        better = d2[np.arange(k), j] < best
        best = np.where(better, d2[np.arange(k), j], best)
        idx = np.where(better, i + j, idx)
    dists = np.sqrt(np.maximum(best, 0.0))
    plots.save_neighbour_grid(path, samples, train_x[idx], dists)
    return [float(d) for d in dists]
