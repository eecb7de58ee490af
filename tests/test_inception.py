"""Inception-v3 (FID) from a local weights file: layout, loading and clear errors.

Numerical parity with pytorch-fid's PyTorch modules needs torch, so it lives in
``benchmarks/inception_parity.py`` (result in BUILD_NOTES.md); here the references are
torchvision's own figures for the FID Inception (``inception_v3(num_classes=1008,
aux_logits=False)`` with pytorch-fid's blocks): 23,850,960 parameters and 472 state-dict
arrays besides ``num_batches_tracked``, 34,432 of them BatchNorm running statistics.
"""

import json

import jax
import numpy as np
import pytest

from odegan_jax.metrics import inception

TORCH_PARAMS = 23_850_960
TORCH_ARRAYS = 472
TORCH_RUNNING_STATS = 34_432


def _torch_layout_state(seed=0):
    """A random state dict in PyTorch's names and layouts, built from the flax template."""
    rng = np.random.default_rng(seed)
    state = {}
    for kpath, leaf in jax.tree_util.tree_leaves_with_path(inception._template()):
        names = tuple(k.key for k in kpath)
        shape = leaf.shape
        if len(shape) == 4:
            shape = (shape[3], shape[2], shape[0], shape[1])  # HWIO → OIHW
        elif len(shape) == 2:
            shape = shape[::-1]
        value = rng.normal(0, 0.05, shape).astype(np.float32)
        if names[-1] == "var":
            value = 1 + np.abs(value)
        state[inception.torch_key(names[0], names[1:])] = value
    return state


def test_layout_matches_torchvision_counts():
    template = inception._template()
    params = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(template["params"]))
    stats = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(template["batch_stats"]))
    assert params == TORCH_PARAMS
    assert stats == TORCH_RUNNING_STATS
    assert len(jax.tree.leaves(template)) == TORCH_ARRAYS
    keys = set(_torch_layout_state())
    assert {
        "Conv2d_1a_3x3.conv.weight",
        "Mixed_7c.branch3x3dbl_3b.bn.running_var",
        "Mixed_6e.branch7x7dbl_5.bn.weight",
        "fc.weight",
        "fc.bias",
    } <= keys


def test_missing_file_names_the_source(tmp_path):
    with pytest.raises(inception.InceptionWeightsError, match="pt_inception-2015-12-05"):
        inception.load_inception(str(tmp_path / "nope.npz"))


def test_incomplete_or_wrong_file_is_rejected(tmp_path):
    state = _torch_layout_state()
    del state["Mixed_5b.branch_pool.conv.weight"]
    np.savez(tmp_path / "missing.npz", **state)
    with pytest.raises(inception.InceptionWeightsError, match="Mixed_5b.branch_pool.conv.weight"):
        inception.load_inception(str(tmp_path / "missing.npz"))
    state = _torch_layout_state()
    state["fc.weight"] = state["fc.weight"].T  # [2048, 1008]: not PyTorch's layout
    np.savez(tmp_path / "transposed.npz", **state)
    with pytest.raises(inception.InceptionWeightsError, match="fc.weight"):
        inception.load_inception(str(tmp_path / "transposed.npz"))
    (tmp_path / "junk.npz").write_bytes(b"not an npz")
    with pytest.raises(inception.InceptionWeightsError, match="cannot read"):
        inception.load_inception(str(tmp_path / "junk.npz"))


def test_loaded_weights_land_in_flax_layout(tmp_path):
    state = _torch_layout_state()
    np.savez(tmp_path / "w.npz", **state)
    net = inception.load_inception(str(tmp_path / "w.npz"))
    v = net.variables
    np.testing.assert_array_equal(
        v["params"]["Conv2d_1a_3x3"]["conv"]["kernel"],
        state["Conv2d_1a_3x3.conv.weight"].transpose(2, 3, 1, 0),
    )
    np.testing.assert_array_equal(v["params"]["fc"]["kernel"], state["fc.weight"].T)
    np.testing.assert_array_equal(
        v["batch_stats"]["Mixed_7b"]["branch1x1"]["bn"]["mean"],
        state["Mixed_7b.branch1x1.bn.running_mean"],
    )
    np.testing.assert_array_equal(
        v["params"]["Mixed_6a"]["branch3x3"]["bn"]["scale"], state["Mixed_6a.branch3x3.bn.weight"]
    )


def test_config_rejects_a_missing_weights_file():
    from odegan_jax.config import ConfigError, base_config, validate

    c = base_config()
    c.eval.inception_weights = "/nonexistent/inception.npz"
    with pytest.raises(ConfigError, match="eval.inception_weights"):
        validate(c)


def test_eval_command_with_a_missing_weights_file_is_one_clear_error(tmp_path, capsys):
    from odegan_jax import cli

    code = cli.main(["eval", str(tmp_path), "--inception", str(tmp_path / "missing.npz")])
    err = capsys.readouterr().err
    assert code == 2 and "pt_inception-2015-12-05" in err and "Traceback" not in err


CIFAR_CONFIGS = (
    "cifar10_odegan_dcgan",
    "cifar10_odegan_resnet",
    "cifar10_odegan_dcgan_fig12",
    "cifar10_odegan_resnet_fig13",
    "cifar10_odegan_adam",
    "cifar10_sngan",
    "cifar10_depth_d0",
    "cifar10_depth_d1",
    "cifar10_depth_d2",
    "cifar10_depth_d3",
)


def _cifar_npz(tmp_path):
    rng = np.random.default_rng(0)
    data = tmp_path / "cifar10.npz"
    np.savez(
        data,
        x_train=rng.integers(0, 256, (256, 32, 32, 3), dtype=np.uint8),
        x_test=rng.integers(0, 256, (32, 32, 32, 3), dtype=np.uint8),
    )
    return ["--config.data.source=files", f"--config.data.path={data}"]


def test_cifar10_configs_build_on_a_users_npz_with_the_seeds_settings(tmp_path):
    """Every CIFAR-10 config of the source documents' studies builds on a user's .npz (32×32 RGB, no
    tfds), with the settings the source documents give for it."""
    from odegan_jax.config import resolve_config
    from odegan_jax.experiment import build

    files = _cifar_npz(tmp_path)
    for name in CIFAR_CONFIGS:
        c = resolve_config(name, files)
        exp = build(c)
        assert exp.dataset.train.shape == (256, 32, 32, 3), name
        assert c.data.name == "cifar10"
    checks = {
        "cifar10_odegan_dcgan_fig12": ("rule.h", 0.04, "rule.reg_weight", 0.01),
        "cifar10_odegan_resnet_fig13": ("rule.h", 0.01, "rule.reg_weight", 0.01),
        "cifar10_odegan_adam": ("rule.use_optimizer", True, "optimizer.name", "adam"),
        "cifar10_depth_d3": ("model.res_blocks", 3, "optimizer.weight_decay", 1e-5),
    }
    for name, (k1, v1, k2, v2) in checks.items():
        c = resolve_config(name, files)
        assert (c[k1.split(".")[0]][k1.split(".")[1]], c[k2.split(".")[0]][k2.split(".")[1]]) == (
            v1,
            v2,
        ), name


@pytest.mark.slow
def test_a_cifar10_run_from_a_users_npz_is_scored_by_inception_during_training(tmp_path, capsys):
    """``cifar10_depth_d0`` trains two steps on a random .npz and is scored in Inception-v3's
    space from a weights file (random weights in PyTorch's layout: the values mean nothing;
    that they are logged, finite and in the summary is what this checks). Slow tier (~1-2
    minutes on 2 cores: Inception at 299×299 under the suite's -O0 flags); not in the
    README's test command: ``pytest -m slow``."""
    from test_cli import odegan_here

    files = _cifar_npz(tmp_path)
    weights = tmp_path / "inception.npz"
    np.savez(weights, **_torch_layout_state())
    run = tmp_path / "run"
    r = odegan_here(
        capsys,
        "train",
        "--config",
        "cifar10_depth_d0",
        "--workdir",
        str(run),
        "--no-progress",
        *files,
        "--config.steps=2",
        "--config.data.batch_size=8",
        "--config.loop.log_every=1",
        "--config.loop.score_every=2",
        "--config.eval.num_samples=10",
        f"--config.eval.inception_weights={weights}",
    )
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in open(run / "metrics.jsonl")]
    scored = [row for row in rows if "inception_fid" in row]
    assert [row["step"] for row in scored] == [2] and "fid" not in scored[0]  # no CIFAR classifier
    for key in (
        "inception_is",
        "inception_fid",
        "inception_kid",
        "inception_fid_real_test_vs_train",
    ):
        assert np.isfinite(scored[0][key]), key
    assert 1.0 <= scored[0]["inception_is"] <= 1008.0
    scores = json.load(open(run / "summary.json"))["scores"]
    assert scores["final"]["inception_fid"] == scored[0]["inception_fid"]
    assert scores["best"]["inception_is_step"] == 2
