"""PNG plots of runs.

Figures are ``matplotlib.figure.Figure`` objects saved directly (no pyplot, no global backend
switch): they render without a display and leave a notebook's backend alone.
:func:`write_run_plots` draws a run's ``curves.png`` and ``samples.png``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import jax.numpy as jnp
import numpy as np

from odegan_jax.logs import columns, format_row, read_metrics

if TYPE_CHECKING:
    from odegan_jax.experiment import Experiment
    from odegan_jax.rules import TrainState


def gaussian_kde_on_grid(samples: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Gaussian KDE of 2D ``samples`` on the grid ``xs`` × ``ys`` (evenly spaced, ``[len(xs),
    len(ys)]``), with the bandwidth of ``scipy.stats.gaussian_kde`` (Scott's rule on the
    samples' covariance).

    The samples are binned onto the grid (extended by 4 bandwidths so that points just outside
    still add their tails) and the bins are convolved with the kernel by FFT: O(grid · log grid)
    instead of scipy's O(samples · grid), and equal to it up to the binning (half a grid cell).
    When 4 bandwidths span many grid widths (samples spread far beyond the plot, as a dead
    generator's can be) that padded grid would be huge, and scipy's exact sum on the grid's
    own points is computed instead.
    """
    n = len(samples)
    cov = np.cov(samples.T) * n ** (-2.0 / 6.0)  # Scott's factor n^(-1/(d+4)), squared, d = 2
    dx, dy = xs[1] - xs[0], ys[1] - ys[0]
    px = int(np.ceil(4 * np.sqrt(cov[0, 0]) / dx))
    py = int(np.ceil(4 * np.sqrt(cov[1, 1]) / dy))
    nx, ny = len(xs) + 2 * px, len(ys) + 2 * py
    if nx * ny > 16 * len(xs) * len(ys):
        from scipy.stats import gaussian_kde

        xx, yy = np.meshgrid(xs, ys, indexing="ij")
        return gaussian_kde(samples.T)(np.vstack([xx.ravel(), yy.ravel()])).reshape(xx.shape)
    ix = np.rint((samples[:, 0] - xs[0]) / dx).astype(np.int64) + px
    iy = np.rint((samples[:, 1] - ys[0]) / dy).astype(np.int64) + py
    inside = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    counts = np.zeros((nx, ny))
    np.add.at(counts, (ix[inside], iy[inside]), 1.0)
    # the kernel on the zero-padded (2nx, 2ny) grid at wrapped offsets 0, 1, …, -1 cells:
    # the circular convolution then holds every offset of the grid, with no wrap-around
    ox = np.fft.fftfreq(2 * nx, 1.0 / (2 * nx)) * dx
    oy = np.fft.fftfreq(2 * ny, 1.0 / (2 * ny)) * dy
    d = np.stack(np.meshgrid(ox, oy, indexing="ij"), axis=-1)
    kernel = np.exp(-0.5 * np.einsum("...i,ij,...j->...", d, np.linalg.inv(cov), d))
    kernel /= 2 * np.pi * np.sqrt(np.linalg.det(cov)) * n
    shape = kernel.shape
    density = np.fft.irfft2(np.fft.rfft2(counts, shape) * np.fft.rfft2(kernel), shape)
    return density[px : px + len(xs), py : py + len(ys)]


def plot_samples_2d(
    path: str,
    samples: np.ndarray,
    modes: np.ndarray,
    *,
    d_grid: np.ndarray | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    title: str = "",
) -> None:
    """Generated samples as a KDE (filled contours), D's output as contour lines, modes as
    crosses. ``d_grid`` is ``(xx, yy, values)`` on a meshgrid or None."""
    from matplotlib.figure import Figure  # lazy: 0.5 s of import a run needs only at the end

    samples = np.asarray(samples)
    samples = samples[np.all(np.isfinite(samples), axis=1)]
    if bbox is None:
        lo, hi = modes.min(axis=0), modes.max(axis=0)
        pad = 0.3 * max(hi - lo) + 0.5
        bbox = (lo[0] - pad, hi[0] + pad, lo[1] - pad, hi[1] + pad)
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    xs, ys = np.linspace(bbox[0], bbox[1], 200), np.linspace(bbox[2], bbox[3], 200)
    if len(samples) > 2 and np.all(np.std(samples, axis=0) > 1e-8):
        xx, yy = np.meshgrid(xs, ys, indexing="ij")
        ax.contourf(xx, yy, gaussian_kde_on_grid(samples, xs, ys), levels=20, cmap="Blues")
    else:
        ax.scatter(samples[:2000, 0], samples[:2000, 1], s=2, alpha=0.3)
    if d_grid is not None:
        gx, gy, gv = d_grid
        ax.contour(gx, gy, gv, levels=15, colors="k", linewidths=0.6, alpha=0.5)
    ax.scatter(modes[:, 0], modes[:, 1], marker="x", c="red", s=20, linewidths=1)
    ax.set_xlim(bbox[0], bbox[1])
    ax.set_ylim(bbox[2], bbox[3])
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def plot_training_curves(path: str, rows: list[dict]) -> None:
    """Losses, D(x) / D(G(z)) and (if logged) modes covered / HQ share over steps."""
    from matplotlib.figure import Figure  # lazy: 0.5 s of import a run needs only at the end

    panels = [("losses", ["loss_d", "loss_g"]), ("discriminator", ["d_real", "d_fake"])]
    if any("modes_covered" in r for r in rows):
        panels.append(("2D quality", ["modes_covered", "hq_fraction"]))
    if any("fid" in r for r in rows):  # loop.score_every
        panels.append(("image scores", ["fid", "is"]))
    if any("inception_fid" in r for r in rows):  # ... with an Inception weights file
        panels.append(("Inception scores", ["inception_fid", "inception_is"]))
    if any("nfe_g" in r for r in rows):
        panels.append(("NFE per call", ["nfe_g", "nfe_d"]))
    fig = Figure(figsize=(4.5 * len(panels), 3.5))
    axes = fig.subplots(1, len(panels))
    axes = np.atleast_1d(axes)
    for ax, (title, keys) in zip(axes, panels):
        twin = None
        for i, key in enumerate(keys):
            steps, values = columns(rows, key)
            if not steps:
                continue
            target = ax
            if (title, key) in (
                ("2D quality", "hq_fraction"),
                ("image scores", "is"),
                ("Inception scores", "inception_is"),
            ):
                twin = twin or ax.twinx()
                target = twin
            target.plot(steps, values, label=key, color=f"C{i}")
            target.set_ylabel(
                key if title in ("2D quality", "image scores", "Inception scores") else ""
            )
        ax.set_title(title)
        ax.set_xlabel("step")
        handles = ax.get_legend_handles_labels()
        if twin is not None:
            extra = twin.get_legend_handles_labels()
            handles = (handles[0] + extra[0], handles[1] + extra[1])
        if handles[0]:
            ax.legend(*handles, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def image_grid(images: np.ndarray, ncols: int = 0, pad: int = 1) -> np.ndarray:
    """NHWC images in [−1, 1] → one uint8 HWC grid (``ncols`` 0: square-ish)."""
    images = np.asarray(images, np.float32)
    n, h, w, c = images.shape
    ncols = ncols or int(np.ceil(np.sqrt(n)))
    nrows = int(np.ceil(n / ncols))
    grid = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad, c), 255, np.uint8)
    pixels = np.clip((images + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)
    for i in range(n):
        r, col = divmod(i, ncols)
        grid[
            pad + r * (h + pad) : pad + r * (h + pad) + h,
            pad + col * (w + pad) : pad + col * (w + pad) + w,
        ] = pixels[i]
    return grid[..., 0] if c == 1 else grid


def save_image_grid(path: str, images: np.ndarray, ncols: int = 0, scale: int = 2) -> None:
    """Writes a PNG grid of NHWC images in [−1, 1] (nearest-neighbour upscaled by ``scale``)."""
    from PIL import Image

    grid = image_grid(images, ncols)
    img = Image.fromarray(grid)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    img.save(path)


def save_neighbour_grid(
    path: str, samples: np.ndarray, neighbours: np.ndarray, distances: np.ndarray
) -> None:
    """Rows of (generated sample | nearest training image), each titled with the L2 distance."""
    from matplotlib.figure import Figure  # lazy: 0.5 s of import a run needs only at the end

    k = len(samples)
    fig = Figure(figsize=(3.0, 1.5 * k))
    axes = fig.subplots(k, 2, squeeze=False)
    for i in range(k):
        for j, (img, title) in enumerate(
            ((samples[i], "sample"), (neighbours[i], f"nearest, L2 {distances[i]:.2f}"))
        ):
            ax = axes[i, j]
            pixels = np.clip((np.asarray(img) + 1.0) / 2.0, 0.0, 1.0)
            ax.imshow(
                pixels[..., 0] if pixels.shape[-1] == 1 else pixels, cmap="gray", vmin=0, vmax=1
            )
            ax.set_title(title, fontsize=7)
            ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def discriminator_grid(
    exp: Experiment, state: TrainState, bbox: tuple[float, float, float, float], n: int
) -> tuple:
    """``(xx, yy, values)``: D's output on an n × n meshgrid over ``bbox`` (x0, x1, y0, y1)."""
    xx, yy = np.meshgrid(np.linspace(bbox[0], bbox[1], n), np.linspace(bbox[2], bbox[3], n))
    grid = jnp.asarray(np.stack([xx.ravel(), yy.ravel()], axis=1), jnp.float32)
    values = np.asarray(exp.discriminate(state.params, state.model_state, grid))
    return xx, yy, values.reshape(xx.shape)


def write_run_plots(exp: Experiment, state: TrainState, workdir: str) -> None:
    """``curves.png`` from ``metrics.jsonl``; ``samples.png``: for 2D data, G at the fixed
    evaluation latents over a KDE with D's contours and the modes, for images a grid of G at
    the fixed latents. ``exp`` is an :class:`~odegan_jax.experiment.Experiment`."""
    rows = read_metrics(os.path.join(workdir, "metrics.jsonl"))
    plot_training_curves(os.path.join(workdir, "curves.png"), rows)
    dist = exp.dataset.distribution
    if dist is None:
        save_image_grid(
            os.path.join(workdir, "samples.png"), exp.samples(state, exp.config.loop.sample_grid)
        )
        return
    samples = exp.samples(state, exp.config.loop.eval_samples)
    lo, hi = dist.modes.min(axis=0), dist.modes.max(axis=0)
    pad = 0.3 * float(np.max(hi - lo)) + 0.5
    bbox = (lo[0] - pad, hi[0] + pad, lo[1] - pad, hi[1] + pad)
    xx, yy, logits = discriminator_grid(exp, state, bbox, 80)
    title = f"{exp.config.name} seed {exp.config.seed}, step {int(state.step)}" + (
        f"\n{format_row(rows[-1])}" if rows and "loss_d" in rows[-1] else ""
    )
    plot_samples_2d(
        os.path.join(workdir, "samples.png"),
        samples,
        dist.modes,
        d_grid=(xx, yy, logits),
        bbox=bbox,
        title=title,
    )
