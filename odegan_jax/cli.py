"""The ``odegan`` command line.

    odegan train [--config NAME|FILE] [--workdir DIR] [--config.KEY=VALUE ...]
    odegan configs
    odegan eval RUN_DIR [--step N] [--n N]      scores into RUN_DIR/eval.json
    odegan sample RUN_DIR [--n 64]              PNG grid of samples
    odegan gam RUN_A RUN_B                      Generative Adversarial Metric (000 §4.2.3)
    odegan neighbours RUN_DIR [--k 8]           samples next to their nearest training images
    odegan plot RUN_DIR                         regenerate the plots from the logs
    odegan interpolate RUN_DIR                  latent walks and vector arithmetic (004)

``--config`` takes the name of a file in ``configs/`` (e.g. ``mog16_official``) or a path to a
config file defining ``get_config()``; without it, the main job (``mog16_rk4``) runs. Any
value can be overridden: ``--config.seed=3 --config.rule.h=0.05``.
"""
from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import json
import os
import pkgutil
import sys

import ml_collections

from odegan_jax.config import ConfigError

DEFAULT_CONFIG = "mog16_rk4"


def config_names() -> list[str]:
    import odegan_jax.configs as pkg
    return sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_"))


def load_config(name_or_path: str) -> ml_collections.ConfigDict:
    """Loads ``get_config()`` from a file path or from a config name in ``configs/``."""
    if name_or_path.endswith(".py") or os.path.sep in name_or_path:
        if not os.path.isfile(name_or_path):
            raise ConfigError(f"--config: no such file {name_or_path!r}")
        spec = importlib.util.spec_from_file_location("odegan_user_config", name_or_path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        if name_or_path not in config_names():
            raise ConfigError(f"--config: unknown config {name_or_path!r}; available: "
                              f"{', '.join(config_names())} (or give a path to a .py file)")
        module = importlib.import_module(f"odegan_jax.configs.{name_or_path}")
    if not hasattr(module, "get_config"):
        raise ConfigError(f"--config: {name_or_path!r} defines no get_config()")
    return module.get_config()


_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


def _parse(text: str, field_type, key: str):
    try:
        if field_type is bool:
            low = text.lower()
            if low not in _TRUE | _FALSE:
                raise ValueError
            return low in _TRUE
        if field_type is int:
            value = float(text)
            if not value.is_integer():
                raise ValueError
            return int(value)
        if field_type is float:
            return float(text)
        if field_type is str:
            return text
        if field_type in (tuple, list):
            value = ast.literal_eval(text)
            return field_type(value if isinstance(value, (tuple, list)) else (value,))
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        name = getattr(field_type, "__name__", str(field_type))
        raise ConfigError(f"config.{key}: cannot read {text!r} as {name}") from None


def apply_override(config: ml_collections.ConfigDict, key: str, text: str) -> None:
    """Sets ``config.<key>`` from the command-line string ``text``, typed like the default."""
    *parents, leaf = key.split(".")
    node = config
    for i, part in enumerate(parents):
        if part not in node or not isinstance(node[part], ml_collections.ConfigDict):
            raise ConfigError(f"config.{'.'.join(parents[:i + 1])}: no such config block")
        node = node[part]
    if leaf not in node:
        raise ConfigError(f"config.{key}: no such key; keys here: {', '.join(sorted(node.keys()))}")
    if isinstance(node[leaf], ml_collections.ConfigDict):
        raise ConfigError(f"config.{key} is a block; set one of its keys: "
                          f"{', '.join(sorted(node[leaf].keys()))}")
    node[leaf] = _parse(text, node.get_ref(leaf).get_type(), key)


def _split_overrides(extra: list[str]) -> list[tuple[str, str]]:
    overrides = []
    for arg in extra:
        if not arg.startswith("--config.") or "=" not in arg:
            raise ConfigError(f"unrecognised argument {arg!r}; config values are set as "
                              f"--config.KEY=VALUE")
        key, value = arg[len("--config."):].split("=", 1)
        overrides.append((key, value))
    return overrides


def resolve_config(name: str | None, extra: list[str]) -> ml_collections.ConfigDict:
    config = load_config(name or DEFAULT_CONFIG)
    for key, value in _split_overrides(extra):
        apply_override(config, key, value)
    return config


def _cmd_train(args, extra) -> int:
    from odegan_jax import train
    config = resolve_config(args.config, extra)
    train.config_lib.validate(config)  # one clear error before anything is built
    progress = False if args.no_progress else None
    try:
        train.train(config, args.workdir, progress=progress)
    except train.NonFiniteError as e:
        print(f"odegan: {e}", file=sys.stderr)
        return 3
    return 0


def _no_extra(extra):
    if extra:
        raise ConfigError(f"unrecognised arguments: {' '.join(extra)}")


def _cmd_eval(args, extra) -> int:
    from odegan_jax import evaluate
    _no_extra(extra)
    if args.inception:  # a bad weights file fails before the run is loaded
        from odegan_jax.metrics.inception import load_inception_variables
        load_inception_variables(args.inception)
    result = evaluate.evaluate_run(args.run_dir, args.step, args.n, args.inception or "")
    print(json.dumps(result, indent=1))
    print(f"wrote {os.path.join(args.run_dir, 'eval.json')}")
    return 0


def _cmd_sample(args, extra) -> int:
    import jax
    from odegan_jax import evaluate, plots
    _no_extra(extra)
    exp, state, step = evaluate.load_run(args.run_dir, args.step)
    if exp.dataset.distribution is not None:
        raise evaluate.RunError("`odegan sample` draws image grids; 2D runs have samples.png")
    images = evaluate.generate(exp, state, args.n, jax.random.PRNGKey(args.seed))
    out = args.out or os.path.join(args.run_dir, f"sample_step{step}_seed{args.seed}.png")
    plots.save_image_grid(out, images)
    print(f"wrote {out} ({args.n} samples, step {step})")
    return 0


def _cmd_gam(args, extra) -> int:
    from odegan_jax import evaluate
    _no_extra(extra)
    result = evaluate.gam(args.run_a, args.run_b, args.n)
    for k, v in result["accuracies"].items():
        print(f"  accuracy {k:12s} {v:.4f}")
    print(f"r_test = {result['r_test']:.4f}   r_samples = {result['r_samples']:.4f}   "
          f"winner: {result['winner']}")
    out = args.out or os.path.join(args.run_a, "gam.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    print(f"wrote {out}")
    return 0


def _cmd_neighbours(args, extra) -> int:
    from odegan_jax import evaluate
    _no_extra(extra)
    exp, state, step = evaluate.load_run(args.run_dir, args.step)
    out = args.out or os.path.join(args.run_dir, f"neighbours_step{step}.png")
    dists = evaluate.nearest_neighbours(exp, state, args.k, out, args.seed)
    print(f"wrote {out}; L2 distances: " + ", ".join(f"{d:.2f}" for d in dists))
    return 0


def _cmd_plot(args, extra) -> int:
    from odegan_jax import evaluate, train
    _no_extra(extra)
    exp, state, step = evaluate.load_run(args.run_dir)
    train.write_plots(exp, state, os.path.abspath(args.run_dir))
    print(f"regenerated the plots of {args.run_dir} from metrics.jsonl and the checkpoint "
          f"at step {step}")
    return 0


def _cmd_interpolate(args, extra) -> int:
    from odegan_jax import evaluate, latent
    _no_extra(extra)
    exp, state, step = evaluate.load_run(args.run_dir, args.step)
    try:
        paths = latent.write_latent_walks(exp, state, args.run_dir, args.rows, args.cols,
                                          args.seed)
    except ValueError as e:
        raise evaluate.RunError(str(e)) from None
    print("wrote " + ", ".join(paths))
    return 0


def _cmd_configs(args, extra) -> int:
    if extra:
        raise ConfigError(f"unrecognised arguments: {' '.join(extra)}")
    for name in config_names():
        doc = (importlib.import_module(f"odegan_jax.configs.{name}").__doc__ or "").strip()
        print(f"{name:28s} {doc.splitlines()[0] if doc else ''}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="odegan", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("train", help="train a GAN from a config (default: the main job)")
    p.add_argument("--config", help=f"config name or file (default: {DEFAULT_CONFIG})")
    p.add_argument("--workdir", help="run directory (default: runs/<config>-<seed>)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_train)
    p = sub.add_parser("configs", help="list the configs in configs/")
    p.set_defaults(func=_cmd_configs)
    p = sub.add_parser("eval", help="score a run (latest or --step checkpoint) into eval.json")
    p.add_argument("run_dir")
    p.add_argument("--step", type=int)
    p.add_argument("--n", type=int, help="samples (default: config.eval.num_samples / "
                                         "config.loop.eval_samples)")
    p.add_argument("--inception", metavar="NPZ",
                   help="FID Inception-v3 weights (.npz, see odegan_jax/metrics/inception.py) "
                        "for Inception IS / FID / KID next to the classifier's")
    p.set_defaults(func=_cmd_eval)
    p = sub.add_parser("sample", help="PNG grid of samples from a run")
    p.add_argument("run_dir")
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--step", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out")
    p.set_defaults(func=_cmd_sample)
    p = sub.add_parser("gam", help="Generative Adversarial Metric between two runs (000)")
    p.add_argument("run_a")
    p.add_argument("run_b")
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--out", help="JSON output (default RUN_A/gam.json)")
    p.set_defaults(func=_cmd_gam)
    p = sub.add_parser("neighbours", help="samples next to their L2-nearest training images")
    p.add_argument("run_dir")
    p.add_argument("--k", type=int, default=8)
    p.add_argument("--step", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out")
    p.set_defaults(func=_cmd_neighbours)
    p = sub.add_parser("plot", help="regenerate a run's plots from its logs and checkpoint")
    p.add_argument("run_dir")
    p.set_defaults(func=_cmd_plot)
    p = sub.add_parser("interpolate", help="latent walks (lerp, slerp) and vector arithmetic")
    p.add_argument("run_dir")
    p.add_argument("--rows", type=int, default=6)
    p.add_argument("--cols", type=int, default=10)
    p.add_argument("--step", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_interpolate)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if not argv:
        argv = ["train"]  # `odegan` alone runs the main job
    args, extra = parser.parse_known_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from odegan_jax.data import DatasetError
    from odegan_jax.evaluate import RunError
    from odegan_jax.metrics.inception import InceptionWeightsError
    try:
        return args.func(args, extra)
    except (ConfigError, DatasetError, RunError, InceptionWeightsError, FileNotFoundError) as e:
        print(f"odegan: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
