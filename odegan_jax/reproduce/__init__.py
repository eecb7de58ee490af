"""``odegan reproduce``: the source documents' experiments as data, re-run into tables next to
their numbers.

A study is a module in this package exposing ``STUDY``, a :class:`Study`: its runs (configs in
``configs/`` with overrides, for each seed) and an ``analyse`` function that turns the finished
runs into a :class:`Report` (the source's claims next to ours with a verdict, detail tables, the
numbers, figures). :func:`run_study` trains the runs as ``odegan train`` subprocesses into
``W/NAME/runs/<run id>/`` and writes ``W/NAME/table.md``, ``results.json`` and the PNG figures.

Resuming is the run directories' own: a run with ``summary.json`` is finished and skipped, a
run that ended with an error wrote ``failed.json`` (it is a marked row, not retried), and a run
killed mid-way resumes from its checkpoints, bit-exact. A finished run's record
(``config.json``, ``metrics.jsonl``, ``summary.json``, its sample grids; :data:`RECORD_FILES`)
is what the repository commits under ``results/NAME/runs/RUN/``, without checkpoints, so
``odegan reproduce NAME --workdir results`` on a fresh clone re-analyses the committed runs
and trains only the missing ones: a study longer than one sitting finishes over several.
``only`` (``--only RUN,RUN``) trains a subset; the runs it leaves out that have no record are
``pending`` rows of the report. ``W/NAME/study.json`` records the
study, its size and any extra overrides; a directory made with other settings, or holding
anything else, is refused before a run starts.

Sizes (:data:`SIZES`): ``cpu``, the default, fits this project's 2-core machine; ``gpu``
(``--gpu``, image studies only) fits one GPU and runs of under 10 minutes each; ``full``
(``--full``) is the source documents' own size, for users with their own GPUs.
"""

from __future__ import annotations

import ctypes
import dataclasses
import importlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from odegan_jax import logs
from odegan_jax.rundir import RunDirError, RunLock

NAMES = (
    "dirac_stability",
    "order_study",
    "lambda_sweep",
    "loss_balance",
    "depth_2d",
    "wgan_critics",
    "optimizers_2d",
    "main_job_seeds",
    "official_notebook",
    "adaptive_steps",
    "optimizers_latent",
    "odegan_vs_adam_images",
    "ngan_vs_dcgan_gam",
    "depth_images",
)
SIZES = ("cpu", "gpu", "full")
# "undecided": the runs finished, but the difference the claim is about lies within the
# spread over seeds (or the size cannot settle it); the table says which
VERDICTS = ("reproduced", "partly", "not reproduced", "undecided", "not run")
# the files of a finished run that a study's committed record keeps (no checkpoints, no
# TensorBoard events): what re-analysis reads
RECORD_FILES = (
    "config.json",
    "metrics.jsonl",
    "summary.json",
    "failed.json",
    "stiffness.json",
    "samples.png",
    "curves.png",
)
# the source documents' claims on data or at sizes no committed study has run (CIFAR-10 is not
# offline
# here; the image studies ran on Fashion-MNIST at CPU size)
IMAGE_CLAIMS = (
    (
        "Qin20 Table 1",
        "ODE-GAN (RK4) DCGAN on CIFAR-10: FID 17.66 best / 18.05 final, IS 7.97 / "
        "7.86, better than SN-GAN's 21.71 / 26.16 (odegan_vs_adam_images on "
        "CIFAR-10: --config.data.name=cifar10 is not enough, the configs "
        "cifar10_odegan_dcgan_fig12 / cifar10_sngan / cifar10_odegan_adam are)",
    ),
    (
        "Qin20 Table 1, Fig. 6",
        "ODE-GAN (RK4) ResNet on CIFAR-10: FID 11.85 / 12.50 vs SN-GAN 15.97 / 23.98",
    ),
    (
        "Qin20 Fig. 7, Table 1",
        "RK4 + Adam degrades late at 1M steps (final FID 23.20 against RK4's 18.05)",
    ),
    (
        "Qin20 Fig. 3 / 4 on CIFAR-10",
        "the order and λ studies at the source's own scale (h = 0.02 / 0.04 on CIFAR-10)",
    ),
    (
        "Varshney19 §4.2.3 on MNIST",
        "NGAN against DCGAN by GAM on MNIST itself (ngan_vs_dcgan_gam --config.data.name=mnist)",
    ),
    (
        "Yamazaki17 §5.2 on MNIST",
        "MNIST depth at 30,000 iterations: M3_B best (IS 9.73 vs M0_B 9.14) "
        "(depth_images --full --config.data.name=mnist)",
    ),
    (
        "Yamazaki17 §5.2",
        "CIFAR-10 depth (M_dC, configs cifar10_depth_d0..d3): scores per d, mode "
        "collapse of the deepest",
    ),
    (
        "Bhope19 Exp. B, D on MNIST",
        "latent size and optimisers on MNIST (optimizers_latent runs "
        "them on Fashion-MNIST, at CPU size)",
    ),
)


SIZE_NAMES = {"cpu": "CPU size", "gpu": "GPU size (--gpu)", "full": "full size (--full)"}


class StudyError(ValueError):
    """A study cannot run as asked; the message says what to change."""


@dataclasses.dataclass(frozen=True)
class Run:
    """One training run of a study: ``odegan train --config CONFIG --config.seed=SEED
    --config.KEY=VALUE ...`` into ``runs/<id>``; ``kind="peer"``: the official notebook's
    script with ``peer_args`` (see ``../shared/peers``), its JSON in ``runs/<id>/peer.json``."""

    id: str
    config: str
    overrides: tuple = ()  # ((key, value), ...): python values, typed like the config's
    seed: int = 0
    kind: str = "train"
    peer_args: tuple = ()
    labels: tuple = ()  # ((name, value), ...): what the analysis groups by

    @property
    def label(self) -> dict:
        return dict(self.labels)


@dataclasses.dataclass
class Outcome:
    """What became of a run: status ``ok`` | ``diverged`` (exit 3: non-finite, or a dead G that
    ``loop.dead_generator`` stopped) | ``failed`` (another error) | ``unavailable`` (a peer
    that is not installed) | ``pending`` (left out by ``--only`` and not finished before)."""

    run: Run
    dir: str
    status: str
    summary: dict = dataclasses.field(default_factory=dict)
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def metrics(self) -> list[dict]:
        path = os.path.join(self.dir, "metrics.jsonl")
        return logs.read_metrics(path) if os.path.exists(path) else []

    def final(self) -> dict:
        return self.summary.get("final", {})

    def load(self, step: int | None = None) -> tuple:
        """``(experiment, state, step)`` of the run's checkpoint (default: the last)."""
        from odegan_jax.experiment import load_run

        return load_run(self.dir, step)


@dataclasses.dataclass
class Claim:
    """One row of a study's claims table."""

    claim: str
    source: str
    reported: str  # the source's number or statement
    ours: str
    verdict: str
    why: str


@dataclasses.dataclass
class Report:
    claims: list
    tables: list = dataclasses.field(default_factory=list)  # (title, headers, rows)
    numbers: dict = dataclasses.field(default_factory=dict)
    figures: dict = dataclasses.field(default_factory=dict)  # file name -> Figure
    notes: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Study:
    name: str
    title: str
    source: str  # the sections of the source documents this study re-runs
    runs: Callable[[str, Sequence[int]], list]  # (size, seeds) -> [Run]; size in SIZES
    analyse: Callable[[Context], Report]
    seeds: tuple = (0, 1)  # default seeds
    sizes: str = ""  # what the CPU size and --full change, for the table
    gpu: str = ""  # what --gpu changes; empty: the study has no GPU size (--gpu is refused)


@dataclasses.dataclass
class Context:
    study: Study
    dir: str
    size: str  # one of SIZES
    seeds: tuple
    outcomes: list  # [Outcome] in the order of the study's runs
    peer: dict = dataclasses.field(default_factory=dict)

    @property
    def full(self) -> bool:
        return self.size == "full"

    def select(self, **labels: Any) -> list:
        return [o for o in self.outcomes if all(o.run.label.get(k) == v for k, v in labels.items())]


def get_study(name: str) -> Study:
    if name not in NAMES:
        raise StudyError(
            f"unknown study {name!r}; studies: {', '.join(NAMES)} (`odegan reproduce` lists them)"
        )
    return importlib.import_module(f"odegan_jax.reproduce.{name}").STUDY


def parse_seeds(text: str) -> tuple:
    """``"0,1,2"``, ``"0-15"`` or a mix (``"0-3,7"``) → a tuple of distinct seeds ≥ 0."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part[1:]:
                lo, hi = part.split("-", 1)
                lo, hi = int(lo), int(hi)
                if hi < lo:
                    raise ValueError
                seeds.extend(range(lo, hi + 1))
            else:
                seeds.append(int(part))
    except ValueError:
        raise StudyError(
            f"--seeds {text!r} does not parse; write seeds as 0,1,2 or a range "
            f"0-15 (or both: 0-3,7)"
        ) from None
    if not seeds or min(seeds) < 0 or max(seeds) >= 2**32:
        raise StudyError(f"--seeds {text!r}: seeds are integers 0 … 2**32 - 1")
    return tuple(dict.fromkeys(seeds))


def override_text(value: object) -> str:
    """A config value as ``--config.KEY=`` text (typed back by ``config.apply_override``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return (
            "(" + ",".join(override_text(v) for v in value) + ("," if len(value) == 1 else "") + ")"
        )
    return repr(value) if isinstance(value, float) else str(value)


def train_command(run: Run, run_dir: str, extra: Sequence[tuple] = ()) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "odegan_jax.cli",
        "train",
        "--config",
        run.config,
        "--workdir",
        run_dir,
        "--no-progress",
        *_override_args(run, extra),
    ]
    return cmd


def _override_args(run: Run, extra: Sequence[tuple] = ()) -> list[str]:
    """``--config.KEY=VALUE`` of ``run``: its seed, its overrides, then the study's ``extra``."""
    return [f"--config.seed={run.seed}"] + [
        f"--config.{key}={override_text(value)}" for key, value in (*run.overrides, *extra)
    ]


def _read_json(path: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _check_study_dir(study_dir: str, record: dict) -> None:
    parent = os.path.dirname(study_dir)
    if os.path.exists(os.path.join(parent, "config.json")):
        raise StudyError(
            f"--workdir {parent} is a training run's directory; give a directory "
            f"for studies (e.g. reproductions/)"
        )
    if os.path.isfile(study_dir):
        raise StudyError(f"{study_dir} is a file; choose another --workdir")
    old = _read_json(os.path.join(study_dir, "study.json"))
    if old is None:
        if os.path.isdir(study_dir) and os.listdir(study_dir):
            raise StudyError(
                f"{study_dir} exists and holds no study.json (it is not a study's "
                f"directory); move it aside or choose another --workdir"
            )
        return
    old.setdefault("size", "full" if old.get("full") else "cpu")  # written before --gpu
    for key, what in (
        ("study", "study"),
        ("size", "size (--gpu, --full or neither)"),
        ("overrides", "extra --config overrides"),
    ):
        if old.get(key) != record[key]:
            raise StudyError(
                f"{study_dir} holds the runs of another {what}: {old.get(key)!r} there, "
                f"{record[key]!r} now. Nothing was changed; choose another --workdir"
            )


def _check_data(study: Study, runs: Sequence[Run], extra: Sequence[tuple]) -> None:
    """Every image dataset the study's runs train on loads, before the first run starts: a
    missing one is one error naming the dataset and what to install or where to put it, not a
    failed row per run."""
    from odegan_jax.config import ConfigError, resolve_config
    from odegan_jax.data import images

    seen = set()
    for run in runs:
        if run.kind != "train":
            continue
        pairs = tuple(run.overrides) + tuple(extra)
        data = resolve_config(
            run.config, [f"--config.{k}={override_text(v)}" for k, v in pairs]
        ).data
        spec = (data.name, data.source, data.path, data.image_size)
        if data.name not in images.IMAGE_DATASETS or spec in seen:
            continue
        seen.add(spec)
        try:
            images.load_images(data.name, data.source, data.path, "train", data.image_size)
        except (images.DatasetError, ConfigError) as e:
            raise StudyError(
                f"study {study.name} trains on {data.name!r}, which cannot be "
                f"loaded: {e}. Nothing was run"
            ) from None


def _outcome(run: Run, run_dir: str) -> Outcome | None:
    """The finished outcome of a run, or None when it has to (re)start or resume."""
    failed = _read_json(os.path.join(run_dir, "failed.json"))
    if failed is not None:
        return Outcome(run, run_dir, failed.get("status", "failed"), error=failed.get("error", ""))
    if run.kind == "peer":
        peer = _read_json(os.path.join(run_dir, "peer.json"))
        return None if peer is None else Outcome(run, run_dir, "ok", summary=peer)
    summary = _read_json(os.path.join(run_dir, "summary.json"))
    return None if summary is None else Outcome(run, run_dir, "ok", summary=summary)


def _last_error(text: str) -> str:
    lines = [l for l in text.strip().splitlines() if l.strip()]
    errors = [l for l in lines if l.startswith("odegan:") or "Error" in l]
    return (errors or lines or ["(no output)"])[-1][:400]


def _die_with_parent() -> None:
    """In a run's subprocess: SIGTERM when the study's process dies, so that a killed study
    leaves no orphan run holding its directory's lock (Linux; elsewhere a no-op)."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _pin_to(cpu: int | None) -> Callable[[], None]:
    """The subprocess set-up: die with the study's process; with ``cpu``, run on that core
    alone (XLA sizes its thread pool by the cores a process may use: one thread)."""

    def setup() -> None:
        _die_with_parent()
        if cpu is not None:
            try:
                os.sched_setaffinity(0, {cpu})
            except (AttributeError, OSError):  # not Linux, or the core is not ours
                pass

    return setup


def _execute(
    run: Run, run_dir: str, extra, peer: dict, echo, selected: bool = True, cpus=None
) -> Outcome:
    done = _outcome(run, run_dir)
    if done is not None:
        echo(f"  {run.id}: finished before ({done.status}), skipped")
        return done
    if not selected:
        return Outcome(run, run_dir, "pending", error="not run yet (left out by --only)")
    os.makedirs(run_dir, exist_ok=True)
    if run.kind == "peer":
        python, script = peer.get("python", ""), peer.get("script", "")
        if not (python and script and os.path.isfile(python) and os.path.isfile(script)):
            return Outcome(
                run,
                run_dir,
                "unavailable",
                error="the official notebook's script or its environment is not "
                "installed (see ../shared/peers/README.md; "
                "--peer-python / --peer-script)",
            )
        args = [str(a) for a in run.peer_args]
        for key, value in extra:  # a smoke test's shorter runs shorten the peer's too
            if key == "steps" and "--steps" in args:
                args[args.index("--steps") + 1] = str(value)
        cmd = [python, script, *args, "--json", os.path.join(run_dir, "peer.json.tmp")]
    else:
        cmd = train_command(run, run_dir, extra)
    start = time.perf_counter()
    cpu = cpus.get() if cpus is not None else None
    try:
        with open(os.path.join(run_dir, "..", f"{run.id}.log"), "w", encoding="utf-8") as log:
            proc = subprocess.run(
                cmd, stdout=log, stderr=subprocess.STDOUT, text=True, preexec_fn=_pin_to(cpu)
            )
    finally:
        if cpus is not None:
            cpus.put(cpu)
    with open(os.path.join(run_dir, "..", f"{run.id}.log"), encoding="utf-8") as f:
        output = f.read()
    wall = time.perf_counter() - start
    if run.kind == "peer" and proc.returncode == 0:
        os.replace(os.path.join(run_dir, "peer.json.tmp"), os.path.join(run_dir, "peer.json"))
    if proc.returncode < 0:  # killed by a signal: nothing is recorded, a re-run resumes
        raise StudyError(
            f"run {run.id} was killed by signal {-proc.returncode}; nothing was "
            f"recorded for it: run the study again to resume it"
        )
    done = _outcome(run, run_dir)
    if proc.returncode == 0 and done is not None:
        echo(f"  {run.id}: done in {wall:.0f} s")
        return done
    status = "diverged" if proc.returncode == 3 else "failed"
    error = _last_error(output)
    logs.write_json(
        os.path.join(run_dir, "failed.json"),
        {"status": status, "error": error, "returncode": proc.returncode, "command": cmd},
    )
    echo(f"  {run.id}: {status} ({error})")
    return Outcome(run, run_dir, status, error=error)


def run_study(
    name: str,
    workdir: str,
    *,
    size: str = "cpu",
    seeds: Sequence[int] | None = None,
    jobs: int = 1,
    overrides: Sequence[tuple] = (),
    peer: dict | None = None,
    echo: Callable[[str], None] = print,
    study: Study | None = None,
    only: Sequence[str] | None = None,
) -> dict:
    """Runs (or resumes) study ``name`` into ``workdir/name``; returns ``results.json``'s
    content. ``overrides``: extra ``(key, text)`` config overrides for every training run
    (smoke tests: ``("steps", "200")``). ``only``: run ids to train (the others are analysed
    if finished, ``pending`` otherwise). ``jobs`` > 1 runs that many at once, each pinned to
    one core (one XLA thread) when the machine has that many."""
    study = study or get_study(name)
    if size not in SIZES:
        raise ValueError(f"size {size!r} is not one of {SIZES}")
    if size == "gpu" and not study.gpu:
        raise StudyError(
            f"study {study.name} has no --gpu size (its runs are launch-bound "
            f"or CPU-sized already); run it without --gpu, or with --full"
        )
    seeds = tuple(seeds) if seeds is not None else study.seeds
    study_dir = os.path.abspath(os.path.join(workdir, study.name))
    record = {
        "study": study.name,
        "size": size,
        "full": size == "full",
        "overrides": [list(o) for o in overrides],
    }
    _check_study_dir(study_dir, record)
    runs = study.runs(size, seeds)
    ids = [r.id for r in runs]
    if len(set(ids)) != len(ids):
        raise StudyError(f"study {study.name}: run ids repeat")
    if only is not None:
        unknown = sorted(set(only) - set(ids))
        if unknown:
            raise StudyError(
                f"--only: study {study.name} has no run {', '.join(unknown)}; "
                f"its runs: {', '.join(ids)}"
            )
    selected = set(ids if only is None else only)
    _check_data(study, [r for r in runs if r.id in selected], overrides)
    _check_records(study_dir, runs, overrides)
    os.makedirs(os.path.join(study_dir, "runs"), exist_ok=True)
    try:
        lock = RunLock(study_dir)
    except RunDirError:
        raise StudyError(
            f"another `odegan reproduce {study.name}` is running in {study_dir}; "
            f"wait for it, or choose another --workdir"
        ) from None
    try:
        logs.write_json(os.path.join(study_dir, "study.json"), record)
        return _run_locked(
            study, study_dir, runs, size, seeds, jobs, overrides, peer or {}, echo, selected
        )
    finally:
        lock.release()


def _run_config(run: Run, overrides: Sequence[tuple] = ()) -> dict:
    """The resolved config ``run`` trains with, as ``config.json`` holds it."""
    from odegan_jax.config import resolve_config

    return resolve_config(run.config, _override_args(run, overrides)).to_dict()


def _check_records(study_dir: str, runs: Sequence[Run], overrides: Sequence[tuple]) -> None:
    """A finished record under ``runs/`` counts as done only if it is the run the study asks
    for: the same trajectory config and the same ``steps`` (bookkeeping keys, ``loop.*`` and
    ``eval.*``, may differ). Anything else is one error naming the run and the keys, before
    anything trains, so a record of another size or an older design is never read as this
    one."""
    from odegan_jax.rundir import trajectory_differences

    for run in runs:
        run_dir = os.path.join(study_dir, "runs", run.id)
        if run.kind == "peer" or _outcome(run, run_dir) is None:
            continue
        saved = _read_json(os.path.join(run_dir, "config.json"))
        if saved is None:
            continue
        wanted = _run_config(run, overrides)
        diff = trajectory_differences(saved, wanted)
        if saved.get("rule", {}).get("h_auto"):  # h = auto: config.json holds the h it chose
            diff.pop("rule.h", None)
        if saved.get("steps") != wanted.get("steps"):
            diff["steps"] = (saved.get("steps"), wanted.get("steps"))
        if diff:
            shown = "; ".join(f"{k}: {a!r} there, {b!r} here" for k, (a, b) in diff.items())
            raise StudyError(
                f"{run_dir} holds a finished record of another run than the study's "
                f"{run.id} ({shown}); move it aside (or delete it) to train the run anew"
            )


def _core_pool(jobs: int):
    """A queue of the cores the study's runs are pinned to (one each), or None (jobs = 1,
    or fewer usable cores than jobs: no pinning)."""
    import queue

    try:
        cores = sorted(os.sched_getaffinity(0))
    except AttributeError:
        return None
    if jobs < 2 or len(cores) < jobs:
        return None
    pool: queue.Queue = queue.Queue()
    for c in cores[:jobs]:
        pool.put(c)
    return pool


def _run_locked(study, study_dir, runs, size, seeds, jobs, overrides, peer, echo, selected) -> dict:
    echo(
        f"odegan reproduce {study.name}: {len(runs)} runs "
        f"({SIZE_NAMES[size]}, seeds {','.join(map(str, seeds)) or '-'}) "
        f"into {study_dir}"
        + (f", training {len(selected)} of them" if len(selected) < len(runs) else "")
    )
    start = time.perf_counter()
    run_dir = lambda r: os.path.join(study_dir, "runs", r.id)  # noqa: E731
    cpus = _core_pool(jobs)
    with ThreadPoolExecutor(jobs) as pool:  # jobs = 1: one after another, in order
        outcomes = list(
            pool.map(
                lambda r: _execute(r, run_dir(r), overrides, peer, echo, r.id in selected, cpus),
                runs,
            )
        )
    ctx = Context(study, study_dir, size, seeds, outcomes, peer)
    report = study.analyse(ctx)
    results = write_report(ctx, report, overrides)
    write_index(os.path.dirname(study_dir))
    echo(
        f"odegan reproduce {study.name}: done in {time.perf_counter() - start:.0f} s; "
        f"{os.path.join(study_dir, 'table.md')}"
    )
    return results


# ------------------------------------------------------------------------------------------
# Writing a report
# ------------------------------------------------------------------------------------------


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def run_row(o: Outcome) -> dict:
    """The per-run record of results.json."""
    final = o.final()
    row = {
        "config": o.run.config,
        "seed": o.run.seed,
        "kind": o.run.kind,
        "overrides": {k: v for k, v in o.run.overrides},
        "labels": o.run.label,
        "status": o.status,
    }
    if o.error:
        row["error"] = o.error
    if o.ok and o.run.kind == "train":
        row.update(
            params_sha256=o.summary.get("params_sha256"),
            wall_time_s=o.summary.get("wall_time_s"),
            retries=o.summary.get("retries"),
            rollbacks=o.summary.get("rollbacks"),
            final={
                k: final[k]
                for k in ("modes_covered", "hq_fraction", "loss_d", "loss_g", "d_real", "d_fake")
                if k in final
            },
        )
    elif o.ok:
        row["peer"] = o.summary
    return row


def write_report(
    ctx: Context, report: Report, overrides: Sequence[tuple[str, object]] = ()
) -> dict:
    for claim in report.claims:
        if claim.verdict not in VERDICTS:
            raise ValueError(f"verdict {claim.verdict!r} is not one of {VERDICTS}")
    study = ctx.study
    figures = []
    for fname, fig in report.figures.items():
        fig.savefig(os.path.join(ctx.dir, fname), dpi=100)
        figures.append(fname)
    failed = [o for o in ctx.outcomes if not o.ok]
    parts = [
        f"# {study.name}: {study.title}",
        "",
        f"Sources: {study.source}. Size: {SIZE_NAMES[ctx.size]}"
        f"{'; ' + study.sizes if study.sizes else ''}"
        f"{'; --gpu: ' + study.gpu if study.gpu else ''}."
        + (f" Seeds: {', '.join(map(str, ctx.seeds))}." if ctx.seeds else "")
        + (
            f" Extra overrides: {', '.join(f'{k}={v}' for k, v in overrides)}." if overrides else ""
        ),
        "",
        "## Claims",
        "",
        markdown_table(
            ["claim", "source", "reported", "ours", "verdict", "why"],
            [
                [c.claim, c.source, c.reported, c.ours, f"**{c.verdict}**", c.why]
                for c in report.claims
            ],
        ),
    ]
    for title, headers, rows in report.tables:
        parts += ["", f"## {title}", "", markdown_table(headers, rows)]
    if report.notes:
        parts += ["", "## Notes", ""] + [f"- {n}" for n in report.notes]
    if figures:
        parts += ["", "## Figures", ""] + [f"![{f}]({f})" for f in figures]
    parts += [
        "",
        "## Runs",
        "",
        f"{len(ctx.outcomes)} runs, {len(failed)} not finished normally "
        f"(marked rows above; the error of each is in results.json)."
        if ctx.outcomes
        else "No training runs (computed in the analysis).",
        "",
    ]
    if ctx.outcomes:
        parts.append(
            markdown_table(
                ["run", "status", "params_sha256", "wall s"],
                [
                    [
                        o.run.id,
                        o.status if o.ok else f"**{o.status}**",
                        (o.summary.get("params_sha256") or "")[:16],
                        o.summary.get("wall_time_s", o.summary.get("wall_s", "")),
                    ]
                    for o in ctx.outcomes
                ],
            )
        )
    with open(os.path.join(ctx.dir, "table.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(parts) + "\n")
    results = {
        "study": study.name,
        "title": study.title,
        "source": study.source,
        "size": ctx.size,
        "full": ctx.full,
        "seeds": list(ctx.seeds),
        "overrides": [list(o) for o in overrides],
        "claims": [dataclasses.asdict(c) for c in report.claims],
        "numbers": report.numbers,
        "figures": figures,
        "runs": {o.run.id: run_row(o) for o in ctx.outcomes},
    }
    logs.write_json(os.path.join(ctx.dir, "results.json"), results)
    return results


def write_index(workdir: str) -> None:
    """``workdir/README.md``: every claim of every study found in ``workdir/*/results.json``,
    with its verdict and a link to the study's table, in the order of :data:`NAMES`."""
    found = {name: _read_json(os.path.join(workdir, name, "results.json")) for name in NAMES}
    found = {k: v for k, v in found.items() if v is not None}
    rows, counts = [], {v: 0 for v in VERDICTS}
    for name, res in found.items():
        for c in res.get("claims", []):
            counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
            rows.append(
                [
                    f"[{name}]({name}/table.md)",
                    c["source"],
                    c["claim"],
                    f"**{c['verdict']}**",
                    c["ours"],
                ]
            )
    missing = [n for n in NAMES if n not in found]
    parts = [
        "# Reproductions: every claim, its study and its verdict",
        "",
        "Written by `odegan reproduce` from the studies' `results.json` in this directory "
        "(re-run a study: `odegan reproduce NAME --workdir results`; `--full` for the "
        "source documents' own sizes). Each study's `table.md` has the details, the runs and "
        "the figures; a failed or diverged run is a marked row there.",
        "",
        "Verdicts: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + ".",
        "",
        markdown_table(["study", "source", "claim", "verdict", "ours"], rows),
    ]
    parts += [
        "",
        "Studies and sizes: "
        + "; ".join(
            f"{n} ({SIZE_NAMES[r.get('size', 'full' if r.get('full') else 'cpu')]}, seeds "
            f"{','.join(map(str, r.get('seeds', []))) or '-'})"
            for n, r in found.items()
        )
        + ".",
    ]
    if missing:
        parts += ["", "Not run in this directory: " + ", ".join(missing) + "."]
    parts += [
        "",
        "## Claims on the source documents' own data or scale (not run here)",
        "",
        "They need CIFAR-10 or MNIST (not offline on our machine) or a GPU at the "
        "source documents' sizes; the configs and studies to run them are named; no verdict here.",
        "",
        markdown_table(["source", "claim"], [list(c) for c in IMAGE_CLAIMS]),
    ]
    with open(os.path.join(workdir, "README.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(parts) + "\n")


# ------------------------------------------------------------------------------------------
# Helpers shared by the studies
# ------------------------------------------------------------------------------------------


def mean_or_none(values: Sequence[float]) -> float | None:
    values = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(values)) if values else None


def fmt(value: object, pattern: str = "{:.3g}", missing: str = "–") -> str:
    return missing if value is None else pattern.format(value)


def quality(o: Outcome) -> tuple:
    """(modes covered, HQ share) of a finished 2D run, (None, None) otherwise."""
    if not o.ok:
        return None, None
    f = o.final()
    return f.get("modes_covered"), f.get("hq_fraction")


def status_cell(o: Outcome) -> str:
    """'16/16, 87.9%' for a finished 2D run, the marked status otherwise."""
    if not o.ok:
        return f"**{o.status}**"
    m, hq = quality(o)
    n = o.final().get("num_modes", "?")
    return f"{m}/{n}, {100 * hq:.1f}%" if m is not None else "ok"
