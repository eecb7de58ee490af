"""End to end: the real `odegan` command in a subprocess, on real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from odegan_jax import logs

QUICK = [
    "--config.steps=60",
    "--config.loop.log_every=20",
    "--config.loop.steps_per_call=20",
    "--config.loop.eval_samples=2000",
]


def odegan(*args, cwd=None, env=None):
    exe = os.path.join(os.path.dirname(sys.executable), "odegan")
    cmd = [exe] if os.path.exists(exe) else [sys.executable, "-m", "odegan_jax.cli"]
    env = dict(env or os.environ, CI="true")
    return subprocess.run(
        cmd + list(args), capture_output=True, text=True, cwd=cwd, env=env, timeout=600
    )


def odegan_here(capsys, *args):
    """``odegan ARGS`` in this process: ``cli.main``, the command's own entry point, for
    commands that refuse their input or only read a run. A fresh interpreter would add its
    imports (~5 s on two busy cores) and check nothing more; the tests that kill, resume or
    compare runs keep real subprocesses."""
    from odegan_jax import cli

    capsys.readouterr()
    try:
        code = cli.main([str(a) for a in args])
    except SystemExit as e:  # argparse's own errors
        code = e.code
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(["odegan", *args], code, out, err)


def test_train_writes_the_run_directory_reproducibly_then_eval_and_gam(tmp_path, capsys):
    """One short main-job run checked file by file; the same seed again (another process)
    gives the same params, another seed differs; then `eval` and `gam` read the runs without
    retraining (in this process: they only read)."""
    workdir, cache = tmp_path / "run", tmp_path / "xla"
    # the CLI's own compilation cache (the suite's JAX cache set aside): the second process
    # reads every program back and adds nothing
    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    env["ODEGAN_COMPILATION_CACHE"] = str(cache)
    result = odegan("train", "--workdir", str(workdir), *QUICK, env=env)
    assert result.returncode == 0, result.stderr
    entries = sorted(os.listdir(cache))
    assert len(entries) > 5
    assert "final: modes covered" in result.stdout and "high-quality samples" in result.stdout
    rows = [json.loads(line) for line in open(workdir / "metrics.jsonl")]
    assert [r["step"] for r in rows] == [20, 40, 60]
    for row in rows:
        assert {"step", "loss_d", "loss_g", "modes_covered", "hq_fraction"} <= set(row)
    summary = json.load(open(workdir / "summary.json"))
    assert len(summary["params_sha256"]) == 64 and summary["steps"] == 60
    assert summary["final"]["modes_covered"] == rows[-1]["modes_covered"]
    for name in ("samples.png", "curves.png", "config.json"):
        assert (workdir / name).stat().st_size > 0
    assert (workdir / "checkpoints" / "60").is_dir()
    assert any(p.name.startswith("events") for p in (workdir / "tb").iterdir())
    assert json.load(open(workdir / "config.json"))["seed"] == 0

    first = summary["params_sha256"]
    again = odegan("train", "--workdir", str(tmp_path / "again"), *QUICK, env=env)
    assert again.returncode == 0, again.stderr
    assert sorted(os.listdir(cache)) == entries
    other = tmp_path / "other"
    result = odegan_here(capsys, "train", "--workdir", str(other), "--config.seed=1", *QUICK)
    assert result.returncode == 0, result.stderr
    assert json.load(open(tmp_path / "again" / "summary.json"))["params_sha256"] == first
    assert json.load(open(other / "summary.json"))["params_sha256"] != first

    result = odegan_here(capsys, "eval", str(workdir))
    assert result.returncode == 0, result.stderr
    ev = json.load(open(workdir / "eval.json"))
    assert ev["params_sha256"] == first  # the restored params are the trained ones
    assert ev["step"] == 60 and ev["num_samples"] == 2000
    # one sampler for 2D quality: eval reports exactly what the summary holds
    assert (ev["modes_covered"], ev["hq_fraction"]) == (
        summary["final"]["modes_covered"],
        summary["final"]["hq_fraction"],
    )
    result = odegan_here(
        capsys, "gam", str(workdir), str(other), "--n", "2000", "--out", str(tmp_path / "gam.json")
    )
    assert result.returncode == 0, result.stderr
    gam = json.load(open(tmp_path / "gam.json"))
    acc = gam["accuracies"]
    # an accuracy of 0 (60 steps of the main job can leave one D fooled by every sample of
    # the other G) counts as 1e-12, as metrics/gam.py documents
    assert gam["r_test"] == acc["D_B(x_test)"] / max(acc["D_A(x_test)"], 1e-12)
    assert gam["r_samples"] == acc["D_B(G_A(z))"] / max(acc["D_A(G_B(z))"], 1e-12)
    assert "r_test" in result.stdout and "winner" in result.stdout


@pytest.mark.parametrize(
    "arg,message",
    [
        ("--config.rule.h=-1", "config.rule.h: must be > 0"),
        ("--config.rule.name=rk5", "choose one of: ode, simultaneous, alternating"),
        ("--config.game.loss=l2", "config.game.loss"),
        ("--config.data.batch_size=0", "config.data.batch_size: must be > 0"),
    ],
)
def test_bad_input_is_one_clear_error_before_any_work(arg, message, tmp_path, capsys):
    result = odegan_here(capsys, "train", "--workdir", str(tmp_path / "w"), arg)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "w").exists()  # nothing was created, nothing compiled


def test_configs_lists_the_experiments(capsys):
    result = odegan_here(capsys, "configs")
    assert result.returncode == 0
    assert "mog16_official" in result.stdout and "mog16_rk4" in result.stdout


def test_a_reader_that_leaves_early_gets_no_traceback():
    """`odegan configs | head -1`: the pipe closes after one line."""
    proc = subprocess.run(
        f"{sys.executable} -m odegan_jax.cli configs | head -1",
        shell=True,
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    assert len(proc.stdout.splitlines()) == 1
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr


@pytest.mark.skipif(
    not os.path.isdir("/usr/share/datasets/fashion-mnist"),
    reason="needs apt-get install dataset-fashion-mnist (.ci/run installs it)",
)
def test_ngan_trains_on_real_fashion_mnist_and_writes_its_sample_grids(tmp_path):
    """The NGAN config as shipped (Adam; its Neural-ODE blocks one RK4 step each) on the real
    files. The RK4 rule with the regulariser on NGAN is
    test_models_images.py::test_an_rk4_step_with_the_regulariser_trains_ngan_and_reports_nfe
    (compiling it here too cost ~40 s of the suite)."""
    workdir = tmp_path / "ngan"
    result = odegan(
        "train",
        "--config",
        "ngan_fashion_mnist",
        "--workdir",
        str(workdir),
        "--config.data.batch_size=16",
        "--config.steps=3",
        "--config.loop.log_every=1",
        "--config.loop.sample_every=3",
        "--config.loop.sample_grid=16",
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in open(workdir / "metrics.jsonl")]
    assert [r["step"] for r in rows] == [1, 2, 3]
    assert all(r["nfe_g"] == 4 and r["nfe_d"] == 4 for r in rows)  # one RK4 step per block
    from PIL import Image

    grid = Image.open(workdir / "samples" / "step_0000003.png")
    assert grid.size == (2 * (4 * 29 + 1),) * 2  # 4×4 images of 28 px, 1 px gaps, scaled 2x
    assert (workdir / "samples.png").exists()
    summary = json.load(open(workdir / "summary.json"))
    assert summary["rule"] == "alternating" and len(summary["params_sha256"]) == 64


def test_missing_image_data_is_one_clear_error(tmp_path):
    result = odegan(
        "train",
        "--config",
        "dcgan_mnist",
        "--config.data.source=files",
        "--workdir",
        str(tmp_path / "x"),
    )
    assert result.returncode == 2
    assert "~/.odegan_jax/data/mnist" in result.stderr
    assert "Traceback" not in result.stderr


def test_image_run_eval_sample_neighbours_plot_and_interpolate(tmp_path, capsys):
    """One short DCGAN run on the digits (Adam: the rules are tested elsewhere) keeping G's
    moving average (rule.g_ema_decay: every command below evaluates it), then every command
    that reads a run without retraining."""
    workdir = tmp_path / "digits"
    result = odegan(
        "train",
        "--config",
        "dcgan_fashion_mnist",
        "--workdir",
        str(workdir),
        "--config.data.name=digits",
        "--config.data.image_size=28",
        "--config.rule.name=alternating",
        "--config.data.batch_size=16",
        "--config.steps=2",
        "--config.loop.log_every=1",
        "--config.eval.num_samples=200",
        "--config.loop.score_every=1",
        "--config.rule.g_ema_decay=0.9",
    )
    assert result.returncode == 0, result.stderr
    scored = [r for r in logs.read_metrics(str(workdir / "metrics.jsonl")) if "fid" in r]
    assert [r["step"] for r in scored] == [1, 2]
    scores = json.load(open(workdir / "summary.json"))["scores"]  # loop.score_every's best / final
    assert scores["final"] == {k: scored[-1][k] for k in ("step", "fid", "is", "kid")}
    best = min(scored, key=lambda r: r["fid"])
    assert (scores["best"]["fid"], scores["best"]["fid_step"]) == (best["fid"], best["step"])
    assert scores["best"]["is"] == max(r["is"] for r in scored)
    result = odegan_here(capsys, "eval", str(workdir))
    assert result.returncode == 0, result.stderr
    ev = json.load(open(workdir / "eval.json"))
    assert ev["classifier"] == "digits" and ev["num_samples"] == 200 and ev["g_ema_decay"] == 0.9
    for key in ("is", "fid", "kid", "is_real_test", "fid_real_test_vs_train"):
        assert np.isfinite(ev[key])
    assert ev["fid"] > ev["fid_real_test_vs_train"]  # 2 steps of training are far from data
    assert 1.0 <= ev["is"] <= 10.0
    # the commands that only read the run, in this process (the same `main`, one JAX runtime)
    from odegan_jax import cli

    assert cli.main(["sample", str(workdir), "--n", "16", "--out", str(tmp_path / "s.png")]) == 0
    from PIL import Image

    assert Image.open(tmp_path / "s.png").size == (2 * (4 * 29 + 1),) * 2
    assert (
        cli.main(["neighbours", str(workdir), "--k", "3", "--out", str(tmp_path / "nn.png")]) == 0
    )
    assert (tmp_path / "nn.png").exists() and "L2 distances" in capsys.readouterr().out
    os.remove(workdir / "curves.png")
    assert cli.main(["plot", str(workdir)]) == 0
    assert (workdir / "curves.png").exists() and (workdir / "samples.png").exists()
    assert cli.main(["interpolate", str(workdir), "--rows", "2", "--cols", "5"]) == 0
    assert Image.open(workdir / "interpolate_slerp.png").size == (
        2 * (5 * 29 + 1),
        2 * (2 * 29 + 1),
    )
    assert (workdir / "latent_arithmetic.png").exists()


def test_eval_of_a_missing_run_is_one_clear_error(tmp_path, capsys):
    result = odegan_here(capsys, "eval", str(tmp_path))
    assert result.returncode == 2 and "not a run directory" in result.stderr


def test_tensorboard_logs_are_written_without_importing_pytorch(tmp_path):
    """tensorboardX imports torch when it is installed (seconds of every run's start beside a
    CUDA PyTorch); the writer hides it. A stand-in ``torch`` package records its import."""
    fake = tmp_path / "site" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "import os\nopen(os.environ['TORCH_MARKER'], 'a').write('imported\\n')\n"
        "Tensor = type('Tensor', (), {})\n"
    )
    marker, run = tmp_path / "marker", tmp_path / "run"
    code = (
        "import sys; from odegan_jax import logs\n"
        f"w = logs.MetricsWriter({str(run)!r}); w.write({{'step': 1, 'loss_d': 0.5}}); "
        "w.close()\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "import torch; assert torch.Tensor is not None\n"
    )  # the user's torch still works
    run.mkdir()
    env = dict(
        os.environ,
        TORCH_MARKER=str(marker),
        PYTHONPATH=os.pathsep.join([str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")]),
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert marker.read_text() == "imported\n"  # once: the user's import, not tensorboardX's
    events = [p for p in (run / "tb").iterdir() if p.name.startswith("events")]
    assert len(events) == 1 and b"loss_d" in events[0].read_bytes()
    assert logs.read_metrics(str(run / "metrics.jsonl")) == [{"step": 1, "loss_d": 0.5}]


def test_a_run_without_diffrax_solvers_does_not_import_diffrax():
    """diffrax (with equinox, optimistix, lineax) is ~0.9 s of a process's start-up: the CLI's
    modules and the main job's build leave it out; an adaptive rule's build brings it in."""
    code = (
        "import sys; from odegan_jax import actions, cli, plots, train\n"
        "from odegan_jax.config import resolve_config\n"
        "from odegan_jax.experiment import build\n"
        "build(resolve_config(None, []))\n"
        "print('diffrax' in sys.modules)\n"
        "build(resolve_config('mog16_adaptive', []))\n"
        "print('diffrax' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


def test_the_compilation_cache_folder_is_the_users_choice(tmp_path):
    """Default under $XDG_CACHE_HOME; ``0`` turns it off; a folder that cannot be made is
    refused in one line and training goes on without it; JAX's own setting is left alone."""
    blocked = tmp_path / "file"
    blocked.write_text("")
    code = f"""
import os, jax
from odegan_jax import cli
def case(value, jax_dir=None, command="train"):
    os.environ.pop("ODEGAN_COMPILATION_CACHE", None)
    if value is not None:
        os.environ["ODEGAN_COMPILATION_CACHE"] = value
    jax.config.update("jax_compilation_cache_dir", jax_dir)
    cli._compilation_cache(command)
    print(jax.config.jax_compilation_cache_dir)
os.environ["XDG_CACHE_HOME"] = {str(tmp_path / "xdg")!r}
case(None); case("0"); case("off"); case(None, command="configs")
case({str(blocked / "xla")!r}); case({str(tmp_path / "mine")!r}, jax_dir="/theirs")
"""
    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        str(tmp_path / "xdg" / "odegan_jax" / "xla"),
        "None",
        "None",
        "None",
        "None",
        "/theirs",
    ]
    assert result.stderr.count("odegan: no compilation cache") == 1
    assert "ODEGAN_COMPILATION_CACHE" in result.stderr
