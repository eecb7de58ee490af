"""The Generative Adversarial Metric (GAM, Varshney19 §4.2.3 after Im et al. 2016): two GANs judged
by
each other's discriminators. Pure: arrays and callables in, numbers out.

With models A = (G_A, D_A) and B = (G_B, D_B):
``r_test = Acc(D_B(x_test)) / Acc(D_A(x_test))`` and
``r_samples = Acc(D_B(G_A(z))) / Acc(D_A(G_B(z)))``. A wins when r_samples < 1 (its samples fool
B's discriminator more than B's fool A's) while r_test ≈ 1 (both discriminators are equally
good on real test data); B wins under the mirrored condition; otherwise it is undecided or a tie.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

GAM_TOLERANCE = 0.05  # r_test counts as ≈ 1 within ±5%


def d_accuracy(
    discriminate: Callable, x: np.ndarray, real: bool, logit_sign: float = 1.0, batch: int = 500
) -> float:
    """Share of ``x`` (``[N, ...]``) that a discriminator classifies correctly: as real when
    ``real``, else as fake. ``discriminate(x_batch) -> logits [b]``, P(real) = σ(sign·logit)."""
    correct = 0
    for i in range(0, len(x), batch):
        says_real = logit_sign * np.asarray(discriminate(x[i : i + batch])) > 0
        correct += int(np.sum(says_real if real else ~says_real))
    return correct / len(x)


def gam_winner(r_test: float, r_samples: float, tol: float = GAM_TOLERANCE) -> str:
    """ "A", "B", "tie" or "undecided (...)" from the two ratios (see the module doc)."""
    if abs(r_test - 1.0) > tol:
        return "undecided (r_test not ≈ 1: the discriminators differ on real data)"
    if r_samples < 1.0:
        return "A"
    if r_samples > 1.0:
        return "B"
    return "tie"


def gam(
    discriminate_a: Callable,
    discriminate_b: Callable,
    test: np.ndarray,
    samples_a: np.ndarray,
    samples_b: np.ndarray,
    sign_a: float = 1.0,
    sign_b: float = 1.0,
) -> dict:
    """The four accuracies, both ratios and the winner of A against B.

    test: real test data ``[N, ...]``; samples_a / samples_b: ``G_A(z)`` / ``G_B(z)``."""
    acc = {
        "D_A(x_test)": d_accuracy(discriminate_a, test, True, sign_a),
        "D_B(x_test)": d_accuracy(discriminate_b, test, True, sign_b),
        "D_A(G_B(z))": d_accuracy(discriminate_a, samples_b, False, sign_a),
        "D_B(G_A(z))": d_accuracy(discriminate_b, samples_a, False, sign_b),
    }
    r_test = acc["D_B(x_test)"] / max(acc["D_A(x_test)"], 1e-12)
    r_samples = acc["D_B(G_A(z))"] / max(acc["D_A(G_B(z))"], 1e-12)
    return {
        "accuracies": acc,
        "r_test": r_test,
        "r_samples": r_samples,
        "tolerance": GAM_TOLERANCE,
        "winner": gam_winner(r_test, r_samples),
    }
