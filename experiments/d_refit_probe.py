"""Can the run's discriminator see what G gets wrong? D refitted against a frozen G.

    python -m experiments.d_refit_probe RUN_DIR [RUN_DIR ...] [--steps 3000] [--lr 1e-3]
        [--json OUT]

From a 2D run's newest checkpoint, G (the iterate that D trained against) is frozen and D
(the same network, starting from the run's D) is trained alone with Adam on the
cross-entropy of real against G's samples, fresh batches of 512 each per step, for --steps
steps. Before and after, on 20,000 fresh real and 20,000 fresh fake points, per mode (points
assigned to their nearest mean): the accuracy of D's sign (real > 0, fake < 0) and the mean
logit on real and on fake points. At the run's end D is near 0.5 everywhere (the joint
dynamics' equilibrium); if the refitted D separates the fakes of a mode that G smears, the
network can represent what G gets wrong and the joint training does not use it; if it
cannot, D's capacity is the limit. BUILD_NOTES, "The main job", uses it on seed 33.
"""

from __future__ import annotations

import argparse
import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
from scipy.spatial import cKDTree

from odegan_jax.experiment import load_run

BATCH, EVAL = 512, 20_000


def per_mode(exp, params, model_state, real, fake, modes) -> list:
    tree = cKDTree(modes)
    lr = np.asarray(exp.discriminate(params, model_state, real))
    lf = np.asarray(exp.discriminate(params, model_state, fake))
    kr, kf = tree.query(real)[1], tree.query(fake)[1]
    rows = []
    for i in range(len(modes)):
        r, f = lr[kr == i], lf[kf == i]
        rows.append(
            {
                "mean": modes[i].tolist(),
                "accuracy": float(((r > 0).sum() + (f < 0).sum()) / max(len(r) + len(f), 1)),
                "logit_real": float(r.mean()) if len(r) else None,
                "logit_fake": float(f.mean()) if len(f) else None,
            }
        )
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="+")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--json", default=None)
    args = p.parse_args()
    out = {}
    for run_dir in args.runs:
        exp, state, step = load_run(run_dir)
        dist, game = exp.dataset.distribution, exp.game
        params, ms = state.params, state.model_state
        key = jax.random.PRNGKey(12345)
        k_real, k_fake, key = jax.random.split(key, 3)
        real = np.asarray(dist.sample(k_real, EVAL))
        fake = np.asarray(exp.generate(params, ms, game.sample_latents(k_fake, EVAL)))
        before = per_mode(exp, params, ms, real, fake, dist.modes)

        def loss(d, key):
            kr, kz = jax.random.split(key)
            x = dist.sample(kr, BATCH)
            g = jax.lax.stop_gradient(game.generate(params, ms, game.sample_latents(kz, BATCH)))
            both = {"d": d, "g": params["g"]}
            lr_, lf_ = game.discriminate(both, ms, x), game.discriminate(both, ms, g)
            return (
                optax.sigmoid_binary_cross_entropy(lr_, jnp.ones_like(lr_)).mean()
                + optax.sigmoid_binary_cross_entropy(lf_, jnp.zeros_like(lf_)).mean()
            )

        opt = optax.adam(args.lr)

        @jax.jit
        def train(d, key):
            def body(carry, k):
                d, s = carry
                value, grads = jax.value_and_grad(loss)(d, k)
                updates, s = opt.update(grads, s, d)
                return (optax.apply_updates(d, updates), s), value

            (d, _), values = jax.lax.scan(body, (d, opt.init(d)), jax.random.split(key, args.steps))
            return d, values

        d, values = train(params["d"], key)
        after = per_mode(exp, {"d": d, "g": params["g"]}, ms, real, fake, dist.modes)
        out[run_dir] = {
            "step": int(step),
            "refit_steps": args.steps,
            "lr": args.lr,
            "loss_first_last": [float(values[0]), float(values[-1])],
            "before": before,
            "after": after,
        }
        print(
            f"{run_dir} (step {step}): D refitted {args.steps} steps, loss "
            f"{float(values[0]):.4f} -> {float(values[-1]):.4f}"
        )
        print("  mode          acc before  acc after  logit real / fake after")
        for b, a in zip(before, after):
            print(
                f"  ({b['mean'][0]:+.1f}, {b['mean'][1]:+.1f})  {100 * b['accuracy']:6.1f}%  "
                f"{100 * a['accuracy']:8.1f}%   {a['logit_real']:+.3f} / {a['logit_fake']:+.3f}"
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
