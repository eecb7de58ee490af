"""Per-mode anatomy of finished 2D runs: where G's samples fall around each mode.

    python -m experiments.mode_anatomy RUN_DIR [RUN_DIR ...] [--steps S,S,..] [--samples 20000]
                                   [--json OUT]

For each mode of the run's mixture (``odegan_jax.metrics.modes.mode_anatomy``): its share of
the samples, the share of those within 3σ (the high-quality rule), and their median distance
to the mean and standard deviations along x and y in units of σ (a mode G hits well has a
median below about 1.2 and small spreads; a mode smeared into a bar has a large one along the
bar). The samples are those of what the run evaluates (G's moving average when the run keeps
one), from the newest checkpoint or each of --steps, at the run's fixed evaluation latents.
BUILD_NOTES, "The main job", uses it on seed 33 of the main job.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from odegan_jax.experiment import load_run
from odegan_jax.metrics.modes import mode_anatomy, mode_metrics


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="+")
    p.add_argument(
        "--steps", default=None, help="checkpoint steps, e.g. 12000,24000 (default: the newest)"
    )
    p.add_argument("--samples", type=int, default=20_000)
    p.add_argument("--json", default=None)
    args = p.parse_args()
    out = {}
    steps = [int(s) for s in args.steps.split(",")] if args.steps else [None]
    for run_dir, want in [(r, s) for r in args.runs for s in steps]:
        exp, state, step = load_run(run_dir, step=want)
        dist = exp.dataset.distribution
        if dist is None or dist.curve is not None:
            raise SystemExit(f"{run_dir}: not a Gaussian-mixture run; the anatomy needs modes")
        x = np.asarray(exp.samples(state, args.samples), np.float64)
        hq = mode_metrics(x, dist)["hq_fraction"]
        modes = mode_anatomy(x, dist)
        out[f"{run_dir}@{step}"] = {
            "step": int(step),
            "samples": args.samples,
            "hq_fraction": hq,
            "modes": modes,
        }
        print(f"{run_dir} (step {step}): HQ {100 * hq:.1f}% of {args.samples} samples")
        print("  mode          share   ≤3σ   median/σ  std_x/σ  std_y/σ")
        for m in modes:
            print(
                f"  ({m['mean'][0]:+.1f}, {m['mean'][1]:+.1f})  {100 * m['share']:5.1f}% "
                f"{100 * m['within']:5.1f}%  {m['median_dist']:7.2f}  {m['std_x']:7.2f}  "
                f"{m['std_y']:7.2f}"
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
