"""The training loop: builds an experiment from a config, runs it, writes the run directory.

Side effects (files, clocks, printing) live here and in the CLI only; everything the loop
calls is pure. Run directory layout::

    config.json        the resolved config (with the seed)
    metrics.jsonl      one JSON object per logged step
    tb/                TensorBoard event files
    checkpoints/<step> orbax checkpoint of the whole TrainState (the final params among it)
    samples.png        2D: generated samples (KDE), D's contours, the modes;
                       images: a grid of G at fixed latents
    samples/step_N.png images: the same latents every loop.sample_every steps
    curves.png         losses, D(x) / D(G(z)), 2D quality over steps
    summary.json       final metrics and params_sha256
"""
from __future__ import annotations

import dataclasses
import functools
import json
import os
import sys
import time
from typing import Callable, Optional

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from odegan_jax import checkpoints, config as config_lib, logs, parallel, plots, rules
from odegan_jax.data import Dataset, get_batches, make_dataset
from odegan_jax.game import Game, make_loss
from odegan_jax.integrators import get_tableau
from odegan_jax.metrics.modes import mode_metrics
from odegan_jax.models import ODE_NETWORKS, build_networks


class NonFiniteError(RuntimeError):
    """Training produced NaN/Inf; the message names the step and the quantity."""


@dataclasses.dataclass(frozen=True)
class Experiment:
    config: ml_collections.ConfigDict
    game: Game
    rule: rules.TrainingRule
    dataset: Dataset
    keys: dict  # name -> PRNG key, all split from the config's seed

    @functools.cached_property
    def jit_generate(self) -> Callable:
        """``jax.jit(game.generate)``, compiled once per experiment: a fresh ``jax.jit`` per
        call would retrace and recompile every time it is used (≈ 0.1 s for the 2D MLP)."""
        return jax.jit(self.game.generate)

    @functools.cached_property
    def jit_discriminate(self) -> Callable:
        """``jax.jit(game.discriminate)``, compiled once per experiment (as above)."""
        return jax.jit(self.game.discriminate)

    @functools.cached_property
    def fixed_sampler(self) -> Callable:
        """``(params, model_state, n) -> G(z)`` at n fixed latents (the eval key), inference
        mode; the latents are drawn once per n."""
        latents: dict[int, jax.Array] = {}

        def sample(params, model_state, n: int) -> jax.Array:
            if n not in latents:
                latents[n] = self.game.sample_latents(self.keys["eval"], n)
            return self.jit_generate(params, model_state, latents[n])

        return sample


def build_game(config, sample_shape) -> Game:
    generator, discriminator = build_networks(config.model, sample_shape)
    loss = make_loss(config.game.loss, gp_weight=config.game.gp_weight,
                     clip_value=config.game.clip_value)
    return Game(generator, discriminator, loss, config.model.latent_size,
                config.model.latent_prior, has_ode_blocks=config.model.name in ODE_NETWORKS)


def _optimizer(config, player: str):
    opt = config.optimizer
    lr = opt[f"{player}_learning_rate"]
    return rules.make_optimizer(opt.name, opt.learning_rate if lr is None else lr,
                                opt.weight_decay, **config_lib.optimizer_hyperparameters(config))


def build_rule(config, game: Game) -> rules.TrainingRule:
    r = config.rule
    if r.name == "ode":
        return rules.ode_rule(
            game, get_tableau(r.integrator), r.h, reg_weight=r.reg_weight,
            reg_placement=r.reg_placement, stage_batches=r.stage_batches, coupling=r.coupling,
            schedule=r.schedule, schedule_boundaries=tuple(r.schedule_boundaries),
            schedule_scales=tuple(r.schedule_scales), d_rate=r.d_rate,
            optimizer=_optimizer(config, "d") if r.use_optimizer else None)
    return rules.gradient_rule(game, _optimizer(config, "d"), _optimizer(config, "g"),
                               update=r.name, n_critic=r.n_critic)


def build(config: ml_collections.ConfigDict) -> Experiment:
    """Validates the config (before any compilation) and builds every component."""
    config_lib.validate(config)
    root = jax.random.PRNGKey(config.seed)
    names = ("init", "dataset", "stream", "train", "eval")
    keys = dict(zip(names, jax.random.split(root, len(names))))
    dataset = make_dataset(config.data, keys["dataset"])
    game = build_game(config, dataset.sample_shape)
    return Experiment(config, game, build_rule(config, game), dataset, keys)


def init_state(exp: Experiment) -> rules.TrainState:
    example = jnp.zeros((exp.config.data.batch_size,) + tuple(exp.dataset.sample_shape))
    params, model_state = exp.game.init(exp.keys["init"], example)
    return rules.TrainState(jnp.zeros((), jnp.int32), params, model_state,
                            exp.rule.init(params), exp.keys["train"])


def make_train_fn(exp: Experiment, num_steps: int, mesh=None) -> Callable:
    """A jitted function running ``num_steps`` training steps: ``(state, train) -> (state,
    metrics)`` with metrics stacked over steps. Minibatches are drawn inside, from the step
    counter, so the data position is part of the state. Several steps are fused with
    ``lax.scan`` (fine for MLPs; keep ``steps_per_call = 1`` for conv nets on CPU)."""
    cfg = exp.config

    def one(state, train):
        batches = get_batches(exp.dataset, exp.keys["stream"], state.step,
                              exp.rule.batches_per_step, cfg.data.batch_size, train)
        if mesh is not None:  # shard the batch axis; params stay replicated
            batches = parallel.shard_batches(batches, mesh)
        return exp.rule.step(state, batches)

    if num_steps == 1:
        def run(state, train):
            state, metrics = one(state, train)
            return state, jax.tree.map(lambda x: x[None], metrics)
    else:
        def run(state, train):
            return jax.lax.scan(lambda s, _: one(s, train), state, None, length=num_steps)
    if mesh is not None:
        return parallel.jit_replicated(run, mesh)
    return jax.jit(run, donate_argnums=(0,))


def sample_fixed(exp: Experiment, state: rules.TrainState, n: int) -> np.ndarray:
    """n generator samples at fixed latents (the eval key), in inference mode."""
    return np.asarray(exp.fixed_sampler(state.params, state.model_state, n))


sample_2d = sample_fixed


def write_sample_grid(exp: Experiment, state: rules.TrainState, path: str) -> None:
    """PNG grid of G at the run's fixed latents (the same latents at every step)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    plots.save_image_grid(path, sample_fixed(exp, state, exp.config.loop.sample_grid))


def evaluate_2d(exp: Experiment, state: rules.TrainState) -> dict:
    samples = sample_2d(exp, state, exp.config.loop.eval_samples)
    m = mode_metrics(samples, exp.dataset.distribution,
                     mode_fraction=exp.config.eval.mode_fraction,
                     num_sigmas=exp.config.eval.num_sigmas)
    return {k: m[k] for k in ("modes_covered", "num_modes", "hq_fraction")}


def _first_nonfinite(metrics: dict) -> Optional[tuple[int, str]]:
    finite = np.asarray(metrics["finite"])
    if finite.all():
        return None
    i = int(np.argmin(finite))
    for name in ("loss_d", "loss_g"):
        if not np.isfinite(np.asarray(metrics[name])[i]):
            return i, name
    return i, "parameters"


def _host_row(metrics: dict, i: int) -> dict:
    return {k: float(np.asarray(v)[i]) for k, v in metrics.items() if k != "finite"}


def default_workdir(config) -> str:
    return os.path.join("runs", f"{config.name}-{config.seed}")


def _restore_latest(exp: Experiment, mngr, target, echo) -> tuple[Optional[rules.TrainState], int]:
    """The newest checkpoint that restores. A damaged one is reported and moved aside to
    ``damaged_checkpoints/`` (never deleted: a person may want to look at it), and the
    previous one is tried."""
    for step in sorted(mngr.all_steps(), reverse=True):
        try:
            state = checkpoints.restore(mngr, step, target)
            problem = None if int(state.step) == step else f"it holds step {int(state.step)}"
        except Exception as e:  # orbax raises many types for truncated / corrupt files
            problem = f"{type(e).__name__}: {(str(e).splitlines() or [''])[0][:160]}"
        if problem is None:
            return state, step
        moved = checkpoints.quarantine(mngr, step)
        echo(f"odegan: checkpoint {step} is damaged ({problem}); moved it to {moved} and "
             f"falling back to the previous one")
    return None, 0


def _truncate_metrics(path: str, step: int) -> None:
    """Drops logged rows after ``step`` (they are recomputed identically on resume)."""
    if not os.path.exists(path):
        return
    rows = logs.read_metrics(path)
    kept = [r for r in rows if int(r.get("step", 0)) <= step]
    if len(kept) != len(rows):
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            for r in kept:
                f.write(json.dumps(r) + "\n")
        os.replace(tmp, path)


def train(config: ml_collections.ConfigDict, workdir: Optional[str] = None, *,
          echo: Callable[[str], None] = print, progress: Optional[bool] = None) -> dict:
    """Trains ``config`` into ``workdir``; returns the summary (also in summary.json).

    Resumes from the newest good checkpoint in ``workdir/checkpoints`` when there is one.
    ``progress``: show a tqdm bar (None: only when stderr is a terminal and CI is unset).
    """
    exp = build(config)
    workdir = os.path.abspath(workdir or default_workdir(config))
    os.makedirs(workdir, exist_ok=True)
    logs.write_json(os.path.join(workdir, "config.json"), config.to_dict())
    mesh = parallel.data_mesh(config.data.batch_size)
    echo(f"odegan: training {config.name} (seed {config.seed}, {config.steps} steps, "
         f"rule {exp.rule.name}) into {workdir}"
         + (f" on {mesh.size} devices (data parallel)" if mesh is not None else ""))

    mngr = checkpoints.manager(os.path.join(workdir, "checkpoints"),
                               max_to_keep=config.loop.keep_checkpoints)
    state = init_state(exp)
    step = 0
    if mngr.all_steps():
        restored, step = _restore_latest(exp, mngr, state, echo)
        if restored is not None:
            state = restored
            echo(f"odegan: resuming from the checkpoint at step {step} in {workdir}")
        else:
            echo("odegan: no checkpoint could be restored; starting from step 0")
    _truncate_metrics(os.path.join(workdir, "metrics.jsonl"), step)
    train_array = None if exp.dataset.train is None else jnp.asarray(exp.dataset.train)
    if mesh is not None:
        state = parallel.replicate(state, mesh)
        train_array = None if train_array is None else parallel.replicate(train_array, mesh)
    is_2d = exp.dataset.distribution is not None
    writer = logs.MetricsWriter(workdir)
    fns: dict[tuple[int, float], Callable] = {}
    steps, log_every = config.steps, config.loop.log_every
    ckpt_every = config.loop.checkpoint_every
    if progress is None:
        progress = sys.stderr.isatty() and not os.environ.get("CI")
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=steps, initial=step, desc=config.name, unit="step", dynamic_ncols=True)
    # MLP steps are fused in lax.scan; conv nets run one step per call (XLA on CPU
    # differentiates convolutions inside loops 5-15x slower, JAX issue 12868)
    per_call = config.loop.steps_per_call if exp.dataset.sample_shape == (2,) else 1
    sample_every = 0 if is_2d else config.loop.sample_every
    score_every = 0 if is_2d else config.loop.score_every
    next_report = step + max(steps // 10, 1)
    rollbacks = retries = 0
    # retry: keep a copy of the state before each call (the call donates its input) and
    # redo a call that went non-finite from that copy with h halved, as an ODE solver
    # rejects a step; healthy runs are unchanged.
    retry = config.loop.nonfinite == "retry" and exp.config.rule.name == "ode"

    def train_fn(e: Experiment, n: int) -> Callable:
        if (n, e.config.rule.h) not in fns:
            fns[(n, e.config.rule.h)] = make_train_fn(e, n, mesh)
        return fns[(n, e.config.rule.h)]

    scorer = None
    start = time.perf_counter()
    row = {}
    try:
        while step < steps:
            next_log = min((step // log_every + 1) * log_every, steps)
            bound = next_log
            if ckpt_every:
                bound = min(bound, (step // ckpt_every + 1) * ckpt_every)
            n = min(per_call, bound - step)
            before = _copy_tree(state) if retry else None
            state, metrics = train_fn(exp, n)(state, train_array)
            bad = _first_nonfinite(metrics)
            retry_exp = exp
            while bad is not None and retry and retries < config.loop.max_retries:
                retries += 1
                retry_exp = _halve_h(retry_exp)
                i, what = bad
                writer.write({"step": step + i + 1, "event": "retry",
                              "h": retry_exp.config.rule.h})
                echo(f"odegan: non-finite {what} at step {step + i + 1}: redoing steps "
                     f"{step + 1}-{step + n} with h {retry_exp.config.rule.h:g} (retry "
                     f"{retries} of at most {config.loop.max_retries})")
                state, metrics = train_fn(retry_exp, n)(_copy_tree(before), train_array)
                bad = _first_nonfinite(metrics)
            del before
            if bad is not None:
                i, what = bad
                where = f"non-finite {what} at step {step + i + 1}"
                if retry and retries >= config.loop.max_retries:
                    where += f" (all {retries} retries with h halved used)"
                if config.loop.nonfinite == "rollback" and exp.config.rule.name == "ode" \
                        and rollbacks < config.loop.max_rollbacks and mngr.all_steps():
                    rollbacks += 1
                    exp = _halve_h(exp)
                    fns.clear()
                    restored, step = _restore_latest(exp, mngr, init_state(exp), echo)
                    state = restored if mesh is None else parallel.replicate(restored, mesh)
                    _truncate_metrics(writer.path, step)
                    writer.write({"step": step, "event": "rollback", "h": exp.config.rule.h})
                    echo(f"odegan: {where}: rolled back to the checkpoint at step {step} and "
                         f"halved h to {exp.config.rule.h:g} (rollback {rollbacks} of at most "
                         f"{config.loop.max_rollbacks})")
                    if bar is not None:
                        bar.n = step
                        bar.refresh()
                    continue
                raise NonFiniteError(
                    f"{where}: training stopped. Lower config.rule.h (ODE rules) or the "
                    f"learning rate, or raise config.rule.reg_weight, or set "
                    f"config.loop.nonfinite=rollback; the last checkpoint "
                    f"(step {max(mngr.all_steps(), default=0)}) and metrics up to step {step} "
                    f"are kept in {workdir}")
            step += n
            if bar is not None:
                bar.update(n)
            if score_every and step % score_every == 0:
                if scorer is None:  # networks, real data and ceilings: once per run
                    from odegan_jax.evaluate import ImageScorer
                    scorer = ImageScorer(exp, config.eval.num_samples)
                row_scores = scorer(exp, state)
                writer.write({"step": step, **{k: v for k, v in row_scores.items()
                                               if isinstance(v, float)}})
            if sample_every and step % sample_every == 0:
                write_sample_grid(exp, state, os.path.join(workdir, "samples",
                                                           f"step_{step:07d}.png"))
            if step == next_log:
                row = {"step": step, **_host_row(metrics, -1),
                       "time_s": round(time.perf_counter() - start, 3)}
                if is_2d:
                    row.update(evaluate_2d(exp, state))
                writer.write(row)
                if bar is not None:
                    bar.set_postfix(loss_d=f"{row['loss_d']:.3f}", loss_g=f"{row['loss_g']:.3f}",
                                    **({"modes": row["modes_covered"]} if is_2d else {}))
                elif step >= next_report or step == steps:
                    next_report = step + max(steps // 10, 1)
                    echo(_format_row(row))
            if ckpt_every and step % ckpt_every == 0 and step < steps:
                checkpoints.save(mngr, step, state)
    finally:
        writer.close()
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - start

    if steps not in mngr.all_steps():
        checkpoints.save(mngr, steps, state)
    mngr.close()
    if not row:
        rows = logs.read_metrics(writer.path)
        row = next((r for r in reversed(rows) if "loss_d" in r), {})
    if config.loop.plot:
        write_plots(exp, state, workdir)
    summary = {
        "config": config.name, "seed": config.seed, "steps": steps, "rule": exp.rule.name,
        "final": row, "params_sha256": checkpoints.params_sha256(state.params, state.model_state),
        "wall_time_s": round(wall, 2), "steps_per_s": round(steps / max(wall, 1e-9), 1),
        "workdir": workdir, "rollbacks": rollbacks, "retries": retries,
        "final_h": exp.config.rule.h,
    }
    logs.write_json(os.path.join(workdir, "summary.json"), summary)
    if is_2d and "modes_covered" in row:
        echo(f"final: modes covered {row['modes_covered']}/{row['num_modes']}, "
             f"high-quality samples {100 * row['hq_fraction']:.1f}% "
             f"({config.loop.eval_samples} samples, within {config.eval.num_sigmas:g}σ)")
    echo(f"done in {wall:.1f}s; params_sha256 {summary['params_sha256'][:16]}…; "
         f"summary in {os.path.join(workdir, 'summary.json')}")
    return summary


def _copy_tree(tree):
    """A copy in fresh buffers (same shardings) that survives donating ``tree``."""
    return jax.tree.map(jnp.copy, tree)


def _halve_h(exp: Experiment) -> Experiment:
    config = ml_collections.ConfigDict(exp.config.to_dict())
    config.rule.h = exp.config.rule.h / 2
    return dataclasses.replace(exp, config=config, rule=build_rule(config, exp.game))


def _format_row(row: dict) -> str:
    parts = [f"step {row['step']}", f"loss_d {row['loss_d']:.4f}", f"loss_g {row['loss_g']:.4f}"]
    if "modes_covered" in row:
        parts += [f"modes {row['modes_covered']}/{row['num_modes']}",
                  f"hq {100 * row['hq_fraction']:.1f}%"]
    if "nfe_g" in row:
        parts += [f"nfe G/D {row['nfe_g']:.0f}/{row['nfe_d']:.0f}"]
    return "  ".join(parts)


def write_plots(exp: Experiment, state: rules.TrainState, workdir: str) -> None:
    rows = logs.read_metrics(os.path.join(workdir, "metrics.jsonl"))
    plots.plot_training_curves(os.path.join(workdir, "curves.png"), rows)
    dist = exp.dataset.distribution
    if dist is None:
        write_sample_grid(exp, state, os.path.join(workdir, "samples.png"))
        return
    samples = sample_2d(exp, state, exp.config.loop.eval_samples)
    lo, hi = dist.modes.min(axis=0), dist.modes.max(axis=0)
    pad = 0.3 * float(np.max(hi - lo)) + 0.5
    bbox = (lo[0] - pad, hi[0] + pad, lo[1] - pad, hi[1] + pad)
    xx, yy = np.meshgrid(np.linspace(bbox[0], bbox[1], 80), np.linspace(bbox[2], bbox[3], 80))
    grid = jnp.asarray(np.stack([xx.ravel(), yy.ravel()], axis=1), jnp.float32)
    logits = np.asarray(exp.jit_discriminate(state.params, state.model_state, grid))
    title = (f"{exp.config.name} seed {exp.config.seed}, step {int(state.step)}"
             + (f"\n{_format_row(rows[-1])}" if rows else ""))
    plots.plot_samples_2d(os.path.join(workdir, "samples.png"), samples, dist.modes,
                          d_grid=(xx, yy, logits.reshape(xx.shape)), bbox=bbox, title=title)
