"""Runs one config over several seeds and settings and prints a results table.

    python -m odegan_jax.tools.sweep --config mog16_rk4 --seeds 0,1,2 \
        --set rule.h=0.1,0.2 --set rule.reg_weight=0.02,0.07 --json out.json

Every combination of the --set values is trained for every seed (in-process, no plots);
the table gives final modes covered / HQ share / wall time per run. --at 48000 adds the modes /
HQ of the row logged at step 48,000 (one run of a longer schedule then gives a shorter one's
result too, when the two agree up to that step).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import tempfile

from odegan_jax import train
from odegan_jax.config import apply_override, load_config


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--config", default="mog16_rk4")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--set", action="append", default=[], metavar="KEY=V1,V2")
    p.add_argument("--fixed", action="append", default=[], metavar="KEY=V")
    p.add_argument(
        "--at",
        default="",
        metavar="STEP[,STEP]",
        help="also record modes / HQ of the rows logged at these steps",
    )
    p.add_argument("--json")
    args = p.parse_args(argv)
    grid = []
    for item in args.set:
        key, values = item.split("=", 1)
        grid.append([(key, v) for v in values.split(",")])
    at_steps = [int(v) for v in args.at.split(",") if v]
    results = []
    for combo in itertools.product(*grid) if grid else [()]:
        for seed in [int(s) for s in args.seeds.split(",")]:
            config = load_config(args.config)
            for item in args.fixed:
                apply_override(config, *item.split("=", 1))
            for key, value in combo:
                apply_override(config, key, value)
            config.seed = seed
            config.loop.plot = False
            with tempfile.TemporaryDirectory() as workdir:
                try:
                    s = train.train(config, workdir, echo=lambda *_: None, progress=False)
                    final = s["final"]
                    row = {
                        "modes": final.get("modes_covered"),
                        "hq": final.get("hq_fraction"),
                        "wall_s": s["wall_time_s"],
                        "retries": s["retries"],
                        "rollbacks": s.get("rollbacks", 0),
                        "params_sha256": s["params_sha256"],
                    }
                    if "final_iterate" in s:  # G's moving average evaluated: the iterate too
                        row["iterate_modes"] = s["final_iterate"]["modes_covered"]
                        row["iterate_hq"] = s["final_iterate"]["hq_fraction"]
                    if at_steps:
                        row.update(_rows_at(workdir, at_steps))
                except train.TrainingStopped as e:
                    row = {"modes": None, "hq": None, "wall_s": None, "error": str(e)[:80]}
            row.update({"seed": seed, **{k: v for k, v in combo}})
            results.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


def _rows_at(workdir, steps):
    """``{"at_STEP": {"modes": .., "hq": ..}}`` from the run's metrics.jsonl (None where the run
    logged no evaluation at that step)."""
    found = {f"at_{step}": None for step in steps}
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("step") in steps and "hq_fraction" in rec:
                found[f"at_{rec['step']}"] = {
                    "modes": rec["modes_covered"],
                    "hq": rec["hq_fraction"],
                }
    return found


if __name__ == "__main__":
    main()
