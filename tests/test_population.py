"""Populations (odegan_jax.population): N runs as one vmapped program, each member an ordinary
run directory. Checked against the members' single runs (the independent reference), a
resume from real orbax checkpoints, and the real CLI for a member that diverges."""

from __future__ import annotations

import json
import os
import shutil

import jax
import numpy as np
import pytest
from test_cli import odegan

from odegan_jax import population, train
from odegan_jax.config import ConfigError, resolve_config
from odegan_jax.experiment import load_run
from odegan_jax.rundir import RunDirError

SMALL = [
    "--config.steps=20",
    "--config.loop.steps_per_call=10",
    "--config.loop.log_every=10",
    "--config.loop.eval_samples=1000",
    "--config.loop.plot=false",
    "--config.model.width=16",
    "--config.loop.checkpoint_every=10",
]


def _params(run_dir):
    _, state, step = load_run(str(run_dir))
    return step, [np.asarray(x) for x in jax.tree.leaves(state.params)]


@pytest.mark.parametrize(
    "config,key,values,single",
    [
        ("mog16_rk4", "seed", [0, 1], 1),
        ("mog16_rk4", "rule.reg_weight", [0.0, 0.3], 0.0),  # traced λ = 0 against the static path
        ("mog16_adam", "optimizer.learning_rate", [1e-4, 3e-3], 3e-3),
    ],
)
def test_a_member_follows_its_single_run(tmp_path, config, key, values, single):
    """A member's parameters and logged losses after 20 steps equal those of the same config
    trained alone, up to float rounding (the members' products are batched)."""
    base = resolve_config(config, SMALL)
    out = population.train_population(base, key, values, str(tmp_path / "pop"), echo=lambda _: None)
    name = population.member_name(key, single)
    assert set(out) == {population.member_name(key, v) for v in values}
    alone = resolve_config(config, SMALL + [f"--config.{key}={single}"])
    train.train(alone, str(tmp_path / "alone"), echo=lambda _: None)
    (s1, member), (s2, reference) = _params(tmp_path / "pop" / name), _params(tmp_path / "alone")
    assert s1 == s2 == 20
    for a, b in zip(member, reference):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    rows = [
        [json.loads(line) for line in open(d / "metrics.jsonl")]
        for d in (tmp_path / "pop" / name, tmp_path / "alone")
    ]
    assert [r["step"] for r in rows[0]] == [r["step"] for r in rows[1]] == [10, 20]
    for a, b in zip(*rows):
        assert a["loss_d"] == pytest.approx(b["loss_d"], rel=1e-4)
        assert a["loss_g"] == pytest.approx(b["loss_g"], rel=1e-4)
    summary = json.load(open(tmp_path / "pop" / name / "summary.json"))
    assert summary["population"]["key"] == key and summary["population"]["size"] == 2
    # the other member really differs (the varied value reached the program)
    other = population.member_name(key, next(v for v in values if v != single))
    assert not np.allclose(_params(tmp_path / "pop" / other)[1][0], member[0])


def test_population_resumes_from_its_checkpoints_bit_for_bit(tmp_path):
    """Killed after the step-10 checkpoints (step 20's and the summaries removed): the
    population goes on from step 10 and ends where the uninterrupted one did. Members at
    different steps are refused and nothing is changed."""
    config = resolve_config("mog16_rk4", SMALL)
    first = population.train_population(
        config, "seed", [3, 4], str(tmp_path / "p"), echo=lambda _: None
    )
    sha = {k: v["params_sha256"] for k, v in first.items()}
    for name in sha:
        shutil.rmtree(tmp_path / "p" / name / "checkpoints" / "20")
        os.remove(tmp_path / "p" / name / "summary.json")
    lines = []
    again = population.train_population(
        config, "seed", [3, 4], str(tmp_path / "p"), echo=lines.append
    )
    assert any("resuming every member from its checkpoint at step 10" in x for x in lines)
    assert {k: v["params_sha256"] for k, v in again.items()} == sha
    # one member a step behind: refused, nothing changed
    shutil.rmtree(tmp_path / "p" / "seed=4" / "checkpoints" / "20")
    os.remove(tmp_path / "p" / "seed=4" / "summary.json")
    before = sorted(os.listdir(tmp_path / "p" / "seed=3" / "checkpoints"))
    with pytest.raises(RunDirError, match="at different steps"):
        population.train_population(
            config, "seed", [3, 4], str(tmp_path / "p"), echo=lambda _: None
        )
    assert sorted(os.listdir(tmp_path / "p" / "seed=3" / "checkpoints")) == before


def test_cli_population_a_diverging_member_stops_and_the_others_finish(tmp_path):
    """`odegan train --population rule.h=0.3,1e6`: the h = 1e6 member goes non-finite, writes
    diverged.json and stops; the other finishes with its summary; exit status 3."""
    workdir = tmp_path / "pop"
    result = odegan("train", "--population", "rule.h=0.3,1e6", "--workdir", str(workdir), *SMALL)
    assert result.returncode == 3, result.stderr
    assert "rule.h=1e+06" in result.stderr and "diverged" in result.stderr
    bad = json.load(open(workdir / "rule.h=1e+06" / "diverged.json"))
    assert 1 <= bad["step"] <= 20 and "non-finite" in bad["error"]
    assert not (workdir / "rule.h=1e+06" / "summary.json").exists()
    good = json.load(open(workdir / "rule.h=0.3" / "summary.json"))
    assert good["steps"] == 20 and good["final_h"] == 0.3


@pytest.mark.parametrize(
    "text,message",
    [
        ("seed", "write KEY=VALUES"),
        ("model.width=8,16", "cannot vary within one compiled program"),
        ("seed=0.5,1", "must be integers"),
        ("rule.h=0.1,x", "must be numbers"),
        ("seed=4:4", "a:b needs b > a"),
        ("rule.h=0.1,0.1", "repeated"),
    ],
)
def test_bad_population_specs_say_what_to_write(text, message):
    with pytest.raises(ConfigError, match=message):
        population.parse_population(text)


def test_population_specs_parse():
    assert population.parse_population("seed=0:4") == ("seed", [0, 1, 2, 3])
    assert population.parse_population("rule.h=0.2, 0.4") == ("rule.h", [0.2, 0.4])
    assert population.member_name("rule.h", 0.2) == "rule.h=0.2"
