"""Image GAN steps, DCGAN-28 (Yamazaki17 M0_B) and NGAN (Varshney19 Figs 4.1 / 4.2), Adam:
ours (JAX/XLA) next to the same layers in PyTorch on the same device, in one run, alternating,
each a fresh process.

    python -m benchmarks.dcgan_vs_torch --torch-python ~/.venvs/odegan-torch/bin/python \\
        --json benchmarks/results/dcgan_vs_torch.json
    python -m benchmarks.dcgan_vs_torch --torch-python python3 --device cuda \\
        --models dcgan28,ngan --variants nhwc,fused \\
        --json benchmarks/results/images_vs_torch_h100.json

The step is the one ``rule.name=simultaneous`` runs: G(z) once, D on the real and on the fake
batch (BatchNorm in training mode, separate passes), both players' gradients of the
non-saturating losses from that one forward pass, one Adam update each (β 0.5 / 0.999,
lr 2e-4), batch 64, 100 latents N(0, I), random 28×28×1 inputs in [−1, 1]. PyTorch runs the same
layers (DCGAN-28: ``ConvTranspose2d`` 7×7/1 128, 4×4/2 64, 4×4/2 1; ``Conv2d`` 4×4/2 64, 4×4/2
128 with BN; ``Linear``. NGAN: Varshney19's layer lists, the ODE blocks as one RK4 step over [0, 1]
through torchdiffeq's ``odeint``, Varshney19's own solver library, when it imports), the same step
(``torch.autograd.grad`` of each loss, ``optim.Adam``), with its default intra-op threads (=
the cores) and ``cudnn.benchmark``. On a GPU PyTorch is timed over blocks of ``BLOCK`` steps
with one synchronisation each (no per-step host read: its best case). The torch environment is
the benchmark's own (``pip install torch torchdiffeq`` there; not project dependencies).
Target: ratio torch ms / ours ms ≥ 1.0.

Variants of ours (``--variants``): ``nhwc`` (the models as they are, one step per compiled
call: NHWC, XLA's transposed convolution = a convolution over the zero-dilated input),
``fused`` (``FUSED`` steps in one call, ``lax.scan``: how ``train.py`` runs conv nets on a
GPU; on CPU XLA differentiates convolutions in loops slowly, JAX issue 12868) and ``fused_d``
(D on the real and the fake batch as one batch of 128: one pass instead of two; with BatchNorm
in D this changes the model, the statistics pool real and fake, so it is measured, not
adopted), ``ynn`` (the step as ``nhwc``, compiled with XLA's default options, YNNPACK
fusions on: how ours ran before ``xla_cpu.compiler_options`` turned them off on CPU) and
``glibc_default`` (the step as ``nhwc`` with glibc's allocator defaults: how ours ran before
``odegan`` called ``xla_cpu.retain_freed_memory``).

Every variant of ours but ``glibc_default`` runs with ``xla_cpu.retain_freed_memory()``, as an
``odegan`` process does. ``--torch-variants`` times PyTorch ``default`` (as a user runs it)
and/or ``retained`` (the same glibc setting made in the PyTorch process, whose CPU allocator
is glibc's malloc too): the ratio is reported against each.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

from benchmarks.common import print_result, run_child, write_results

BATCH, LATENT = 64, 100
BLOCK = 20  # GPU: steps per timed block (see _torch_child)
FUSED = 50  # variant fused: steps per compiled call, as the image configs' loop on a GPU


def _torch_networks(model: str):
    """(G, D) in PyTorch: the layers of ours (``odegan_jax.models.dcgan`` M0_B /
    ``odegan_jax.models.ngan``), as Yamazaki17 and Varshney19 list them."""
    import torch
    from torch import nn

    def bn(c):
        return nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)

    if model == "dcgan28":
        G = nn.Sequential(
            nn.ConvTranspose2d(LATENT, 128, 7, 1, 0),
            bn(128),
            nn.ReLU(),
            nn.ConvTranspose2d(128, 64, 4, 2, 1),
            bn(64),
            nn.ReLU(),
            nn.ConvTranspose2d(64, 1, 4, 2, 1),
            nn.Tanh(),
        )
        D = nn.Sequential(
            nn.Conv2d(1, 64, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(64, 128, 4, 2, 1),
            bn(128),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(128 * 7 * 7, 1),
        )
        return G, D

    try:  # Varshney19's own solver library; the classic RK4 by hand where it is missing
        from torchdiffeq import odeint
    except ImportError:
        odeint = None

    class TimeConv(nn.Module):  # t as an extra input channel, in front (Varshney19's ConcatConv2d)
        def __init__(self, cin, cout, k, pad, transpose):
            super().__init__()
            layer = nn.ConvTranspose2d if transpose else nn.Conv2d
            self.layer = layer(cin + 1, cout, k, 1, pad)

        def forward(self, t, x):
            return self.layer(torch.cat([torch.ones_like(x[:, :1]) * t, x], 1))

    class Func(nn.Module):
        def __init__(self, layers, transpose, act):
            super().__init__()
            self.convs = nn.ModuleList(TimeConv(*c, transpose) for c in layers)
            self.act = act

        def forward(self, t, x):
            for c in self.convs:
                x = self.act(c(t, x))
            return x

    class ODEBlock(nn.Module):  # one RK4 step over t in [0, 1], as ours (model.ode.steps = 1)
        def __init__(self, func):
            super().__init__()
            self.func = func

        def forward(self, x):
            if odeint is not None:
                return odeint(
                    self.func,
                    x,
                    torch.tensor([0.0, 1.0], device=x.device),
                    method="rk4",
                    options={"step_size": 1.0},
                )[1]
            f = self.func
            k1 = f(0.0, x)
            k2 = f(0.5, x + 0.5 * k1)
            k3 = f(0.5, x + 0.5 * k2)
            k4 = f(1.0, x + k3)
            return x + (k1 + 2 * k2 + 2 * k3 + k4) / 6

    class Augment(nn.Module):  # two zero channels (D's ODE state is 10 channels)
        def forward(self, x):
            return torch.cat([x, torch.zeros_like(x[:, :2])], 1)

    lrelu = nn.LeakyReLU(0.2)
    G = nn.Sequential(
        nn.ConvTranspose2d(LATENT, 32, 4, 1, 0, bias=False),
        bn(32),
        nn.ReLU(),
        nn.ConvTranspose2d(32, 16, 4, 2, 1, bias=False),
        bn(16),
        nn.ReLU(),
        nn.ConstantPad2d(3, 0.0),
        ODEBlock(Func([(16, 16, 5, 2)], True, nn.ReLU())),
        nn.ConvTranspose2d(16, 8, 4, 2, 1, bias=False),
        bn(8),
        nn.ReLU(),
        nn.ConvTranspose2d(8, 1, 3, 1, 1),
        nn.Tanh(),
    )
    D = nn.Sequential(
        nn.Conv2d(1, 8, 4, 2, 1, bias=False),
        bn(8),
        nn.LeakyReLU(0.2),
        Augment(),
        ODEBlock(Func([(10, 16, 1, 0), (16, 16, 3, 1), (16, 10, 1, 0)], False, lrelu)),
        nn.Conv2d(10, 16, 4, 2, 1, bias=False),
        bn(16),
        nn.LeakyReLU(0.2),
        nn.Flatten(),
        nn.Linear(16 * 7 * 7, 1),
    )
    return G, D


def _retain_freed_memory() -> bool:
    """``odegan_jax.xla_cpu.retain_freed_memory`` (that module imports no JAX at its top)."""
    from odegan_jax.xla_cpu import retain_freed_memory

    return retain_freed_memory()


def _torch_child(model: str, device: str, reps: int, retained: bool = False) -> dict:
    retained = retained and _retain_freed_memory()
    import torch
    from torch import nn

    torch.manual_seed(0)
    torch.backends.cudnn.benchmark = True  # what a PyTorch user sets for fixed shapes
    G, D = (m.to(device) for m in _torch_networks(model))
    opt_g = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    real = torch.rand(BATCH, 1, 28, 28, device=device) * 2 - 1
    softplus = nn.functional.softplus

    def step():
        z = torch.randn(BATCH, LATENT, 1, 1, device=device)
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
        return loss_d

    # CPU: one step at a time (.item() waits for it). GPU: blocks of BLOCK steps launched
    # without waiting and one synchronisation at the end, PyTorch's best case (no per-step
    # host read), timed per block.
    block = 1 if device == "cpu" else BLOCK
    sync = torch.cuda.synchronize if device != "cpu" else (lambda: None)
    for _ in range(5):
        step().item()
    times = []
    for _ in range(reps):
        sync()
        t0 = time.perf_counter()
        for _ in range(block):
            loss = step()
        loss.item()
        sync()
        times.append(1000 * (time.perf_counter() - t0) / block)
    return {
        "ms_per_step": round(statistics.median(times), 3),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "device": device,
        "retained_memory": retained,
        "ode_solver": _torch_ode_solver() if model == "ngan" else None,
    }


def _torch_ode_solver() -> str:
    """Which RK4 step the PyTorch NGAN ran (:func:`_torch_networks` falls back by hand)."""
    try:
        import torchdiffeq  # noqa: F401
    except ImportError:
        return "classic RK4 by hand, 1 step (torchdiffeq not installed)"
    return "torchdiffeq rk4 (3/8 rule), 1 step"


def _jax_child(model: str, variant: str, reps: int) -> dict:
    retained = variant != "glibc_default" and _retain_freed_memory()
    import jax
    import jax.numpy as jnp

    from benchmarks.step_time import image_dataset, model_config, time_rule
    from odegan_jax import game as game_lib
    from odegan_jax import rules
    from odegan_jax.experiment import build_game
    from odegan_jax.models import build_networks

    if variant == "ynn":  # XLA's default CPU options in this process (a probe)
        from odegan_jax import xla_cpu

        xla_cpu.CPU_TRAINING_OPTIONS = {}
    config = model_config(model)
    if variant == "fused":  # FUSED steps in one call (lax.scan), as train.py runs on a GPU
        config.loop.steps_per_call = FUSED
    dataset = image_dataset(config)
    game = build_game(config, build_networks(config.model, dataset.sample_shape))
    adam = lambda: rules.make_optimizer("adam", 2e-4, b1=0.5, b2=0.999)  # noqa: E731
    if variant == "fused_d":  # the probe replaces the game's evaluation in this process only
        apply = game_lib._apply_train_nfe

        def player_gradients(game, params, model_state, real, key, penalty=False):
            z = game.sample_latents(jax.random.split(key)[0], real.shape[0]).astype(real.dtype)

            def losses(d_params, g_params):
                fake, g_state, _ = apply(game.generator, g_params, model_state["g"], z)
                out, d_state, _ = apply(
                    game.discriminator, d_params, model_state["d"], jnp.concatenate([real, fake])
                )
                logits = game_lib.binary_logit(out)
                r, f = logits[: real.shape[0]], logits[real.shape[0] :]
                return (game.loss.d_loss(r, f), game.loss.g_loss(f)), (
                    {"d": d_state, "g": g_state},
                    r,
                    f,
                )

            (ld, lg), pullback, (new_state, r, f) = jax.vjp(
                losses, params["d"], params["g"], has_aux=True
            )
            grad_d, _ = pullback((jnp.ones(()), jnp.zeros(())))
            _, grad_g = pullback((jnp.zeros(()), jnp.ones(())))
            metrics = {
                "loss_d": ld,
                "loss_g": lg,
                "d_real": jnp.mean(jax.nn.sigmoid(r)),
                "d_fake": jnp.mean(jax.nn.sigmoid(f)),
            }
            return game_lib.Evaluation({"d": grad_d, "g": grad_g}, new_state, metrics)

        rules.game_lib.player_gradients = player_gradients
    rule = rules.gradient_rule(game, adam(), adam())
    ms = time_rule(config, game, rule, dataset, reps)
    return {
        "ms_per_step": round(ms, 3),
        "jax": jax.__version__,
        "retained_memory": retained,
        "backend": jax.default_backend(),
        "device": str(jax.devices()[0]),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--torch-python", default=os.path.expanduser("~/.venvs/odegan-torch/bin/python"))
    p.add_argument(
        "--device",
        choices=["cpu", "cuda"],
        default="cpu",
        help="both frameworks on this device (cuda: the first GPU)",
    )
    p.add_argument("--models", default="dcgan28", help="dcgan28 and/or ngan, comma-separated")
    p.add_argument(
        "--variants",
        default="nhwc,fused_d",
        help="of ours: nhwc, fused_d, fused (FUSED steps a call; GPUs), ynn, glibc_default",
    )
    p.add_argument(
        "--torch-variants",
        default="default",
        help="of PyTorch: default and/or retained (the glibc setting of ours)",
    )
    p.add_argument("--rounds", type=int, default=2, help="alternations of torch / ours")
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--json")
    p.add_argument("--child", choices=["torch", "jax"], help=argparse.SUPPRESS)
    p.add_argument("--model", default="dcgan28", help=argparse.SUPPRESS)
    p.add_argument("--variant", default="nhwc", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        res = (
            _torch_child(args.model, args.device, args.reps, args.variant == "retained")
            if args.child == "torch"
            else _jax_child(args.model, args.variant, args.reps)
        )
        print_result(res)
        return
    results = {
        "_meta": {
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "time": time.strftime("%Y-%m-%d %H:%M:%S"),
            "batch": BATCH,
            "device": args.device,
            "load_before": os.getloadavg(),
        },
        "runs": [],
    }
    me = ["-m", __spec__.name]  # run from the repository root (common.run_child)
    env = dict(os.environ, JAX_PLATFORMS="cpu" if args.device == "cpu" else "cuda")
    for rnd in range(args.rounds):
        for model in args.models.split(","):
            common = ["--model", model, "--device", args.device, "--reps", str(args.reps)]
            jobs = [
                (
                    "torch" if v == "default" else f"torch_{v}",
                    [args.torch_python, *me, "--child", "torch", "--variant", v],
                )
                for v in args.torch_variants.split(",")
            ]
            jobs += [
                (v, [sys.executable, *me, "--child", "jax", "--variant", v])
                for v in args.variants.split(",")
            ]
            for name, cmd in jobs:
                res, err = run_child(cmd + common, env=env)
                if res is None:
                    sys.exit(f"{model} {name} failed:\n{err}")
                res = dict(res, name=name, model=model, round=rnd)
                results["runs"].append(res)
                print(json.dumps(res), flush=True)
                write_results(args.json, results)  # after each run: a killed command keeps them
    by_model: dict = {}
    for r in results["runs"]:
        by_model.setdefault(r["model"], {}).setdefault(r["name"], []).append(r["ms_per_step"])
    results["median_ms"], results["torch_over_ours"] = {}, {}
    for model, runs in by_model.items():
        med = {k: statistics.median(v) for k, v in runs.items()}
        results["median_ms"][model] = med
        results["torch_over_ours"][model] = {
            f"{t} / {k}": round(med[t] / v, 3)
            for t in med
            if t.startswith("torch")
            for k, v in med.items()
            if not k.startswith("torch")
        }
    print(
        json.dumps(
            {"median_ms": results["median_ms"], "torch_over_ours": results["torch_over_ours"]}
        )
    )
    write_results(args.json, results)


if __name__ == "__main__":
    main()
