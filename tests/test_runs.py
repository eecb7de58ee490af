"""Runs: exact resume after SIGKILL, damaged checkpoints, the non-finite guard, and data
parallelism on 4 forced CPU devices; all through the real CLI in subprocesses."""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
from test_cli import odegan, odegan_here

from odegan_jax import logs

FAST = [
    "--config.loop.log_every=100",
    "--config.loop.eval_samples=500",
    "--config.loop.plot=false",
    "--config.loop.checkpoint_every=100",
]
SMALL = FAST + ["--config.model.width=16"]  # runs whose dynamics the test does not read


def _cmd(*args):
    exe = os.path.join(os.path.dirname(sys.executable), "odegan")
    return ([exe] if os.path.exists(exe) else [sys.executable, "-m", "odegan_jax.cli"]) + list(args)


def _sha(workdir) -> str:
    return json.load(open(os.path.join(workdir, "summary.json")))["params_sha256"]


def test_sigkill_resume_and_a_damaged_checkpoint_end_like_an_uninterrupted_run(tmp_path):
    """An uninterrupted 600-step run (16-unit layers) is the reference for one run that is
    (1) killed with SIGKILL and resumed to step 500, where its rows must equal the
    reference's, then (2) has its newest checkpoint damaged and goes on to step 600, where
    its params must equal the reference's. (Every run here is a subprocess: the first one
    fills the persistent cache with all its programs, which the test process does not.)"""
    reference = tmp_path / "reference"
    result = odegan("train", "--workdir", str(reference), "--config.steps=600", *SMALL)
    assert result.returncode == 0, result.stderr

    workdir = tmp_path / "killed"
    env = dict(os.environ, CI="true")
    proc = subprocess.Popen(
        _cmd("train", "--workdir", str(workdir), "--config.steps=600", *SMALL),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 300
    while time.time() < deadline:
        done = [
            p.split(os.sep)[-2]
            for p in glob.glob(str(workdir / "checkpoints" / "*" / "commit_success.txt"))
        ]
        if any(d.isdigit() and int(d) >= 200 for d in done) or proc.poll() is not None:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert not (workdir / "summary.json").exists()
    result = odegan("train", "--workdir", str(workdir), "--config.steps=500", *SMALL)
    assert result.returncode == 0, result.stderr
    assert "resuming from the checkpoint at step" in result.stdout

    def rows(run):  # every logged number but the wall time
        return [
            {k: v for k, v in r.items() if k != "time_s"}
            for r in logs.read_metrics(str(run / "metrics.jsonl"))
        ]

    assert rows(workdir) == rows(reference)[:5]  # steps 100-500, none twice, bit for bit

    for path in glob.glob(str(workdir / "checkpoints" / "500" / "**" / "d" / "*"), recursive=True):
        with open(path, "r+b") as f:  # truncate every data file of the newest checkpoint
            f.truncate(7)
    result = odegan("train", "--workdir", str(workdir), "--config.steps=600", *SMALL)
    assert result.returncode == 0, result.stderr
    assert "checkpoint 500 is damaged" in result.stdout
    assert "resuming from the checkpoint at step 400" in result.stdout
    assert glob.glob(str(workdir / "damaged_checkpoints" / "500-*"))  # kept, moved aside
    assert _sha(workdir) == _sha(reference)
    assert rows(workdir) == rows(reference)  # the rows past 400 written once more, once


def test_non_finite_stops_with_the_step_and_keeps_checkpoints(tmp_path):
    workdir = tmp_path / "nan"
    args = [
        "train",
        "--workdir",
        str(workdir),
        "--config.steps=100",
        "--config.rule.h=20",
        "--config.loop.steps_per_call=1",
        "--config.loop.checkpoint_every=1",
        "--config.loop.log_every=1",
        "--config.loop.eval_samples=100",
        "--config.loop.plot=false",
        "--config.loop.nonfinite=stop",
        "--config.loop.dead_generator=continue",
    ]  # h = 20 also kills G: not this test's
    result = odegan(*args)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "non-finite" in result.stderr and "at step" in result.stderr
    step = int(result.stderr.split("at step ")[1].split(":")[0])
    kept = sorted(int(d) for d in os.listdir(workdir / "checkpoints") if d.isdigit())
    assert kept and kept[-1] == step - 1  # the last good step is saved
    # go on from those checkpoints, now rolling back (and checkpointing less often)
    result = odegan(
        *args,
        "--config.loop.nonfinite=rollback",
        "--config.loop.max_rollbacks=12",
        "--config.loop.checkpoint_every=50",
        "--config.loop.log_every=50",
    )
    assert result.returncode == 0, result.stderr
    assert "halved h" in result.stdout
    summary = json.load(open(workdir / "summary.json"))
    assert summary["rollbacks"] >= 1 and summary["final_h"] == 20 / 2 ** summary["rollbacks"]


# the spike below is calibrated on mog16_rk4's 2×50 networks at batch 512 (2×32 ones at
# batch 256 survive it)
RETRY_ARGS = [
    "train",
    "--config",
    "mog16_rk4",
    "--config.steps=60",
    "--config.loop.steps_per_call=10",
    "--config.loop.log_every=10",
    "--config.loop.eval_samples=200",
    "--config.loop.plot=false",
    "--config.loop.checkpoint_every=0",
    "--config.rule.schedule_boundaries=(20,30)",
]
SPIKE = "--config.rule.schedule_scales=(1.0,8.0,1.0)"  # h x8 over steps 21-30 blows up


def test_retry_rejects_the_diverging_step_inside_the_call_and_halves_h_for_good(tmp_path):
    """The default policy rejects the first non-finite step inside its compiled call and
    redoes it with h halved in the state, for the rest of the run: bit for bit a run whose
    schedule takes h x4 from that step to step 30 and h / 2 after it. With no retries allowed
    the run stops there, naming that step."""
    retried = odegan(*RETRY_ARGS, SPIKE, "--workdir", str(tmp_path / "retry"))  # the default
    assert retried.returncode == 0, retried.stderr
    events = [
        r for r in logs.read_metrics(str(tmp_path / "retry" / "metrics.jsonl")) if "event" in r
    ]
    k = len(events)  # each rejection of the step halves h once more
    failed_at = events[0]["step"]
    assert 20 < failed_at <= 30
    assert [(e["event"], e["step"], e["h"]) for e in events] == [
        ("retry", failed_at, 4.8 / 2**i) for i in range(1, k + 1)
    ]
    assert f"at step {failed_at}: rejected and redone with h 2.4" in retried.stdout
    summary = json.load(open(tmp_path / "retry" / "summary.json"))
    assert (summary["retries"], summary["final_h"]) == (k, 0.6 / 2**k)
    rows = [
        r for r in logs.read_metrics(str(tmp_path / "retry" / "metrics.jsonl")) if "loss_d" in r
    ]
    assert [r["step"] for r in rows] == list(range(10, 61, 10))  # every row, once
    scheduled = odegan(
        *RETRY_ARGS[:-1],
        "--workdir",
        str(tmp_path / "scheduled"),
        f"--config.rule.schedule_boundaries=(20,{failed_at - 1},30)",
        f"--config.rule.schedule_scales=(1.0,8.0,{8 / 2**k},{1 / 2**k})",
    )
    assert scheduled.returncode == 0 and "rejected" not in scheduled.stdout
    assert _sha(tmp_path / "retry") == _sha(tmp_path / "scheduled")
    # the retries are bounded: with none allowed the run stops at that step, as with
    # loop.nonfinite=stop (test_non_finite_stops_with_the_step_and_keeps_checkpoints)
    none = odegan(
        *RETRY_ARGS, SPIKE, "--workdir", str(tmp_path / "none"), "--config.loop.max_retries=0"
    )
    assert none.returncode == 3, none.stdout + none.stderr
    assert "non-finite" in none.stderr and f"at step {failed_at} " in none.stderr


def _xla_flags(flag: str) -> str:
    """The session's XLA_FLAGS (conftest's compile-time flags) plus ``flag``."""
    return f"{os.environ.get('XLA_FLAGS', '')} {flag}".strip()


def test_four_forced_cpu_devices_match_one_device(tmp_path, capsys):
    # An ODE rule (Heun, h·v updates) on M0_A, whose BatchNorm needs the statistics of the whole
    # batch across devices. Not Adam: the biases that feed a BatchNorm have an analytically zero
    # gradient, and Adam's m/√v turns its float noise (which differs with the reduction order)
    # into lr-sized steps of either sign, so those leaves legitimately drift apart.
    import jax

    assert jax.device_count() == 1  # this process: the one-device run
    runs = {}
    for devices in (1, 4):
        workdir = tmp_path / f"dev{devices}"
        args = (
            "train",
            "--config",
            "mog8_m0a",
            "--workdir",
            str(workdir),
            "--config.steps=30",
            "--config.loop.log_every=10",
            "--config.loop.steps_per_call=10",
            "--config.loop.plot=false",
            "--config.loop.eval_samples=500",
            "--config.rule.name=ode",
            "--config.rule.integrator=heun",
            "--config.rule.h=0.01",
        )
        if devices == 1:
            result = odegan_here(capsys, *args)
        else:
            env = dict(
                os.environ,
                CI="true",
                XLA_FLAGS=_xla_flags(f"--xla_force_host_platform_device_count={devices}"),
            )
            result = subprocess.run(
                _cmd(*args), env=env, capture_output=True, text=True, timeout=600
            )
        assert result.returncode == 0, result.stderr
        assert ("on 4 devices" in result.stdout) == (devices == 4)
        runs[devices] = workdir
    from odegan_jax.experiment import load_run

    (_, a, _), (_, b, _) = (load_run(str(runs[d])) for d in (1, 4))
    for x, y in zip(
        jax.tree.leaves((a.params, a.model_state)), jax.tree.leaves((b.params, b.model_state))
    ):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6)


def test_batch_not_divisible_by_the_device_count_is_rejected(tmp_path):
    env = dict(
        os.environ, CI="true", XLA_FLAGS=_xla_flags("--xla_force_host_platform_device_count=4")
    )
    result = subprocess.run(
        _cmd("train", "--workdir", str(tmp_path / "x"), "--config.data.batch_size=30"),
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 2
    assert "config.data.batch_size" in result.stderr and "multiple of 4" in result.stderr


def test_logged_2d_metrics_reuse_one_compiled_sampler_at_fixed_latents(caplog):
    """The modes / HQ share at every logged step sample G at the same latents through one
    compiled function: a retrace per log cost 0.1 s, a third of the main job's overhead."""
    import logging

    import jax

    from odegan_jax.config import load_config
    from odegan_jax.experiment import build, init_state

    exp = build(load_config("mog16_rk4"))
    state = init_state(exp)
    moved = state._replace(params=jax.tree.map(lambda p: p * 1.5, state.params))
    with jax.log_compiles(True), caplog.at_level(logging.DEBUG):
        first = exp.samples(state, 300)
        second = exp.samples(moved, 300)
        again = exp.samples(state, 300)
    traces = [
        r for r in caplog.records if "tracing" in r.getMessage() and "generate" in r.getMessage()
    ]
    assert len(traces) == 1, [r.getMessage() for r in traces]
    z = exp.game.sample_latents(exp.keys["eval"], exp.config.loop.eval_samples)[:300]
    np.testing.assert_allclose(
        first, exp.game.generate(state.params, state.model_state, z), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, second)


def test_conv_nets_fuse_steps_on_accelerators_only(monkeypatch):
    """One compiled call per conv-net step on CPU (XLA differentiates convolutions in loops
    slowly there); ``loop.steps_per_call`` on a GPU, where one call per step leaves the GPU
    waiting on the host; MLPs fuse everywhere."""
    from types import SimpleNamespace

    import jax

    from odegan_jax import train
    from odegan_jax.config import base_config

    config = base_config()
    config.loop.steps_per_call = 50
    image, points = (
        SimpleNamespace(config=config, dataset=SimpleNamespace(sample_shape=s))
        for s in ((28, 28, 1), (2,))
    )
    for backend, image_calls in (("cpu", 1), ("gpu", 50), ("tpu", 50)):
        monkeypatch.setattr(jax, "default_backend", lambda b=backend: b)
        assert (train.steps_per_call(image), train.steps_per_call(points)) == (image_calls, 50)


def test_generator_ema_is_evaluated_resumes_exactly_and_cannot_be_toggled(tmp_path):
    """G's moving average (rule.g_ema_decay; the main job's is 0.999, this test's 0.99)
    changes nothing in training: the run without it (0) has the same params_sha256 and its
    final quality is the averaged run's `final_iterate`.
    The average lives in the checkpoints: a run trained in two parts logs the same rows, and
    `odegan eval` scores the average as the summary does. Turning it off on resume is refused
    before anything is touched."""
    ema = "--config.rule.g_ema_decay=0.99"
    ref, parts, plain = tmp_path / "ref", tmp_path / "parts", tmp_path / "plain"
    out = {}
    for name, workdir, steps, extra in (
        ("ref", ref, 400, [ema]),
        ("half", parts, 200, [ema]),
        ("rest", parts, 400, [ema]),
        ("plain", plain, 400, ["--config.rule.g_ema_decay=0"]),
    ):
        out[name] = odegan(
            "train", "--workdir", str(workdir), f"--config.steps={steps}", *extra, *SMALL
        )
        assert out[name].returncode == 0, out[name].stderr
    assert "resuming from the checkpoint at step 200" in out["rest"].stdout
    assert "of G's moving average (decay 0.99)" in out["ref"].stdout
    summary, plain_summary = (json.load(open(w / "summary.json")) for w in (ref, plain))
    assert summary["params_sha256"] == plain_summary["params_sha256"] == _sha(parts)
    final = {k: plain_summary["final"][k] for k in ("modes_covered", "hq_fraction")}
    assert {k: summary["final_iterate"][k] for k in final} == final
    assert summary["final"]["hq_fraction"] != summary["final_iterate"]["hq_fraction"]

    def rows(run):
        return [
            {k: v for k, v in r.items() if k != "time_s"}
            for r in logs.read_metrics(str(run / "metrics.jsonl"))
        ]

    assert rows(parts) == rows(ref)
    result = odegan("eval", str(ref), "--n", "500")
    assert result.returncode == 0, result.stderr
    scored = json.load(open(ref / "eval.json"))
    assert scored["g_ema_decay"] == 0.99
    assert scored["hq_fraction"] == summary["final"]["hq_fraction"]

    def files(run):
        return {
            p: open(p, "rb").read()
            for p in glob.glob(str(run / "checkpoints" / "**"), recursive=True)
            if os.path.isfile(p)
        }

    before = files(ref)
    result = odegan(
        "train",
        "--workdir",
        str(ref),
        "--config.steps=500",
        "--config.rule.g_ema_decay=0",
        "--resume-with-changes",
        *SMALL,
    )
    assert result.returncode != 0
    assert "rule.g_ema_decay" in result.stderr and "nothing was changed" in result.stderr
    assert files(ref) == before
