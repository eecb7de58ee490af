"""Runs one config over several seeds and settings and prints a results table.

    python scripts/sweep.py --config mog16_rk4 --seeds 0,1,2 \
        --set rule.h=0.1,0.2 --set rule.reg_weight=0.02,0.07 --json out.json

Every combination of the --set values is trained for every seed (in-process, no plots);
the table gives final modes covered / HQ share / wall time per run.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from odegan_jax.config import apply_override, load_config  # noqa: E402
from odegan_jax import train  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--config", default="mog16_rk4")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--set", action="append", default=[], metavar="KEY=V1,V2")
    p.add_argument("--fixed", action="append", default=[], metavar="KEY=V")
    p.add_argument("--json")
    args = p.parse_args(argv)
    grid = []
    for item in args.set:
        key, values = item.split("=", 1)
        grid.append([(key, v) for v in values.split(",")])
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
                    row = {"modes": final.get("modes_covered"), "hq": final.get("hq_fraction"),
                           "wall_s": s["wall_time_s"], "retries": s["retries"],
                           "rollbacks": s.get("rollbacks", 0),
                           "params_sha256": s["params_sha256"]}
                    if "final_iterate" in s:  # G's moving average evaluated: the iterate too
                        row["iterate_modes"] = s["final_iterate"]["modes_covered"]
                        row["iterate_hq"] = s["final_iterate"]["hq_fraction"]
                except train.TrainingStopped as e:
                    row = {"modes": None, "hq": None, "wall_s": None, "error": str(e)[:80]}
            row.update({"seed": seed, **{k: v for k, v in combo}})
            results.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
