"""DCGAN-28 (001 M0_B) Adam step: ours (JAX/XLA) next to the same layers in PyTorch on this
CPU, in one run, alternating, each a fresh process.

    python benchmarks/dcgan_vs_torch.py --torch-python ~/.venvs/odegan-torch/bin/python \\
        --json benchmarks/results/dcgan_vs_torch_cpu.json

The step is the one ``rule.name=simultaneous`` runs: G(z) once, D on the real and on the fake
batch (BatchNorm in training mode, separate passes), both players' gradients of the
non-saturating losses from that one forward pass, one Adam update each (β 0.5 / 0.999,
lr 2e-4), batch 64, 100 latents N(0, I), random 28×28×1 inputs in [−1, 1]. PyTorch runs the same
layers (``ConvTranspose2d`` 7×7/1 128, 4×4/2 64, 4×4/2 1; ``Conv2d`` 4×4/2 64, 4×4/2 128 with
BN; ``Linear``), the same step (``torch.autograd.grad`` of each loss, ``optim.Adam``), with
its default intra-op threads (= the cores). The torch environment is the benchmark's own
(``pip install torch`` there; not a project dependency). Target (issue 14): ratio
torch ms / ours ms ≥ 1.0.

Variants of ours (``--variants``): ``nhwc`` (the models as they are: NHWC, XLA's transposed
convolution = a convolution over the zero-dilated input) and ``fused_d`` (D on the real and
the fake batch as one batch of 128: one pass instead of two; with BatchNorm in D this changes
the model, the statistics pool real and fake, so it is measured, not adopted).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

from common import write_results  # benchmarks/common.py

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH, LATENT = 64, 100


def _torch_child(reps: int) -> dict:
    import torch
    from torch import nn

    torch.manual_seed(0)

    def bn(c):
        return nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)

    G = nn.Sequential(
        nn.ConvTranspose2d(LATENT, 128, 7, 1, 0), bn(128), nn.ReLU(),
        nn.ConvTranspose2d(128, 64, 4, 2, 1), bn(64), nn.ReLU(),
        nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh())
    D = nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1), bn(128), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(128 * 7 * 7, 1))
    opt_g = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    real = torch.rand(BATCH, 1, 28, 28) * 2 - 1
    softplus = nn.functional.softplus

    def step():
        z = torch.randn(BATCH, LATENT, 1, 1)
        fake = G(z)
        r, f = D(real), D(fake)
        loss_d = softplus(-r).mean() + softplus(f).mean()
        loss_g = softplus(-f).mean()
        gd = torch.autograd.grad(loss_d, list(D.parameters()), retain_graph=True)
        gg = torch.autograd.grad(loss_g, list(G.parameters()))
        for p, g in zip(D.parameters(), gd):
            p.grad = g
        for p, g in zip(G.parameters(), gg):
            p.grad = g
        opt_d.step()
        opt_g.step()
        return loss_d.item()

    for _ in range(5):
        step()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        times.append(1000 * (time.perf_counter() - t0))
    return {"ms_per_step": round(statistics.median(times), 2), "torch": torch.__version__,
            "threads": torch.get_num_threads()}


def _jax_child(variant: str, reps: int) -> dict:
    sys.path.insert(0, HERE)
    sys.path.insert(0, os.path.dirname(HERE))
    import jax
    import jax.numpy as jnp

    from odegan_jax import game as game_lib
    from odegan_jax import rules
    from odegan_jax.experiment import build_game
    from odegan_jax.models import build_networks
    from step_time import image_dataset, model_config, time_rule

    config = model_config("dcgan28")
    dataset = image_dataset(config)
    game = build_game(config, build_networks(config.model, dataset.sample_shape))
    adam = lambda: rules.make_optimizer("adam", 2e-4, b1=0.5, b2=0.999)  # noqa: E731
    if variant == "fused_d":  # the probe replaces the game's evaluation in this process only
        apply = game_lib._apply_train_nfe

        def player_gradients(game, params, model_state, real, key, penalty=False):
            z = game.sample_latents(jax.random.split(key)[0], real.shape[0]).astype(real.dtype)

            def losses(d_params, g_params):
                fake, g_state, _ = apply(game.generator, g_params, model_state["g"], z)
                out, d_state, _ = apply(game.discriminator, d_params, model_state["d"],
                                        jnp.concatenate([real, fake]))
                logits = game_lib.binary_logit(out)
                r, f = logits[:real.shape[0]], logits[real.shape[0]:]
                return (game.loss.d_loss(r, f), game.loss.g_loss(f)), (
                    {"d": d_state, "g": g_state}, r, f)

            (ld, lg), pullback, (new_state, r, f) = jax.vjp(losses, params["d"], params["g"],
                                                            has_aux=True)
            grad_d, _ = pullback((jnp.ones(()), jnp.zeros(())))
            _, grad_g = pullback((jnp.zeros(()), jnp.ones(())))
            metrics = {"loss_d": ld, "loss_g": lg, "d_real": jnp.mean(jax.nn.sigmoid(r)),
                       "d_fake": jnp.mean(jax.nn.sigmoid(f))}
            return game_lib.Evaluation({"d": grad_d, "g": grad_g}, new_state, metrics)

        rules.game_lib.player_gradients = player_gradients
    rule = rules.gradient_rule(game, adam(), adam())
    ms = time_rule(config, game, rule, dataset, reps)
    return {"ms_per_step": round(ms, 2), "jax": jax.__version__,
            "backend": jax.default_backend()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--torch-python", default=os.path.expanduser("~/.venvs/odegan-torch/bin/python"))
    p.add_argument("--variants", default="nhwc,fused_d")
    p.add_argument("--rounds", type=int, default=2, help="alternations of torch / ours")
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--json")
    p.add_argument("--child", choices=["torch", "jax"], help=argparse.SUPPRESS)
    p.add_argument("--variant", default="nhwc", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        res = _torch_child(args.reps) if args.child == "torch" else _jax_child(args.variant,
                                                                               args.reps)
        print("RESULT " + json.dumps(res), flush=True)
        return
    results = {"_meta": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                         "time": time.strftime("%Y-%m-%d %H:%M:%S"), "batch": BATCH,
                         "load_before": os.getloadavg()}, "runs": []}
    me = os.path.abspath(__file__)
    for rnd in range(args.rounds):
        jobs = [("torch", "torch", [args.torch_python, me, "--child", "torch"])]
        jobs += [(v, "jax", [sys.executable, me, "--child", "jax", "--variant", v])
                 for v in args.variants.split(",")]
        for name, _, cmd in jobs:
            proc = subprocess.run(cmd + ["--reps", str(args.reps)], capture_output=True,
                                  text=True)
            line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
            if line is None:
                sys.exit(f"{name} failed:\n{proc.stderr[-3000:]}")
            res = dict(json.loads(line[len("RESULT "):]), name=name, round=rnd)
            results["runs"].append(res)
            print(json.dumps(res), flush=True)
    med = {}
    for r in results["runs"]:
        med.setdefault(r["name"], []).append(r["ms_per_step"])
    med = {k: statistics.median(v) for k, v in med.items()}
    results["median_ms"] = med
    results["torch_over_ours"] = {k: round(med["torch"] / v, 3) for k, v in med.items()
                                  if k != "torch"}
    print(json.dumps({"median_ms": med, "torch_over_ours": results["torch_over_ours"]}))
    write_results(args.json, results)


if __name__ == "__main__":
    main()
