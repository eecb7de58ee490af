"""2D distributions, the minibatch stream and the mode metrics."""

from __future__ import annotations

import math

import jax
import ml_collections
import numpy as np
import pytest

from odegan_jax.data import get_batches, make_dataset, synthetic
from odegan_jax.metrics.modes import mode_anatomy, mode_metrics

P_WITHIN_3_SIGMA = 1 - math.exp(-4.5)  # isotropic 2D Gaussian: P(‖x - μ‖ ≤ 3σ)


def _data_config(name, num_train=0, stratified=False):
    return ml_collections.ConfigDict(
        {"name": name, "num_train": num_train, "stratified": stratified, "noise": 0.2}
    )


def test_mog16_means_are_the_notebook_grid():
    means = synthetic.mog16_means()
    assert means.shape == (16, 2)
    assert sorted(set(means[:, 0])) == [-1.5, -0.5, 0.5, 1.5]
    assert len({tuple(m) for m in means}) == 16
    np.testing.assert_array_equal(means[:4], [[1.5, 1.5], [1.5, 0.5], [1.5, -0.5], [1.5, -1.5]])


@pytest.mark.parametrize(
    "name,k,std", [("mog8", 8, 0.02), ("mog25", 25, 0.05), ("mog16", 16, 0.02)]
)
def test_mixture_samples(name, k, std):
    dist = synthetic.make_distribution(name)
    x = np.asarray(dist.sample(jax.random.PRNGKey(0), 20_000))
    assert x.shape == (20_000, 2) and x.dtype == np.float32
    nearest = np.argmin(((x[:, None] - dist.modes[None]) ** 2).sum(-1), axis=1)
    counts = np.bincount(nearest, minlength=k)
    assert counts.min() > 0.8 * 20_000 / k
    resid = x - dist.modes[nearest]
    assert abs(resid.std() - std) < 0.05 * std


def test_stratified_batches_tile_the_means_in_order():
    dist = synthetic.make_distribution("mog16", stratified=True)
    x = np.asarray(dist.sample(jax.random.PRNGKey(0), 48))
    assert np.abs(x - np.tile(dist.modes, (3, 1))).max() < 0.15


def test_swiss_roll_geometry():
    dist = synthetic.make_distribution("swiss_roll")
    x = np.asarray(dist.sample(jax.random.PRNGKey(0), 5000))
    assert abs(x.mean(axis=0)).max() < 0.4  # centred near the origin
    r = np.hypot(*(x * synthetic.SWISS_ROLL_SCALE).T)
    assert 1.5 * np.pi - 1 < r.min() and r.max() < 4.5 * np.pi + 1  # t ∈ [1.5π, 4.5π]


def test_sampling_is_deterministic_in_the_key():
    dist = synthetic.make_distribution("mog8")
    a, b = dist.sample(jax.random.PRNGKey(1), 64), dist.sample(jax.random.PRNGKey(1), 64)
    c = dist.sample(jax.random.PRNGKey(2), 64)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_infinite_stream_is_a_function_of_the_step():
    ds = make_dataset(_data_config("mog8"), jax.random.PRNGKey(0))
    key = jax.random.PRNGKey(5)
    b3 = get_batches(ds, key, 3, 2, 16)
    assert b3.shape == (2, 16, 2)
    np.testing.assert_array_equal(b3, get_batches(ds, key, 3, 2, 16))
    assert not np.array_equal(b3, get_batches(ds, key, 4, 2, 16))


def test_finite_stream_visits_every_sample_once_per_epoch():
    ds = make_dataset(_data_config("mog25", num_train=96), jax.random.PRNGKey(0))
    key = jax.random.PRNGKey(5)
    seen = np.concatenate([np.asarray(get_batches(ds, key, s, 1, 32))[0] for s in range(3)])
    rows = {tuple(r) for r in seen}
    assert len(rows) == 96 and rows == {tuple(r) for r in ds.train}
    next_epoch = np.asarray(get_batches(ds, key, 3, 1, 32))[0]
    assert not np.array_equal(next_epoch, seen[:32])  # reshuffled


def test_unknown_dataset():
    with pytest.raises(
        ValueError, match="config.data.name: .* choose one of: mog8, mog25, mog16, swiss_roll"
    ):
        make_dataset(_data_config("mnist3d"), jax.random.PRNGKey(0))


# ------------------------------------------------------------------- mode metrics


@pytest.mark.parametrize("name", ["mog8", "mog25", "mog16"])
def test_real_mixture_data_scores_the_closed_form_ceiling(name):
    dist = synthetic.make_distribution(name)
    m = mode_metrics(np.asarray(dist.sample(jax.random.PRNGKey(0), 10_000)), dist)
    assert m["modes_covered"] == m["num_modes"] == len(dist.modes)
    assert abs(m["hq_fraction"] - P_WITHIN_3_SIGMA) < 0.004


def test_real_swiss_roll_is_mostly_high_quality_and_covers_all_arcs():
    dist = synthetic.make_distribution("swiss_roll")
    m = mode_metrics(np.asarray(dist.sample(jax.random.PRNGKey(0), 10_000)), dist)
    assert m["modes_covered"] == 16
    assert m["hq_fraction"] > 0.97  # distance to the curve is at most the 2D noise radius


def test_collapsed_and_off_mode_samples():
    dist = synthetic.make_distribution("mog16")
    one_mode = np.tile(dist.modes[3], (1000, 1)) + 0.001
    m = mode_metrics(one_mode, dist)
    assert m["modes_covered"] == 1 and m["hq_fraction"] == 1.0
    between = np.zeros((1000, 2))  # the origin is 0.71 from every mean: 35σ away
    m = mode_metrics(between, dist)
    assert m["modes_covered"] == 0 and m["hq_fraction"] == 0.0
    m = mode_metrics(np.full((10, 2), np.nan), dist)
    assert m["hq_fraction"] == 0.0


def test_mode_anatomy_of_real_data_and_of_a_smeared_mode():
    """Real mog16 samples against the isotropic 2D Gaussian's closed forms (P(r ≤ 3σ), median
    radius σ√(2 ln 2), per-axis spread σ); then one mode replaced by a bar along x, uniform on
    ±10σ through its mean: 30% within 3σ, median 5σ, spread 20σ/√12 along x and 0 along y."""
    dist = synthetic.make_distribution("mog16")
    x = np.asarray(dist.sample(jax.random.PRNGKey(1), 64_000), np.float64)
    a = mode_anatomy(x, dist)
    assert [m["mean"] for m in a] == dist.modes.tolist()
    assert abs(sum(m["share"] for m in a) - 1) < 1e-9
    for m in a:
        assert abs(m["share"] - 1 / 16) < 0.006
        assert abs(m["within"] - P_WITHIN_3_SIGMA) < 0.006
        assert abs(m["median_dist"] - math.sqrt(2 * math.log(2))) < 0.04
        assert abs(m["std_x"] - 1) < 0.04 and abs(m["std_y"] - 1) < 0.04
    k = 5
    bar = dist.modes[k] + np.stack(
        [np.linspace(-10, 10, 10_001) * dist.std, np.zeros(10_001)], axis=1
    )
    rest = x[np.argmin(((x[:, None] - dist.modes[None]) ** 2).sum(-1), axis=1) != k]
    b = mode_anatomy(np.concatenate([rest, bar, np.full((7, 2), np.nan)]), dist)
    assert abs(b[k]["within"] - 0.3) < 1e-3 and abs(b[k]["median_dist"] - 5) < 1e-2
    assert abs(b[k]["std_x"] - 20 / math.sqrt(12)) < 1e-2 and b[k]["std_y"] == 0
    assert abs(b[k]["share"] - 10_001 / (len(rest) + 10_001)) < 1e-12  # NaN rows left out
    assert {**b[0], "share": None} == {**a[0], "share": None}  # other modes unchanged
    with pytest.raises(ValueError, match="Gaussian mixture"):
        mode_anatomy(x, synthetic.make_distribution("swiss_roll"))


def test_coverage_threshold_is_one_percent_of_samples():
    dist = synthetic.make_distribution("mog8")
    x = np.concatenate([np.tile(dist.modes[0], (990, 1)), np.tile(dist.modes[1], (10, 1))])
    assert mode_metrics(x, dist)["modes_covered"] == 2  # 10 of 1000 = 1%
    x = np.concatenate([np.tile(dist.modes[0], (991, 1)), np.tile(dist.modes[1], (9, 1))])
    assert mode_metrics(x, dist)["modes_covered"] == 1


def test_the_samples_plot_kde_equals_scipys_gaussian_kde():
    """samples.png's density (binned FFT convolution) against scipy.stats.gaussian_kde's exact
    sum over samples, with points outside the grid that still add their tails."""
    from scipy.stats import gaussian_kde

    from odegan_jax.plots import gaussian_kde_on_grid

    rng = np.random.default_rng(0)
    modes = np.array([(i, j) for i in (-3, -1, 1, 3) for j in (-3, -1, 1, 3)], float)
    s = modes[rng.integers(0, 16, 3000)] + 0.05 * rng.standard_normal((3000, 2))
    s[:100] = rng.uniform(-6, 6, (100, 2))  # some mass off the grid
    xs, ys = np.linspace(-4.5, 4.5, 200), np.linspace(-4.0, 5.0, 150)
    ours = gaussian_kde_on_grid(s, xs, ys)
    xx, yy = np.meshgrid(xs, ys, indexing="ij")
    exact = gaussian_kde(s.T)(np.vstack([xx.ravel(), yy.ravel()])).reshape(xx.shape)
    assert ours.shape == exact.shape == (200, 150)
    np.testing.assert_allclose(ours, exact, atol=5e-3 * exact.max())


def test_the_samples_plot_kde_of_samples_spread_far_beyond_the_grid():
    """A dead generator's samples can spread to ~1e4 (the main job, seed 11 of a 2×50 variant):
    4 bandwidths then span ~10^5 grid cells, and the padded FFT grid would need hundreds of GiB.
    The density must still equal scipy.stats.gaussian_kde's on the plotted grid."""
    from scipy.stats import gaussian_kde

    from odegan_jax.plots import gaussian_kde_on_grid

    rng = np.random.default_rng(1)
    s = np.concatenate([0.05 * rng.standard_normal((900, 2)), 1e4 * rng.standard_normal((100, 2))])
    xs, ys = np.linspace(-3.0, 3.0, 200), np.linspace(-3.0, 3.0, 200)
    ours = gaussian_kde_on_grid(s, xs, ys)
    xx, yy = np.meshgrid(xs, ys, indexing="ij")
    exact = gaussian_kde(s.T)(np.vstack([xx.ravel(), yy.ravel()])).reshape(xx.shape)
    np.testing.assert_allclose(ours, exact, rtol=1e-6)
