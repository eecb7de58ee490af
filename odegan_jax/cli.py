"""The ``odegan`` command line: the one place that reads flags and the environment, and the
one place (with the training loop) that writes files.

    odegan train [--config NAME|FILE] [--workdir DIR] [--config.KEY=VALUE ...]
    odegan train --population seed=0:16 ...     N runs as one vmapped program
    odegan configs
    odegan eval RUN_DIR [--step N] [--n N]      scores into RUN_DIR/eval.json
    odegan sample RUN_DIR [--n 64]              PNG grid of samples
    odegan gam RUN_A RUN_B                      Generative Adversarial Metric (Varshney19 §4.2.3)
    odegan neighbours RUN_DIR [--k 8]           samples next to their nearest training images
    odegan plot RUN_DIR                         regenerate the plots from the logs
    odegan interpolate RUN_DIR                  latent walks and vector arithmetic (GANnotes)
    odegan describe [CONFIG] [--json OUT]       each player's layers, shapes and parameters
    odegan stiffness CONFIG|RUN_DIR [--json OUT]
                                                the training field's leading eigenvalues and
                                                every tableau's largest stable h
    odegan reproduce [NAME [--gpu | --full] [--seeds 0,1] [--workdir W] [--jobs N] [--only RUN,...]]
                                                the source documents' experiments into
                                                W/NAME/table.md

``--config`` takes the name of a file in ``configs/`` (e.g. ``mog16_official``) or a path to a
config file defining ``get_config()``; without it, the main job (``mog16_main``) runs. Any
value can be overridden: ``--config.seed=3 --config.rule.h=0.05``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys

from ml_collections import ConfigDict

from odegan_jax.config import DEFAULT_CONFIG, ConfigError, config_names, resolve_config
from odegan_jax.metrics.inception import ENV_VAR as INCEPTION_ENV


def _inception_path(flag: str = "", configured: str = "") -> str:
    """The Inception weights file: the flag, else the config's key, else the environment."""
    return flag or configured or os.environ.get(INCEPTION_ENV, "")


def _cmd_train(args, extra) -> int:
    from odegan_jax import train
    from odegan_jax.checkpoints import SaveError
    from odegan_jax.config import load_config
    from odegan_jax.rundir import default_workdir

    config = resolve_config(args.config, extra)
    workdir = args.workdir or default_workdir(config, load_config(args.config or DEFAULT_CONFIG))
    config.eval.inception_weights = _inception_path(configured=config.eval.inception_weights)
    progress = not args.no_progress and sys.stderr.isatty() and not os.environ.get("CI")
    if args.population:
        return _train_population(args, config, progress)
    try:
        train.train(
            config, workdir, progress=progress, resume_with_changes=args.resume_with_changes
        )
    except train.TrainingStopped as e:
        print(f"odegan: {e}", file=sys.stderr)
        return 3
    except SaveError as e:
        print(f"odegan: error: {e}", file=sys.stderr)
        return 4
    return 0


def _train_population(args, config: ConfigDict, progress: bool) -> int:
    from odegan_jax import population
    from odegan_jax.checkpoints import SaveError

    key, values = population.parse_population(args.population)
    if args.resume_with_changes:
        raise ConfigError("--resume-with-changes applies to single runs, not to --population")
    spec = args.population.split("=", 1)[1].strip()
    workdir = args.workdir or os.path.join("runs", f"{config.name}-population-{key}={spec}")
    try:
        out = population.train_population(config, key, values, workdir, progress=progress)
    except SaveError as e:
        print(f"odegan: error: {e}", file=sys.stderr)
        return 4
    diverged = [name for name, summary in out.items() if summary is None]
    if diverged:
        print(
            f"odegan: {len(diverged)} member(s) diverged: {', '.join(diverged)} (see their "
            f"diverged.json)",
            file=sys.stderr,
        )
        return 3
    return 0


def _no_extra(extra):
    if extra:
        raise ConfigError(f"unrecognised arguments: {' '.join(extra)}")


def _load(run_dir: str, step=None):
    from odegan_jax.experiment import load_run

    return load_run(run_dir, step, echo=print)


def _write_json(path: str, obj) -> None:
    from odegan_jax.logs import write_json

    write_json(path, obj)
    print(f"wrote {path}")


def _cmd_eval(args, extra) -> int:
    from odegan_jax import checkpoints, scoring

    _no_extra(extra)
    weights = _inception_path(args.inception)
    if weights:  # a bad weights file fails before the run is loaded
        from odegan_jax.metrics.inception import load_inception_variables

        load_inception_variables(weights)
    exp, state, step = _load(args.run_dir, args.step)
    weights = weights or exp.config.eval.get("inception_weights", "")
    result = {
        "run": os.path.abspath(args.run_dir),
        "step": step,
        "params_sha256": checkpoints.params_sha256(state.params, state.model_state),
        **scoring.score_run(exp, state, args.n, weights),
    }
    if exp.config.rule.g_ema_decay:  # the scores are those of G's moving average
        result["g_ema_decay"] = exp.config.rule.g_ema_decay
    print(json.dumps(result, indent=1))
    _write_json(os.path.join(args.run_dir, "eval.json"), result)
    return 0


def _images_only(exp, command: str) -> None:
    from odegan_jax.experiment import RunError

    if exp.is_2d:
        raise RunError(f"`odegan {command}` draws image grids; 2D runs have samples.png")


def _cmd_sample(args, extra) -> int:
    import jax

    from odegan_jax import plots, scoring

    _no_extra(extra)
    exp, state, step = _load(args.run_dir, args.step)
    _images_only(exp, "sample")
    images = scoring.generate(exp, state, args.n, jax.random.PRNGKey(args.seed))
    out = args.out or os.path.join(args.run_dir, f"sample_step{step}_seed{args.seed}.png")
    plots.save_image_grid(out, images)
    print(f"wrote {out} ({args.n} samples, step {step})")
    return 0


def _cmd_gam(args, extra) -> int:
    from odegan_jax import scoring

    _no_extra(extra)
    result = scoring.gam_runs(_load(args.run_a), _load(args.run_b), args.n, args.seed)
    for k, v in result["accuracies"].items():
        print(f"  accuracy {k:12s} {v:.4f}")
    print(
        f"r_test = {result['r_test']:.4f}   r_samples = {result['r_samples']:.4f}   "
        f"winner: {result['winner']}"
    )
    result = {"run_a": os.path.abspath(args.run_a), "run_b": os.path.abspath(args.run_b), **result}
    _write_json(args.out or os.path.join(args.run_a, "gam.json"), result)
    return 0


def _cmd_neighbours(args, extra) -> int:
    import jax

    from odegan_jax import plots, scoring
    from odegan_jax.metrics.neighbours import nearest_neighbours

    _no_extra(extra)
    exp, state, step = _load(args.run_dir, args.step)
    _images_only(exp, "neighbours")
    samples = scoring.generate(exp, state, args.k, jax.random.PRNGKey(args.seed))
    idx, dists = nearest_neighbours(samples, exp.dataset.train)
    out = args.out or os.path.join(args.run_dir, f"neighbours_step{step}.png")
    plots.save_neighbour_grid(out, samples, exp.dataset.train[idx], dists)
    print(f"wrote {out}; L2 distances: " + ", ".join(f"{d:.2f}" for d in dists))
    return 0


def _cmd_plot(args, extra) -> int:
    from odegan_jax import plots

    _no_extra(extra)
    exp, state, step = _load(args.run_dir)
    plots.write_run_plots(exp, state, os.path.abspath(args.run_dir))
    print(
        f"regenerated the plots of {args.run_dir} from metrics.jsonl and the checkpoint "
        f"at step {step}"
    )
    return 0


def _cmd_interpolate(args, extra) -> int:
    import jax

    from odegan_jax import plots
    from odegan_jax.latent import latent_walks

    _no_extra(extra)
    exp, state, step = _load(args.run_dir, args.step)
    _images_only(exp, "interpolate")
    walks = latent_walks(
        exp.game,
        exp.evaluated_params(state),
        state.model_state,
        jax.random.PRNGKey(args.seed),
        args.rows,
        args.cols,
    )
    paths = []
    for name, images in walks.items():
        paths.append(os.path.join(args.run_dir, f"{name}.png"))
        plots.save_image_grid(
            paths[-1], images, ncols=4 if name == "latent_arithmetic" else args.cols
        )
    print("wrote " + ", ".join(paths))
    return 0


PEER_PYTHON_ENV, PEER_SCRIPT_ENV = "ODEGAN_PEER_PYTHON", "ODEGAN_PEER_SCRIPT"


def _peer(args) -> dict:
    """The official notebook's script and its interpreter: the flags, else the environment,
    else the places ../shared/peers/README.md installs them."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    python = (
        args.peer_python
        or os.environ.get(PEER_PYTHON_ENV)
        or os.path.expanduser("~/.venvs/odegan-peer/bin/python")
    )
    script = (
        args.peer_script
        or os.environ.get(PEER_SCRIPT_ENV)
        or os.path.join(os.path.dirname(here), "shared", "peers", "official_notebook_mog16.py")
    )
    return {"python": python, "script": script}


def _cmd_reproduce(args, extra) -> int:
    from odegan_jax import reproduce
    from odegan_jax.config import split_overrides

    overrides = split_overrides(extra)
    if args.name is None:
        _no_extra(extra)
        for name in reproduce.NAMES:
            study = reproduce.get_study(name)
            print(f"{name:18s} {study.title} ({study.source})")
        print(
            "\nodegan reproduce NAME [--gpu | --full] [--seeds 0,1] [--workdir W] [--jobs N] "
            "[--only RUN,...]"
        )
        return 0
    study = reproduce.get_study(args.name)
    seeds = reproduce.parse_seeds(args.seeds) if args.seeds is not None else None
    size = "full" if args.full else "gpu" if args.gpu else "cpu"
    only = [r for r in args.only.split(",") if r] if args.only is not None else None
    reproduce.run_study(
        study.name,
        args.workdir,
        size=size,
        seeds=seeds,
        jobs=args.jobs,
        overrides=overrides,
        peer=_peer(args),
        only=only,
    )
    return 0


def _cmd_configs(args, extra) -> int:
    _no_extra(extra)
    for name in config_names():
        doc = (importlib.import_module(f"odegan_jax.configs.{name}").__doc__ or "").strip()
        print(f"{name:28s} {doc.splitlines()[0] if doc else ''}")
    return 0


def _config_or_run(target: str | None, extra):
    """(config, run directory or None) of a ``CONFIG|RUN_DIR`` argument with overrides."""
    from odegan_jax.experiment import read_run_config

    if target and os.path.isdir(target) and os.path.exists(os.path.join(target, "config.json")):
        _no_extra(extra)
        return read_run_config(target), target
    if target and os.path.isdir(target):
        raise ConfigError(
            f"{target} is a directory without config.json, not a run; give a "
            f"run directory or a config name"
        )
    return resolve_config(target, extra), None


def _cmd_describe(args, extra) -> int:
    from odegan_jax.data import expected_sample_shape
    from odegan_jax.logs import write_json
    from odegan_jax.models import describe_networks

    config, _ = _config_or_run(args.config, extra)
    shape = expected_sample_shape(config.data)
    if shape is None:
        raise ConfigError(
            f"config.data.name: {config.data.name!r} reads files whose shape is "
            f"known only once read; describe a config of a named dataset"
        )
    summary = describe_networks(config.model, shape)
    print(
        f"{config.name}: model {config.model.name}, samples {'×'.join(map(str, shape))}, "
        f"{config.model.latent_size} latents"
    )
    for player in ("G", "D"):
        print(f"\n{player}: {summary[player]['params']:,} trainable parameters")
        print(summary[player]["table"])
    if args.json:
        write_json(args.json, {p: {"params": summary[p]["params"]} for p in ("G", "D")})
    return 0


def _cmd_stiffness(args, extra) -> int:
    from odegan_jax import stiffness
    from odegan_jax.experiment import build, init_state
    from odegan_jax.logs import write_json

    config, run_dir = _config_or_run(args.target, extra)
    stiffness.require_ode_rule(config)
    if run_dir is not None:
        steps = [int(s) for s in args.steps.split(",")] if args.steps else None
        result = stiffness.measure_run(run_dir, steps, k=args.k, tol=args.tol)
        measurements = result["measurements"]
    else:
        exp = build(config)
        m = stiffness.measure(exp, init_state(exp), k=args.k, tol=args.tol, embedded=True)
        measurements = [{"step": 0, **m.to_json()}]
        result = {"config": config.name, "k": args.k, "tol": args.tol, "measurements": measurements}
    for m in measurements:
        values = ", ".join(f"{re:.4g}{im:+.4g}i" for re, im in m["eigenvalues"])
        print(
            f"step {m['step']}: leading eigenvalues {values}"
            + ("" if m["converged"] else " (not all converged)")
        )
        print(
            "  h_max: "
            + ", ".join(
                f"{k} {v if isinstance(v, str) else f'{v:.4g}'}" for k, v in m["h_max"].items()
            )
        )
    print(
        f"config h ({config.rule.integrator}): "
        + "; ".join(
            f"{h:.4g} for steps {lo}–{hi}" for h, lo, hi in stiffness.scheduled_steps(config)
        )
    )
    # the file leads with the newest measurement's numbers, the history beside them
    newest = measurements[-1]
    out = {
        "eigenvalues": newest["eigenvalues"],
        "h_max": newest["h_max"],
        "step": newest["step"],
        **result,
    }
    if args.json:
        write_json(args.json, out)
    return 0


def _count(text: str) -> int:
    """argparse type of a count (samples, images, rows): an integer ≥ 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be ≥ 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="odegan", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("train", help="train a GAN from a config (default: the main job)")
    p.add_argument("--config", help=f"config name or file (default: {DEFAULT_CONFIG})")
    p.add_argument(
        "--workdir",
        help="run directory (default: runs/<config>-<seed>, plus a "
        "digest of the overrides that change the trajectory)",
    )
    p.add_argument(
        "--population",
        metavar="KEY=VALUES",
        help="train N runs as one vmapped program: seed=0:16, rule.h=0.2,0.4,0.8, "
        "rule.reg_weight=..., optimizer.learning_rate=...; member i goes to "
        "WORKDIR/KEY=VALUE (default WORKDIR: runs/<config>-population-KEY=VALUES)",
    )
    p.add_argument(
        "--resume-with-changes",
        action="store_true",
        help="go on from the workdir's checkpoints although its config differs "
        "(recorded in metrics.jsonl); without it such a resume is refused",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_train)
    p = sub.add_parser("configs", help="list the configs in configs/")
    p.set_defaults(func=_cmd_configs)
    p = sub.add_parser("eval", help="score a run (latest or --step checkpoint) into eval.json")
    p.add_argument("run_dir")
    p.add_argument("--step", type=int)
    p.add_argument(
        "--n",
        type=_count,
        help="samples (default: config.eval.num_samples / config.loop.eval_samples)",
    )
    p.add_argument(
        "--inception",
        metavar="NPZ",
        help="FID Inception-v3 weights (.npz, see odegan_jax/metrics/inception.py) "
        f"for Inception IS / FID / KID next to the classifier's (default: "
        f"${INCEPTION_ENV})",
    )
    p.set_defaults(func=_cmd_eval)
    p = sub.add_parser("sample", help="PNG grid of samples from a run")
    p.add_argument("run_dir")
    p.add_argument("--n", type=_count, default=64)
    p.add_argument("--step", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out")
    p.set_defaults(func=_cmd_sample)
    p = sub.add_parser("gam", help="Generative Adversarial Metric between two runs (Varshney19)")
    p.add_argument("run_a")
    p.add_argument("run_b")
    p.add_argument("--n", type=_count, default=10_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="JSON output (default RUN_A/gam.json)")
    p.set_defaults(func=_cmd_gam)
    p = sub.add_parser("neighbours", help="samples next to their L2-nearest training images")
    p.add_argument("run_dir")
    p.add_argument("--k", type=_count, default=8)
    p.add_argument("--step", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out")
    p.set_defaults(func=_cmd_neighbours)
    p = sub.add_parser("plot", help="regenerate a run's plots from its logs and checkpoint")
    p.add_argument("run_dir")
    p.set_defaults(func=_cmd_plot)
    p = sub.add_parser("interpolate", help="latent walks (lerp, slerp) and vector arithmetic")
    p.add_argument("run_dir")
    p.add_argument("--rows", type=_count, default=6)
    p.add_argument("--cols", type=_count, default=10)
    p.add_argument("--step", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_interpolate)
    p = sub.add_parser(
        "describe",
        help="each player's layers, output shapes and trainable parameters (reads no data)",
    )
    p.add_argument(
        "config", nargs="?", help=f"config name, file or run directory (default: {DEFAULT_CONFIG})"
    )
    p.add_argument("--json", help='also write {"G": {"params": N}, "D": {"params": N}} here')
    p.set_defaults(func=_cmd_describe)
    p = sub.add_parser(
        "stiffness",
        help="leading eigenvalues of the training field's "
        "Jacobian and each tableau's largest stable h",
    )
    p.add_argument(
        "target",
        help="a config (measured at initialisation) or a run directory "
        "(measured at its checkpoints)",
    )
    p.add_argument("--json", help="also write the eigenvalues and h_max here")
    p.add_argument("--k", type=_count, default=6, help="eigenvalues to compute (default 6)")
    p.add_argument(
        "--tol",
        type=float,
        default=1e-3,
        help="the eigensolver's relative tolerance (default 1e-3)",
    )
    p.add_argument(
        "--steps",
        help="a run's checkpoint steps to measure, e.g. 0,1000,5000 "
        "(0: the initialisation; default: every checkpoint)",
    )
    p.set_defaults(func=_cmd_stiffness)
    p = sub.add_parser(
        "reproduce",
        help="list the source documents' studies, or run one into W/NAME/ (table.md, "
        "results.json, figures)",
    )
    p.add_argument("name", nargs="?", help="a study (without it: the list)")
    size = p.add_mutually_exclusive_group()
    size.add_argument(
        "--full",
        action="store_true",
        help="the source's own sizes (steps, sample counts; for a GPU) instead of "
        "the CPU-sized default",
    )
    size.add_argument(
        "--gpu",
        action="store_true",
        help="image studies: sized for one GPU (runs of under 10 minutes)",
    )
    p.add_argument("--seeds", help="seeds, e.g. 0,1,2 or 0-15 (default: the study's)")
    p.add_argument(
        "--workdir",
        default="reproductions",
        help="studies go to WORKDIR/NAME (default: reproductions)",
    )
    p.add_argument(
        "--jobs", type=_count, default=1, help="training runs at once, each on one core (default 1)"
    )
    p.add_argument(
        "--only",
        help="train only these runs (RUN,RUN: ids from the study's "
        "table); the others are analysed if finished",
    )
    p.add_argument(
        "--peer-python",
        help=f"interpreter of the official notebook's environment "
        f"(default ${PEER_PYTHON_ENV}, else "
        f"~/.venvs/odegan-peer/bin/python)",
    )
    p.add_argument(
        "--peer-script",
        help=f"official_notebook_mog16.py (default ${PEER_SCRIPT_ENV}, else ../shared/peers/)",
    )
    p.set_defaults(func=_cmd_reproduce)
    return parser


COMPILATION_CACHE_ENV = "ODEGAN_COMPILATION_CACHE"
NO_CACHE = ("0", "off", "false", "no")


def _compilation_cache(command: str) -> None:
    """JAX's persistent compilation cache for the commands that compute: a later run reads its
    programs back (the training calls, evaluation, plots, each of flax's op-by-op
    initialisation's tiny programs) instead of compiling them again. On an H200 the main
    job took 28.2 s instead of 36.5 s, with the same parameters.

    ``$ODEGAN_COMPILATION_CACHE``: the folder (default ``$XDG_CACHE_HOME/odegan_jax/xla``, else
    ``~/.cache/odegan_jax/xla``), or ``0`` for none. A cache the user set for JAX
    (``JAX_COMPILATION_CACHE_DIR``, ``jax.config``) is used as it is."""
    import jax

    where = os.environ.get(COMPILATION_CACHE_ENV, "")
    if command == "configs" or where.lower() in NO_CACHE or jax.config.jax_compilation_cache_dir:
        return
    if not where:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        where = os.path.join(base, "odegan_jax", "xla")
    try:
        os.makedirs(where, exist_ok=True)
    except OSError as e:
        print(
            f"odegan: no compilation cache ({e}); set ${COMPILATION_CACHE_ENV} to a "
            f"writable folder, or to 0",
            file=sys.stderr,
        )
        return
    jax.config.update("jax_compilation_cache_dir", where)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def _one_line_background_errors() -> None:
    """Errors in library threads (tensorboardX's event writer, orbax's savers) and in exit
    callbacks print one line, not a traceback: on a full disk they follow the same cause as
    the one message that says what happened and what to do."""
    import logging
    import threading

    def thread_hook(args) -> None:
        print(
            f"odegan: background thread {args.thread.name if args.thread else '?'}: "
            f"{args.exc_type.__name__}: {args.exc_value}",
            file=sys.stderr,
        )

    def unraisable_hook(info) -> None:
        print(
            f"odegan: ignored at exit: {type(info.exc_value).__name__}: {info.exc_value}",
            file=sys.stderr,
        )

    threading.excepthook = thread_hook
    sys.unraisablehook = unraisable_hook
    # asyncio reports a library task's exception that nobody awaited (orbax's savers after a
    # failed save) with a traceback when the task is collected; the save's own error is ours
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if not argv:
        argv = ["train"]  # `odegan` alone runs the main job
    args, extra = parser.parse_known_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    _compilation_cache(args.command)  # before anything compiles: JAX reads it once
    from odegan_jax.xla_cpu import retain_freed_memory

    retain_freed_memory()  # XLA's per-call buffers reused, not re-faulted (xla_cpu.py)
    from odegan_jax.data import DatasetError
    from odegan_jax.experiment import RunError
    from odegan_jax.metrics.inception import InceptionWeightsError
    from odegan_jax.reproduce import StudyError
    from odegan_jax.rundir import RunDirError
    from odegan_jax.stiffness import StiffnessError

    _one_line_background_errors()
    try:
        return args.func(args, extra)
    except (
        ConfigError,
        DatasetError,
        RunError,
        RunDirError,
        InceptionWeightsError,
        StudyError,
        StiffnessError,
        FileNotFoundError,
    ) as e:
        print(f"odegan: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `odegan configs | head`: the reader left; not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes at exit
        return 0


if __name__ == "__main__":
    sys.exit(main())
