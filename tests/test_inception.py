"""Inception-v3 (FID) from a local weights file: layout, loading and clear errors.

Numerical parity with pytorch-fid's PyTorch modules needs torch, so it lives in
``benchmarks/inception_parity.py`` (result in BUILD_NOTES.md); here the references are
torchvision's own figures for the FID Inception (``inception_v3(num_classes=1008,
aux_logits=False)`` with pytorch-fid's blocks): 23,850,960 parameters and 472 state-dict
arrays besides ``num_batches_tracked``, 34,432 of them BatchNorm running statistics.
"""
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
    assert {"Conv2d_1a_3x3.conv.weight", "Mixed_7c.branch3x3dbl_3b.bn.running_var",
            "Mixed_6e.branch7x7dbl_5.bn.weight", "fc.weight", "fc.bias"} <= keys


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
    np.testing.assert_array_equal(v["params"]["Conv2d_1a_3x3"]["conv"]["kernel"],
                                  state["Conv2d_1a_3x3.conv.weight"].transpose(2, 3, 1, 0))
    np.testing.assert_array_equal(v["params"]["fc"]["kernel"], state["fc.weight"].T)
    np.testing.assert_array_equal(v["batch_stats"]["Mixed_7b"]["branch1x1"]["bn"]["mean"],
                                  state["Mixed_7b.branch1x1.bn.running_mean"])
    np.testing.assert_array_equal(v["params"]["Mixed_6a"]["branch3x3"]["bn"]["scale"],
                                  state["Mixed_6a.branch3x3.bn.weight"])


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
