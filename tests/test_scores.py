"""Scores against closed forms, the shipped classifiers against the real test sets, GAM on
hand-made discriminators."""

from __future__ import annotations

import os

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import linalg

from odegan_jax.data.images import DEBIAN_FASHION_MNIST, load_images
from odegan_jax.game import Game, make_loss
from odegan_jax.metrics import gam as gam_lib
from odegan_jax.metrics import scores
from odegan_jax.metrics.classifier import available, load_classifier
from odegan_jax.models import DiracDiscriminator, DiracGenerator


def _gaussian_fd(mu1, s1, mu2, s2):
    """Closed form: |μ₁−μ₂|² + Tr(Σ₁ + Σ₂ − 2 (Σ₁^½ Σ₂ Σ₁^½)^½), by eigendecompositions."""

    def psd_sqrt(m):
        w, v = np.linalg.eigh(m)
        return (v * np.sqrt(np.clip(w, 0, None))) @ v.T

    r = psd_sqrt(s1)
    return float(
        np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(psd_sqrt(r @ s2 @ r))
    )


def test_frechet_distance_equals_the_gaussian_closed_form():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 5)), rng.normal(size=(5, 5))
    s1, s2 = a @ a.T + 0.1 * np.eye(5), b @ b.T + 0.1 * np.eye(5)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    assert scores.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(
        _gaussian_fd(mu1, s1, mu2, s2), rel=1e-6
    )
    # diagonal case by hand: Σ (σ₁ − σ₂)² in standard deviations
    d1, d2 = np.array([1.0, 4.0]), np.array([9.0, 1.0])
    assert scores.frechet_distance([0, 0], np.diag(d1), [3, 4], np.diag(d2)) == pytest.approx(
        25 + (1 - 3) ** 2 + (2 - 1) ** 2
    )


def test_fid_of_samples_from_two_gaussians_approaches_the_closed_form():
    rng = np.random.default_rng(1)
    mu1, mu2 = np.zeros(3), np.array([1.0, 0.0, -1.0])
    s1, s2 = np.diag([1.0, 2.0, 0.5]), np.array([[1, 0.5, 0], [0.5, 1, 0], [0, 0, 1.0]])
    x = rng.multivariate_normal(mu1, s1, 50_000)
    y = rng.multivariate_normal(mu2, s2, 50_000)
    assert scores.fid_from_features(x, y) == pytest.approx(_gaussian_fd(mu1, s1, mu2, s2), rel=0.03)
    assert abs(scores.fid_from_features(x, x)) < 1e-6


def test_fid_safeguard_on_singular_covariances():
    x = np.random.default_rng(2).normal(size=(50, 3)) @ np.array([[1.0, 1.0, 0.0]]).T
    feats = np.concatenate([x, x, np.zeros_like(x)], axis=1)  # rank-1 covariance
    assert np.isfinite(scores.fid_from_features(feats, feats + 1.0))
    assert linalg.norm(feats) > 0


def test_inception_score_limits():
    uniform_onehot = np.eye(10)[np.arange(1000) % 10]
    assert scores.inception_score(uniform_onehot)[0] == pytest.approx(10.0, rel=1e-6)
    constant = np.tile(np.eye(10)[3], (1000, 1))
    assert scores.inception_score(constant)[0] == pytest.approx(1.0, abs=1e-6)
    flat = np.full((1000, 10), 0.1)  # confident in nothing: 1
    assert scores.inception_score(flat)[0] == pytest.approx(1.0, abs=1e-6)


def test_kid_is_zero_on_one_distribution_and_positive_between_two():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(2000, 8)), rng.normal(size=(2000, 8))
    same, _ = scores.kernel_inception_distance(x, y, subset_size=500)
    diff, _ = scores.kernel_inception_distance(x, y + 0.5, subset_size=500)
    assert abs(same) < 2e-3
    assert diff > 20 * max(abs(same), 1e-4)


@pytest.mark.parametrize("dataset", ["fashion_mnist", "digits"])
def test_shipped_classifier_accuracy_on_the_real_test_set(dataset):
    if dataset not in available():
        pytest.fail(
            f"no shipped classifier for {dataset}: run python -m odegan_jax.tools.train_classifier"
        )
    if dataset == "fashion_mnist" and not os.path.isdir(DEBIAN_FASHION_MNIST):
        pytest.skip("needs apt-get install dataset-fashion-mnist (.ci/run installs it)")
    clf = load_classifier(dataset)
    x, y = load_images(dataset, split="test", image_size=28 if dataset == "digits" else 0)
    probs, feats = clf.apply(x)
    acc = float(np.mean(np.argmax(probs, -1) == y))
    assert acc >= clf.info["test_accuracy"] - 0.005
    assert feats.shape == (len(x), 1024)
    if dataset == "fashion_mnist":
        assert acc >= 0.90
    # the real test set's IS is the ceiling the scores report; it is near the class count
    assert scores.inception_score(probs)[0] > 7.0


def test_gam_accuracies_on_hand_made_discriminators():
    import jax

    game = Game(
        DiracGenerator(), DiracDiscriminator(init_value=1.0), make_loss("non_saturating"), 1
    )
    params, model_state = game.init(jax.random.PRNGKey(0), jnp.zeros((1, 1)))
    d = jax.jit(lambda x: game.discriminate(params, model_state, x))
    # D(x) = x: positive points are called real, negative ones fake
    x = np.array([[1.0], [2.0], [-1.0], [3.0]], np.float32)
    assert gam_lib.d_accuracy(d, x, real=True, logit_sign=game.loss.logit_sign) == 0.75
    assert gam_lib.d_accuracy(d, x, real=False, logit_sign=game.loss.logit_sign) == 0.25
    # the notebook loss's logit is that of P(fake): the same D calls the other side real
    sign = make_loss("notebook").logit_sign
    assert gam_lib.d_accuracy(d, x, real=True, logit_sign=sign) == 0.25
    assert gam_lib.gam_winner(1.0, 0.8) == "A"
    assert gam_lib.gam_winner(1.02, 1.3) == "B"
    assert gam_lib.gam_winner(1.2, 0.5).startswith("undecided")
    # A = this D, B = the same D with the other sign: B is right exactly where A is wrong
    result = gam_lib.gam(d, d, x, x[2:3], x[:2], sign_a=1.0, sign_b=-1.0)
    assert result["accuracies"] == {
        "D_A(x_test)": 0.75,
        "D_B(x_test)": 0.25,
        "D_A(G_B(z))": 0.0,
        "D_B(G_A(z))": 0.0,
    }
