"""Player parallelism (``config.parallel.players``): D's and G's gradients of every stage of
an ODE step on two devices at once, checked against the one-device step; the CLI end to end
(a run and its resume) in subprocesses, which get two CPU devices where this process has
one."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from odegan_jax.config import ConfigError, load_config, resolve_config

from test_cli import odegan

# Runs in a fresh interpreter: two host devices must be asked for before JAX's first
# computation, and this test process has started its backend with one.
SPLIT_AND_STEPS = textwrap.dedent(r"""
    import jax
    jax.config.update("jax_num_cpu_devices", 2)
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import NamedSharding, PartitionSpec as P

    from odegan_jax import parallel, train
    from odegan_jax.config import resolve_config
    from odegan_jax.experiment import build, init_state

    # 1. split_players: each function's values exactly (operations exact in float32, so
    #    that any rounding or summation on the way shows; -0.0 stays -0.0, which a sum with
    #    the other device's zeros would turn into +0.0), whatever their dtypes and trees, and
    #    one all-gather per dtype (a collective is a rendezvous of the devices' threads)
    mesh = parallel.players_mesh()
    x = jnp.linspace(-2.0, 3.5, 12).reshape(3, 4)
    fn_d = lambda x, k: {"w": x * k + 1.0, "n": jnp.sum(x > 0), "ok": jnp.all(x < 9)}
    fn_g = lambda x, k: (jnp.minimum(x[0], 0.0) * 0.0, jnp.argmax(x, axis=1) + 7, None)
    rep = NamedSharding(mesh, P())
    split = jax.jit(lambda x, k: parallel.split_players(mesh, fn_d, fn_g, x, k),
                    in_shardings=(rep, rep))
    got = split(x, 3.0)
    want = (fn_d(x, 3.0), fn_g(x, 3.0))
    assert jax.tree.structure(got) == jax.tree.structure(want), (got, want)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype and np.array_equal(a, b), (a, b)
        assert np.array_equal(np.signbit(a), np.signbit(b)), (a, b)
    assert np.signbit(np.asarray(got[1][0])).sum() == 4  # -0.0 from x[0], all negative
    hlo = split.lower(x, 3.0).compile().as_text()
    dtypes = {"float32", "int32", "bool"}
    assert hlo.count(" all-gather(") == len(dtypes), hlo.count(" all-gather(")
    assert " conditional(" in hlo

    # 2. fused ODE steps with the players split: the one-device steps to float rounding
    #    (other fusions sum in another order), every metric, both couplings, both placements
    #    of the regulariser
    cases = {"joint": ("mog16_main", []),
             "frozen": ("mog16_official", []),
             "frozen_first_stage": ("mog16_official", ["--config.rule.reg_placement=first_stage",
                                                       "--config.rule.stage_batches=fresh"])}
    for name, (config_name, extra) in cases.items():
        outs = []
        for players in (False, True):
            config = resolve_config(config_name, ["--config.data.batch_size=64", *extra,
                                                  f"--config.parallel.players={players}"])
            exp = build(config)
            mesh = parallel.training_mesh(config)
            state = init_state(exp)
            if mesh is not None:
                state = parallel.replicate(state, mesh)
            outs.append(train.make_train_fn(exp, 10, mesh)(state, None))
        (one, m_one), (two, m_two) = outs
        assert set(m_one) == set(m_two), (set(m_one) ^ set(m_two))
        for a, b in zip(jax.tree.leaves((one, m_one)), jax.tree.leaves((two, m_two))):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=1e-7,
                                       err_msg=name)
        moved = max(float(jnp.max(jnp.abs(a - b))) for a, b in zip(
            jax.tree.leaves(one.params), jax.tree.leaves(init_state(exp).params)))
        assert moved > 1e-3, (name, moved)  # the steps did something to compare
        print("matched", name, flush=True)
""")


def test_split_players_is_exact_and_the_split_step_matches_one_device():
    result = subprocess.run([sys.executable, "-c", SPLIT_AND_STEPS], capture_output=True,
                            text=True, timeout=600, env=dict(os.environ, CI="true"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == ["matched", "joint", "matched", "frozen",
                                     "matched", "frozen_first_stage"]


def test_cli_trains_and_resumes_with_the_players_split(tmp_path):
    workdir = str(tmp_path / "run")
    common = ["train", "--workdir", workdir, "--config.parallel.players=true",
              "--config.loop.log_every=20", "--config.loop.steps_per_call=20",
              "--config.loop.eval_samples=500", "--config.loop.plot=false",
              "--config.loop.checkpoint_every=20"]
    first = odegan(*common, "--config.steps=40")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "with D and G on 2 devices at once (parallel.players)" in first.stdout
    resumed = odegan(*common, "--config.steps=60")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "resum" in resumed.stdout.lower()
    summary = json.load(open(os.path.join(workdir, "summary.json")))
    assert summary["final"]["step"] == 60 and len(summary["params_sha256"]) == 64
    with open(os.path.join(workdir, "config.json")) as f:
        assert json.load(f)["parallel"]["players"] is True


def test_players_errors_name_the_key_and_what_to_change(tmp_path):
    import jax

    from odegan_jax import train
    from odegan_jax.population import train_population

    assert jax.device_count() == 1  # started before anything could ask for two
    config = resolve_config("mog16_main", ["--config.parallel.players=true"])
    with pytest.raises(ConfigError, match="parallel.players: needs two devices.*"
                                          "jax_num_cpu_devices"):
        train.train(config, str(tmp_path / "one_device"), echo=lambda _: None)
    assert not os.path.exists(tmp_path / "one_device" / "checkpoints")
    with pytest.raises(ConfigError, match="parallel.players.*rule.name='ode'"):
        train.train(resolve_config("mog16_main", ["--config.parallel.players=true",
                                                  "--config.rule.name=simultaneous"]),
                    str(tmp_path / "gradient_rule"), echo=lambda _: None)
    with pytest.raises(ConfigError, match="population with config.parallel.players"):
        train_population(config, "seed", [0, 1], str(tmp_path / "population"))
    # the command line reads it as a bool; a config file written by hand may hold anything
    saved = resolve_config("mog16_main", []).to_dict()
    saved["parallel"]["players"] = "yes"
    path = tmp_path / "config.json"
    path.write_text(json.dumps(saved))
    with pytest.raises(ConfigError, match="parallel.players: must be True or False"):
        train.train(load_config(str(path)), str(tmp_path / "not_bool"), echo=lambda _: None)
