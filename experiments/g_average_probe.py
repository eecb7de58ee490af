"""Probe behind ``rule.g_ema_decay`` (BUILD_NOTES, "The main job"): trains the main job
as it was before G's moving average (``--config.rule.g_ema_decay=0``) and, from the host,
averages G's parameters at the end of every compiled call (100 steps), then scores the last
iterate and three averages with the training logs' fixed latents:

* ``avg_last_phase``: the uniform average over the last phase (steps 36,000–48,000);
* ``ema_tau1000`` / ``ema_tau3000``: exponential averages from step 24,000 with a time
  constant of 1,000 / 3,000 steps (decay 0.9 / 0.967 per call of 100 steps).

    python -m experiments.g_average_probe 1000,1002 out.jsonl

One JSON row per seed is appended to the output. It was used once, on seeds 33 and 108 (the
main job's misses among seeds 0–127) and then on fresh seeds 1000–1031, to decide whether the
main job should evaluate an average; ``rule.g_ema_decay`` now keeps one inside the compiled
step (every step, bias-corrected), which ``odegan_jax/tools/sweep.py`` reports beside the iterate.
"""

from __future__ import annotations

import json
import sys
import tempfile

import jax
import jax.numpy as jnp
import numpy as np

from odegan_jax import scoring, train
from odegan_jax.config import load_config

DECAYS = {"ema_tau1000": 1 - 100 / 1000, "ema_tau3000": 1 - 100 / 3000}


def _host(tree):
    return jax.tree.map(lambda x: np.array(x, np.float64), tree)


def probe(seed: int) -> dict:
    cfg = load_config("mog16_main")
    cfg.seed, cfg.loop.plot, cfg.rule.g_ema_decay = seed, False, 0.0
    acc = {"sum": None, "n": 0, "ema": {}, "exp": None, "state": None}
    original = train.Calls.run

    def run(self, step, n):
        state, metrics, new = original(self, step, n)
        acc["exp"], acc["state"] = self.exp, self.state
        if metrics is not None and new > 24000:
            g = _host(self.state.params["g"])  # a copy: the state's buffers are donated
            if new > 36000:
                acc["sum"] = g if acc["sum"] is None else jax.tree.map(np.add, acc["sum"], g)
                acc["n"] += 1
            for key, d in DECAYS.items():
                e = acc["ema"].get(key)
                acc["ema"][key] = (
                    g if e is None else jax.tree.map(lambda a, b: d * a + (1 - d) * b, e, g)
                )
        return state, metrics, new

    train.Calls.run = run
    try:
        with tempfile.TemporaryDirectory() as workdir:
            summary = train.train(cfg, workdir, echo=lambda *_: None)
    finally:
        train.Calls.run = original
    exp, state = acc["exp"], acc["state"]

    def with_g(g):
        g = jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), g)
        return scoring.quality_2d(exp, state._replace(params={**state.params, "g": g}))

    row = {
        "seed": seed,
        "rollbacks": summary.get("rollbacks", 0),
        "final": scoring.quality_2d(exp, state),
        "avg_last_phase": with_g(jax.tree.map(lambda x: x / acc["n"], acc["sum"])),
    }
    row.update({key: with_g(e) for key, e in acc["ema"].items()})
    return row


def main():
    seeds, out = [int(s) for s in sys.argv[1].split(",")], sys.argv[2]
    for seed in seeds:
        row = probe(seed)
        print(json.dumps(row), flush=True)
        with open(out, "a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
