"""Faults of the run directory, one test per case of the hardening list: nothing already
written is lost, nothing false is written, no hang, one clear message. Real CLI subprocesses,
real orbax checkpoints, real kills."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time

import pytest
from test_cli import odegan, odegan_here
from test_runs import SMALL as FAST  # runs whose dynamics no test reads
from test_runs import _cmd, _sha


def _files(workdir) -> dict:
    """Every file under a run directory with the sha256 of its bytes."""
    out = {}
    for root, _, names in os.walk(workdir):
        for name in names:
            path = os.path.join(root, name)
            if name != ".lock":
                out[os.path.relpath(path, workdir)] = hashlib.sha256(
                    open(path, "rb").read()
                ).hexdigest()
    return out


def _checkpoints(workdir) -> list[int]:
    return sorted(int(d) for d in os.listdir(workdir / "checkpoints") if d.isdigit())


@pytest.fixture(scope="session")  # kept if xdist runs another file's test in between
def finished(tmp_path_factory):
    """A finished 300-step run (checkpoints 100, 200, 300) and a 400-step reference."""
    root = tmp_path_factory.mktemp("faults")
    run, ref = root / "run", root / "ref"
    for workdir, steps in ((run, 300), (ref, 400)):
        result = odegan("train", "--workdir", str(workdir), f"--config.steps={steps}", *FAST)
        assert result.returncode == 0, result.stderr
    return run, ref


def _copy(src, dst):
    subprocess.run(["cp", "-a", str(src), str(dst)], check=True)
    return dst


def test_1_resuming_with_another_config_is_refused_unless_asked(finished, tmp_path, capsys):
    run = _copy(finished[0], tmp_path / "run")
    before = _files(run)
    result = odegan_here(
        capsys,
        "train",
        "--workdir",
        str(run),
        "--config.steps=400",
        "--config.rule.h=0.3",
        *FAST,
        "--config.model.width=40",
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "rule.h: 0.6 there, 0.3 now" in result.stderr and "model.width" in result.stderr
    assert "--resume-with-changes" in result.stderr
    assert _files(run) == before  # nothing moved aside, nothing overwritten
    # asked, a change the checkpoints cannot hold (another width) is still refused: restoring
    # would fail on each checkpoint and move it aside as damaged
    result = odegan_here(
        capsys,
        "train",
        "--workdir",
        str(run),
        "--config.steps=400",
        *FAST,
        "--config.model.width=40",
        "--resume-with-changes",
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "do not fit the state of the changed config" in result.stderr
    assert "model.width" in result.stderr and "float32[40]" in result.stderr
    assert _files(run) == before
    result = odegan_here(
        capsys,
        "train",
        "--workdir",
        str(run),
        "--config.steps=400",
        "--config.rule.h=0.3",
        "--resume-with-changes",
        *FAST,
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in open(run / "metrics.jsonl")]
    event = next(r for r in rows if r.get("event") == "config_changed")
    assert event["step"] == 300 and event["changes"] == {"rule.h": [0.6, 0.3]}
    assert json.load(open(run / "config.json"))["rule"]["h"] == 0.3


def test_1_the_default_workdir_encodes_the_overrides(tmp_path):
    from odegan_jax.config import DEFAULT_CONFIG, load_config, resolve_config
    from odegan_jax.rundir import default_workdir

    ref = load_config(DEFAULT_CONFIG)
    assert default_workdir(resolve_config(None, []), ref) == os.path.join(
        "runs", f"{DEFAULT_CONFIG}-0"
    )
    seed = default_workdir(resolve_config(None, ["--config.seed=3", "--config.steps=9"]), ref)
    # seed and steps: the same family of runs
    assert seed == os.path.join("runs", f"{DEFAULT_CONFIG}-3")
    a = default_workdir(resolve_config(None, ["--config.rule.h=0.3"]), ref)
    b = default_workdir(resolve_config(None, ["--config.rule.h=0.4"]), ref)
    assert a.startswith(os.path.join("runs", f"{DEFAULT_CONFIG}-0-")) and a != b


def test_2_a_stray_step_folder_is_set_aside_and_the_run_resumes_exactly(finished, tmp_path, capsys):
    """Resumed in this process: its params must equal the reference's from another one."""
    run, ref = _copy(finished[0], tmp_path / "run"), finished[1]
    os.makedirs(run / "checkpoints" / "350")  # empty: never committed by orbax
    result = odegan_here(capsys, "train", "--workdir", str(run), "--config.steps=400", *FAST)
    assert result.returncode == 0, result.stderr
    assert "checkpoints/350 was never completed" in result.stdout
    assert "resuming from the checkpoint at step 300" in result.stdout
    assert _sha(run) == _sha(ref)
    assert _checkpoints(run) == [200, 300, 400]  # keep-3 dropped 100, not a real one for 350
    assert os.listdir(run / "damaged_checkpoints")[0].startswith("350-")
    rows = [json.loads(line) for line in open(run / "metrics.jsonl")]
    assert [r["step"] for r in rows] == [100, 200, 300, 400]


def test_2_fewer_steps_than_the_newest_checkpoint_is_refused(finished, tmp_path, capsys):
    run = _copy(finished[0], tmp_path / "run")
    before = _files(run)
    result = odegan_here(capsys, "train", "--workdir", str(run), "--config.steps=150", *FAST)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "is at step 300, past config.steps=150" in result.stderr
    assert _files(run) == before


def test_2_arrays_that_disagree_with_their_checksum_fall_back(finished, tmp_path, capsys):
    run, ref = _copy(finished[0], tmp_path / "run"), finished[1]
    with open(run / "checkpoints" / "300" / "state.sha256", "w") as f:
        f.write("0" * 64 + "\n")  # the bytes no longer match what was saved
    result = odegan_here(capsys, "train", "--workdir", str(run), "--config.steps=400", *FAST)
    assert result.returncode == 0, result.stderr
    assert "checkpoint 300 is damaged (its arrays do not match the checksum" in result.stdout
    assert "resuming from the checkpoint at step 200" in result.stdout
    assert _sha(run) == _sha(ref)


def test_3_a_torn_last_metrics_line_blocks_neither_plot_nor_resume(finished, tmp_path):
    run, ref = _copy(finished[0], tmp_path / "run"), finished[1]
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"step": 310, "loss_d": 1.3')  # a kill mid-write
    from odegan_jax import cli

    assert cli.main(["plot", str(run)]) == 0
    result = odegan("train", "--workdir", str(run), "--config.steps=400", *FAST)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in open(run / "metrics.jsonl")]
    assert [r["step"] for r in rows] == [100, 200, 300, 400] and _sha(run) == _sha(ref)


def test_3_rows_written_after_a_rollback_are_kept(tmp_path):
    from odegan_jax import logs

    writer = logs.MetricsWriter(str(tmp_path), tensorboard=False)
    for step in (1, 2, 3):
        writer.write({"step": step})
    writer.truncate(1)  # a rollback to step 1
    writer.write({"step": 2, "event": "rollback"})
    writer.write({"step": 3})
    writer.close()
    assert logs.read_metrics(str(tmp_path / "metrics.jsonl")) == [
        {"step": 1},
        {"step": 2, "event": "rollback"},
        {"step": 3},
    ]


def test_4_a_second_process_on_the_workdir_is_refused_and_a_kill_leaves_no_lock(tmp_path, capsys):
    workdir = tmp_path / "run"
    env = dict(os.environ, CI="true")
    first = subprocess.Popen(
        _cmd("train", "--workdir", str(workdir), "--config.steps=20000", *FAST),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 120
        while not (workdir / "config.json").exists() and time.time() < deadline:
            time.sleep(0.05)
        second = odegan_here(
            capsys, "train", "--workdir", str(workdir), "--config.steps=20000", *FAST
        )
        assert second.returncode == 2 and "Traceback" not in second.stderr
        assert f"another `odegan train` (pid {first.pid}) is running" in second.stderr
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    steps = (_checkpoints(workdir) or [0])[-1] + 100  # a short extension of what was saved
    third = odegan("train", "--workdir", str(workdir), f"--config.steps={steps}", *FAST)
    assert third.returncode == 0, third.stderr


def test_5_rerunning_a_finished_run_changes_nothing(finished, tmp_path, capsys):
    run = _copy(finished[0], tmp_path / "run")
    before = _files(run)
    result = odegan_here(capsys, "train", "--workdir", str(run), "--config.steps=300", *FAST)
    assert result.returncode == 0, result.stderr
    assert "is complete (300 steps); nothing to do" in result.stdout
    assert _files(run) == before


@pytest.mark.parametrize("where", ["file", "under_file"])
def test_6_a_workdir_that_is_or_lies_under_a_file_is_one_error(tmp_path, where, capsys):
    (tmp_path / "f").write_text("not a directory")
    workdir = tmp_path / "f" if where == "file" else tmp_path / "f" / "run"
    result = odegan_here(capsys, "train", "--workdir", str(workdir), "--config.steps=10", *FAST)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert ("is a file" if where == "file" else "lies under the file") in result.stderr


def test_7_evaluation_falls_back_from_a_damaged_newest_checkpoint(finished, tmp_path, capsys):
    run = _copy(finished[0], tmp_path / "run")
    with open(run / "checkpoints" / "300" / "state.sha256", "w") as f:
        f.write("0" * 64 + "\n")
    result = odegan_here(capsys, "eval", str(run), "--n", "500")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "checkpoint 300 is damaged" in result.stdout
    assert json.load(open(run / "eval.json"))["step"] == 200
    assert os.path.isdir(run / "checkpoints" / "300")  # reading a run moves nothing


@pytest.mark.parametrize(
    "args,option",
    [
        (["sample", "--n", "0"], "--n"),
        (["neighbours", "--k", "-2"], "--k"),
        (["interpolate", "--rows", "0"], "--rows"),
    ],
)
def test_7_counts_below_one_name_the_option(tmp_path, args, option, capsys):
    result = odegan_here(capsys, args[0], str(tmp_path), *args[1:])
    assert result.returncode == 2 and option in result.stderr and "must be ≥ 1" in result.stderr


def test_9_the_stop_message_says_when_no_checkpoint_exists(tmp_path):
    result = odegan(
        "train",
        "--workdir",
        str(tmp_path / "nan"),
        "--config.steps=100",
        "--config.rule.h=20",
        "--config.loop.steps_per_call=1",
        "--config.loop.checkpoint_every=0",
        "--config.loop.log_every=1",
        "--config.loop.eval_samples=100",
        "--config.loop.plot=false",
        "--config.loop.nonfinite=stop",
    )
    assert result.returncode == 3
    assert "no checkpoint had been saved yet" in result.stderr and "(step 0)" not in result.stderr
    assert "config.loop.nonfinite=rollback" in result.stderr


# ------------------------------------------------- 8: inputs that used to pass silently


@pytest.mark.parametrize(
    "key,value,message",
    [
        ("rule.h", float("nan"), "config.rule.h: must be a finite number"),
        ("rule.reg_weight", float("inf"), "config.rule.reg_weight: must be a finite number"),
        (
            "optimizer.learning_rate",
            float("nan"),
            "config.optimizer.learning_rate: must be a finite",
        ),
        ("seed", 2**32, "config.seed: 4294967296 is outside the PRNG's seeds"),
        ("data.batch_size", 8, "config.data.stratified: a stratified batch tiles the 16 means"),
        ("data.batch_size", 10**10, "config.data.batch_size: one step and its evaluation need"),
        ("model.latent_size", 10**10, "config.model.latent_size: one step and its evaluation"),
    ],
)
def test_8_bad_values_are_one_error_naming_the_key(key, value, message):
    from odegan_jax.config import ConfigError, base_config
    from odegan_jax.experiment import build

    config = base_config()
    config.update_from_flattened_dict({key: value})
    with pytest.raises(ConfigError, match=message):
        build(config)


def test_8_a_config_file_that_fails_is_one_error(tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("def get_config(:\n")
    result = odegan_here(capsys, "train", "--config", str(bad), "--workdir", str(tmp_path / "w"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cannot be loaded (SyntaxError" in result.stderr
    bad.write_text("def get_config():\n    raise RuntimeError('no GPU here')\n")
    result = odegan_here(capsys, "train", "--config", str(bad), "--workdir", str(tmp_path / "w"))
    assert result.returncode == 2 and "raised RuntimeError: no GPU here" in result.stderr


def test_8_image_files_that_cannot_train_are_one_error(tmp_path):
    import numpy as np

    from odegan_jax.config import ConfigError, base_config
    from odegan_jax.data import DatasetError
    from odegan_jax.experiment import build

    c = base_config()
    c.data.name, c.model.name, c.data.batch_size = "npz", "dcgan28", 64
    c.data.path = str(tmp_path / "small.npz")
    np.savez(c.data.path, x_train=np.zeros((10, 28, 28), np.uint8))
    with pytest.raises(ConfigError, match="config.data.batch_size: .* needs 64 samples .* has 10"):
        build(c)
    np.savez(c.data.path, x_train=np.zeros((100, 28, 28), np.complex64))
    with pytest.raises(DatasetError, match="real numbers, got dtype complex64"):
        build(c)
    np.savez(c.data.path, x_train=np.zeros((100, 28, 28), np.uint8), y_train=np.zeros(99))
    with pytest.raises(DatasetError, match="99 labels for 100 images"):
        build(c)
    np.savez(c.data.path, x_train=np.full((100, 28, 28), 300.0, np.float32))
    with pytest.raises(DatasetError, match=r"\[0, 1\] or \[0, 255\]"):
        build(c)


def test_7_fid_needs_two_samples_and_warns_below_the_feature_count():
    import numpy as np

    from odegan_jax.metrics import scores

    f = np.random.default_rng(0).normal(size=(50, 8))
    with pytest.raises(ValueError, match="at least 2 samples"):
        scores.fid_from_features(f[:1], f)
    with pytest.warns(UserWarning, match="covariance is singular"):
        scores.fid_from_features(f[:5], f)


def test_6_a_full_disk_ends_the_run_with_one_message_and_keeps_earlier_checkpoints(tmp_path):
    """A 300 KiB tmpfs fills up within a few checkpoints (needs root and mount)."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mnt)], capture_output=True
        ).returncode
        != 0
    ):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        result = odegan("train", "--workdir", str(mnt / "run"), "--config.steps=3000", *FAST)
        assert result.returncode == 4, result.stderr[-3000:]
        assert "odegan: error: saving the checkpoint of step" in result.stderr
        assert "No space left on device" in result.stderr and "Traceback" not in result.stderr
        kept = _checkpoints(mnt / "run")
        # the newest ones before the failed save, consecutive, as many as loop.keep_checkpoints
        # allows: how many saves fit before the disk is full varies with the machine
        from odegan_jax.config import base_config

        keep = base_config().loop.keep_checkpoints
        assert kept and kept == list(range(kept[-1] - 100 * (len(kept) - 1), kept[-1] + 1, 100))
        # (the main job rolls back, so step 0 is a checkpoint too)
        assert len(kept) == min(keep, kept[-1] // 100 + 1), kept
        from odegan_jax.experiment import load_run

        assert load_run(str(mnt / "run"))[2] == kept[-1]  # and the newest restores
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


# h x8 over steps 21-30 blows up at h 0.6 (not at 0.3); rollback to checkpoints every 10 steps
ROLLBACK_ARGS = [
    "train",
    "--config",
    "mog16_rk4",
    "--config.loop.steps_per_call=10",
    "--config.loop.log_every=10",
    "--config.loop.eval_samples=200",
    "--config.loop.plot=false",
    "--config.loop.checkpoint_every=10",
    "--config.rule.schedule_boundaries=(20,30)",
    "--config.rule.schedule_scales=(1.0,8.0,1.0)",
    "--config.loop.nonfinite=rollback",
]


def test_10_a_rolled_back_run_resumed_goes_on_with_its_halved_h(tmp_path, capsys):
    """h x8 over steps 21-30 blows up; rollback goes back to step 20 with h halved. A run
    stopped at step 40 and extended to 60 must end where an uninterrupted 60-step run ends
    (before the fix the resumed process went back to the configured h)."""
    args = ROLLBACK_ARGS
    whole = odegan_here(
        capsys, *args, "--config.steps=60", "--workdir", str(tmp_path / "whole")
    )  # in this process, the others in their own
    assert whole.returncode == 0 and "rolled back to the checkpoint at step 20" in whole.stdout
    part = odegan(*args, "--config.steps=40", "--workdir", str(tmp_path / "part"))
    assert part.returncode == 0, part.stderr
    rest = odegan(*args, "--config.steps=60", "--workdir", str(tmp_path / "part"))
    assert rest.returncode == 0, rest.stderr
    assert "going on with h 0.3 from the checkpoint" in rest.stdout
    assert _sha(tmp_path / "part") == _sha(tmp_path / "whole")
    summary = json.load(open(tmp_path / "part" / "summary.json"))
    assert (summary["rollbacks"], summary["final_h"]) == (1, 0.3)


ROLLBACK_WINDOW_ARGS = [*ROLLBACK_ARGS, "--config.loop.rollback_steps=10"]


def test_10_rollback_steps_halve_h_for_that_many_steps_then_restore_it(tmp_path, capsys):
    """As above (h x8 over steps 21-30 blows up at h 0.6, not at 0.3), with
    loop.rollback_steps=10: h is 0.3 on the redone steps 21-30 and back to the configured 0.6
    from step 31, which the logged rows show (h is a metric of every row). A run stopped
    inside the window (at the step that blew up) and extended must restore h at step 30 as
    the uninterrupted run does, and end at its parameters."""
    whole = odegan_here(
        capsys, *ROLLBACK_WINDOW_ARGS, "--config.steps=60", "--workdir", str(tmp_path / "whole")
    )
    assert whole.returncode == 0, whole.stderr
    assert "halved h to 0.3 for the 10 steps to step 30" in whole.stdout
    assert "step 30: h back to 0.6" in whole.stdout
    rows = [json.loads(line) for line in open(tmp_path / "whole" / "metrics.jsonl")]
    events = [(r["step"], r["event"], r["h"]) for r in rows if "event" in r]
    assert events == [(20, "rollback", 0.3), (30, "h_restored", 0.6)], events
    h_at = {r["step"]: r["h"] for r in rows if "event" not in r and "h" in r}
    assert h_at[30] == pytest.approx(0.3 * 8)  # the redone spike, at half h
    assert [h_at[s] for s in (40, 50, 60)] == [pytest.approx(0.6)] * 3
    summary = json.load(open(tmp_path / "whole" / "summary.json"))
    assert (summary["rollbacks"], summary["final_h"]) == (1, 0.6)
    # the step that blew up: stop there (inside the window, after the rollback), then go on
    blew = int(whole.stdout.split("non-finite ")[1].split("at step ")[1].split(":")[0])
    assert 20 < blew < 30, whole.stdout
    part = odegan(
        *ROLLBACK_WINDOW_ARGS, f"--config.steps={blew}", "--workdir", str(tmp_path / "part")
    )
    assert part.returncode == 0 and "rolled back" in part.stdout, part.stdout + part.stderr
    assert "h back" not in part.stdout
    rest = odegan(*ROLLBACK_WINDOW_ARGS, "--config.steps=60", "--workdir", str(tmp_path / "part"))
    assert rest.returncode == 0, rest.stderr
    assert "step 30: h back to 0.6" in rest.stdout and "rolled back" not in rest.stdout
    assert _sha(tmp_path / "part") == _sha(tmp_path / "whole")


def test_the_main_job_trains_with_an_optax_rule_though_it_rolls_back():
    """mog16_main rolls back (an ODE policy); switching its rule to an optax one must not
    make the config invalid (those rules stop on a non-finite step, as with retry), and an
    unknown rule name is named before anything else."""
    from odegan_jax.config import ConfigError, load_config, validate

    config = load_config("mog16_main")
    assert config.loop.nonfinite == "rollback"
    for name in ("simultaneous", "alternating"):
        config.rule.name = name
        validate(config)
    config.rule.name = "rk5"
    with pytest.raises(ConfigError, match="rule.name.*choose one of: ode, simultaneous"):
        validate(config)


def test_rollback_steps_must_be_a_count():
    from odegan_jax.config import ConfigError, base_config, validate

    config = base_config()
    config.loop.rollback_steps = -5
    with pytest.raises(ConfigError, match="loop.rollback_steps"):
        validate(config)


# weights N(0, (1e-30)²): every product of two weights underflows to 0 in float32, so D's
# gradient at any sample, and so G's gradient, is exactly 0 from step 1 (a dead G, as the
# main job's seeds 11 and 671 end up after one large step), on any machine
DEAD_ARGS = [
    "train",
    "--config",
    "mog16_rk4",
    "--config.model.init_std=1e-30",
    "--config.loop.steps_per_call=10",
    "--config.loop.log_every=10",
    "--config.loop.eval_samples=200",
    "--config.loop.plot=false",
    "--config.loop.checkpoint_every=10",
]


def test_a_dead_generator_stops_or_rolls_back_to_its_checkpoints_until_they_are_used(
    tmp_path, capsys
):
    """loop.dead_generator: G's gradient is exactly 0 at the end of the first call (step 10),
    before the checkpoint of step 10 is written. ``stop`` exits 3 naming that step, as does
    an optax rule asked to roll back (it has no h to halve); neither has a checkpoint.
    ``rollback`` saves the initial state as checkpoint 0 and goes back there, and stops
    once ``loop.max_rollbacks`` are used. A run trained on (``continue``, the default) to
    step 20 and resumed with ``rollback`` goes back to the checkpoint of step 20 with h
    halved each time its G is found dead again, and stops likewise, that checkpoint kept."""
    for policy, extra in (("stop", []), ("rollback", ["--config.rule.name=simultaneous"])):
        run = tmp_path / f"{policy}{len(extra)}"
        result = odegan_here(
            capsys,
            *DEAD_ARGS,
            "--config.steps=40",
            *extra,
            f"--config.loop.dead_generator={policy}",
            "--workdir",
            str(run),
        )
        assert result.returncode == 3, result.stdout + result.stderr
        assert "G's gradient is exactly 0 at step 10" in result.stderr, result.stderr
        assert "no checkpoint had been saved yet" in result.stderr
        assert "config.loop.dead_generator=continue" in result.stderr
        assert not (run / "summary.json").exists()
    run = tmp_path / "from0"
    result = odegan_here(
        capsys,
        *DEAD_ARGS,
        "--config.steps=40",
        "--workdir",
        str(run),
        "--config.loop.dead_generator=rollback",
        "--config.loop.max_rollbacks=1",
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "rolled back to the checkpoint at step 0 and halved h to 0.3" in result.stdout
    assert "(all 1 rollbacks used)" in result.stderr
    assert "the last checkpoint (step 0) is kept" in result.stderr
    assert _checkpoints(run) == [0]
    run = tmp_path / "resumed"
    on = odegan_here(capsys, *DEAD_ARGS, "--config.steps=20", "--workdir", str(run))
    assert on.returncode == 0, on.stderr  # the default trains on
    assert _checkpoints(run) == [10, 20]
    back = odegan_here(
        capsys,
        *DEAD_ARGS,
        "--config.steps=40",
        "--config.loop.dead_generator=rollback",
        "--config.loop.max_rollbacks=2",
        "--workdir",
        str(run),
    )
    assert back.returncode == 3, back.stdout + back.stderr
    assert "G's gradient is exactly 0 at step 30" in back.stdout  # the rollbacks' lines
    assert "rolled back to the checkpoint at step 20 and halved h to 0.15" in back.stdout
    assert "(all 2 rollbacks used)" in back.stderr
    assert "the last checkpoint (step 20) is kept" in back.stderr
    from odegan_jax import logs

    events = [
        (r["step"], r["event"], r["h"])
        for r in logs.read_metrics(str(run / "metrics.jsonl"))
        if "event" in r
    ]
    assert events == [(20, "rollback", 0.3), (20, "rollback", 0.15)], events
    assert _checkpoints(run) == [10, 20]


def test_a_step_that_blows_up_before_the_first_checkpoint_rolls_back_to_step_0(tmp_path, capsys):
    """h = 20 blows up within a few steps, long before the first periodic checkpoint (step
    200): a run that rolls back saved its initial state as checkpoint 0 and goes back there
    with h halved, until h is small enough to train on (before, it stopped)."""
    run = tmp_path / "early"
    result = odegan_here(
        capsys,
        "train",
        "--config",
        "mog16_rk4",
        "--config.steps=30",
        "--config.rule.h=20",
        "--config.loop.steps_per_call=1",
        "--config.loop.checkpoint_every=200",
        "--config.loop.log_every=10",
        "--config.loop.eval_samples=100",
        "--config.loop.plot=false",
        "--config.loop.nonfinite=rollback",
        "--config.loop.max_rollbacks=12",
        "--workdir",
        str(run),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    from odegan_jax import logs

    events = [
        (r["step"], r["event"], r["h"])
        for r in logs.read_metrics(str(run / "metrics.jsonl"))
        if "event" in r
    ]
    assert events and events == [(0, "rollback", 20 / 2**i) for i in range(1, len(events) + 1)], (
        events
    )
    summary = json.load(open(run / "summary.json"))
    assert (summary["rollbacks"], summary["final_h"]) == (len(events), 20 / 2 ** len(events))


def test_watching_for_a_dead_generator_leaves_a_live_run_bit_for_bit(tmp_path, capsys):
    """G's gradient is never 0 in a healthy run, so ``rollback`` (the main job's policy)
    must end at the parameters of ``continue``."""
    shas = []
    for policy in ("continue", "rollback"):
        run = tmp_path / policy
        result = odegan_here(
            capsys,
            "train",
            "--config",
            "mog16_main",
            "--config.steps=300",
            *FAST,
            f"--config.loop.dead_generator={policy}",
            "--workdir",
            str(run),
        )
        assert result.returncode == 0, result.stderr
        shas.append(_sha(run))
    assert shas[0] == shas[1]


def test_10_a_run_killed_after_a_rejected_step_resumes_with_its_halved_h(tmp_path, capsys):
    """The halved h of a rejected step lives in the checkpointed state: a run killed with
    SIGKILL after the rejections (its checkpoint at step 30 holds the halved h) and resumed ends
    where the uninterrupted run ends."""
    from test_runs import RETRY_ARGS, SPIKE

    args = [a.replace("checkpoint_every=0", "checkpoint_every=10") for a in RETRY_ARGS]
    args = [a for a in args if "steps_per_call" not in a and "log_every" not in a] + [
        SPIKE,
        "--config.loop.steps_per_call=1",
        "--config.loop.log_every=1",
    ]
    whole = odegan_here(capsys, *args, "--workdir", str(tmp_path / "whole"))  # this process
    assert whole.returncode == 0 and "rejected and redone" in whole.stdout
    workdir = tmp_path / "killed"
    proc = subprocess.Popen(
        _cmd(*args, "--workdir", str(workdir)),
        env=dict(os.environ, CI="true"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 300
        done = workdir / "checkpoints" / "30" / "_CHECKPOINT_METADATA"
        while not done.exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (workdir / "summary.json").exists()
    resumed = odegan(*args, "--workdir", str(workdir))
    assert resumed.returncode == 0, resumed.stderr
    summary = json.load(open(tmp_path / "whole" / "summary.json"))
    assert (
        f"going on with h {summary['final_h']:g} from the checkpoint "
        f"({summary['retries']} rejected step(s) so far)" in resumed.stdout
    )
    assert _sha(workdir) == _sha(tmp_path / "whole")
    assert json.load(open(workdir / "summary.json"))["retries"] == summary["retries"] >= 1
