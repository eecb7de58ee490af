"""Sample-quality scores in a classifier's space: Inception Score, Fréchet distance, KID.

* :func:`inception_score`: exp(E_x KL(p(y|x) ‖ p(y))), mean ± std over ``splits`` equal splits
  (Salimans et al.; Yamazaki17 §4.5.3).
* :func:`frechet_distance`: ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^{1/2}), the matrix square root
  by ``scipy.linalg.sqrtm``; when the product is singular its square root is retried with
  ε·I added to both covariances, and a negligible imaginary part (numerical noise) is dropped.
* :func:`kernel_inception_distance`: the unbiased MMD² with the cubic polynomial kernel
  k(x, y) = (xᵀy / d + 1)³, mean ± std over random subsets (Bińkowski et al.).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg


def inception_score(probs: np.ndarray, splits: int = 10) -> tuple[float, float]:
    probs = np.asarray(probs, np.float64)
    if probs.ndim != 2 or len(probs) < splits:
        raise ValueError(
            f"need [N, classes] probabilities with N ≥ splits={splits}, got shape {probs.shape}"
        )
    scores = []
    for part in np.array_split(probs, splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = part * (np.log(part + 1e-12) - np.log(marginal + 1e-12))
        scores.append(np.exp(kl.sum(axis=1).mean()))
    return float(np.mean(scores)), float(np.std(scores))


def statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[d]`` and covariance ``[d, d]`` of ``[n, d]`` features (n ≥ 2; below d + 1
    samples the covariance is singular and the FID biased: a warning says so)."""
    features = np.asarray(features, np.float64)
    n, d = features.shape
    if n < 2:
        raise ValueError(
            f"FID needs at least 2 samples per set for a covariance, got {n}; "
            f"score more samples (--n / config.eval.num_samples)"
        )
    if n <= d:
        warnings.warn(
            f"FID from {n} samples of {d} features: the covariance is singular "
            f"and the score is biased upwards; use more than {d} samples",
            stacklevel=2,
        )
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6
) -> float:
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError("the two feature statistics have different dimensions")
    diff = mu1 - mu2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1.dot(sigma2))
        if not np.isfinite(covmean).all():
            offset = np.eye(sigma1.shape[0]) * eps
            covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(
                f"sqrtm has a large imaginary component {np.max(np.abs(covmean.imag)):.3g}"
            )
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def fid_from_features(f1: np.ndarray, f2: np.ndarray) -> float:
    return frechet_distance(*statistics(f1), *statistics(f2))


def kernel_inception_distance(
    f1: np.ndarray, f2: np.ndarray, subsets: int = 10, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    f1, f2 = np.asarray(f1, np.float64), np.asarray(f2, np.float64)
    d = f1.shape[1]
    m = min(subset_size, len(f1), len(f2))
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(subsets):
        x = f1[rng.choice(len(f1), m, replace=False)]
        y = f2[rng.choice(len(f2), m, replace=False)]
        kxx = (x @ x.T / d + 1) ** 3
        kyy = (y @ y.T / d + 1) ** 3
        kxy = (x @ y.T / d + 1) ** 3
        mmd = (
            (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
            + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
            - 2 * kxy.mean()
        )
        values.append(mmd)
    return float(np.mean(values)), float(np.std(values))
