"""Inception-v3 of the FID literature (the TF 2015-12-05 graph) from a local weights file.

The standard FID / IS network for 32×32 RGB images (CIFAR-10): torchvision's Inception-v3
with 1008 classes and the FID variants of its mixed blocks (average pools that exclude the
padding; a max pool in the last block), as ported by pytorch-fid. Images in [−1, 1] are
resized to 299×299 (bilinear, half-pixel centres, as ``F.interpolate(align_corners=False)``);
grey images are repeated to three channels. Outputs: the 2048 pool features (FID, KID) and the
softmax of the 1008 logits (IS).

**Weights are never downloaded.** The file is an ``.npz`` holding the PyTorch state dict of
pytorch-fid's FID Inception, keys as in PyTorch (``Conv2d_1a_3x3.conv.weight``,
``Mixed_5b.branch1x1.bn.running_mean``, …, ``fc.weight``) and arrays in PyTorch layout
(convolutions OIHW, ``fc.weight`` [1008, 2048]). Make it once on a machine with torch:

    # pt_inception-2015-12-05-6726825d.pth from
    # https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/
    python -m odegan_jax.tools.convert_inception_weights pt_inception-2015-12-05-6726825d.pth \\
        ~/.odegan_jax/inception_fid.npz

and pass it as ``--config.eval.inception_weights=PATH`` (or ``odegan eval RUN --inception PATH``,
or the environment variable ``ODEGAN_INCEPTION_WEIGHTS``). The port is checked against
pytorch-fid's own modules by ``benchmarks/inception_parity.py``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from odegan_jax.metrics.classifier import batched_probs_and_features

ENV_VAR = "ODEGAN_INCEPTION_WEIGHTS"  # read by the CLI only, when no flag / key names a file
SOURCE = (
    "pt_inception-2015-12-05-6726825d.pth from "
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/, converted "
    "with `python -m odegan_jax.tools.convert_inception_weights IN.pth OUT.npz`"
)


class InceptionWeightsError(ValueError):
    """A missing or malformed Inception weights file."""


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


class BasicConv(nn.Module):
    """conv (no bias) → BatchNorm (ε = 1e-3, running statistics) → ReLU, named as in torch."""

    features: int
    kernel: Sequence[int] | int
    stride: int = 1
    padding: Sequence[int] | int = 0

    @nn.compact
    def __call__(self, x: Array) -> jax.Array:
        ph, pw = _pair(self.padding)
        x = nn.Conv(
            self.features,
            _pair(self.kernel),
            strides=_pair(self.stride),
            padding=((ph, ph), (pw, pw)),
            use_bias=False,
            name="conv",
        )(x)
        x = nn.BatchNorm(use_running_average=True, epsilon=1e-3, name="bn")(x)
        return nn.relu(x)


def _avg_pool(x: Array):  # 3×3, stride 1, pad 1, padding excluded from the mean (FID blocks)
    return nn.avg_pool(x, (3, 3), (1, 1), padding=((1, 1), (1, 1)), count_include_pad=False)


def _max_pool(x: Array, stride: int = 2, pad: int = 0):
    return nn.max_pool(x, (3, 3), (stride, stride), padding=((pad, pad), (pad, pad)))


class BlockA(nn.Module):
    pool_features: int

    @nn.compact
    def __call__(self, x: Array) -> jax.Array:
        b1 = BasicConv(64, 1, name="branch1x1")(x)
        b5 = BasicConv(48, 1, name="branch5x5_1")(x)
        b5 = BasicConv(64, 5, padding=2, name="branch5x5_2")(b5)
        b3 = BasicConv(64, 1, name="branch3x3dbl_1")(x)
        b3 = BasicConv(96, 3, padding=1, name="branch3x3dbl_2")(b3)
        b3 = BasicConv(96, 3, padding=1, name="branch3x3dbl_3")(b3)
        bp = BasicConv(self.pool_features, 1, name="branch_pool")(_avg_pool(x))
        return jnp.concatenate([b1, b5, b3, bp], -1)


class BlockB(nn.Module):
    @nn.compact
    def __call__(self, x: Array) -> jax.Array:
        b3 = BasicConv(384, 3, stride=2, name="branch3x3")(x)
        bd = BasicConv(64, 1, name="branch3x3dbl_1")(x)
        bd = BasicConv(96, 3, padding=1, name="branch3x3dbl_2")(bd)
        bd = BasicConv(96, 3, stride=2, name="branch3x3dbl_3")(bd)
        return jnp.concatenate([b3, bd, _max_pool(x)], -1)


class BlockC(nn.Module):
    c7: int

    @nn.compact
    def __call__(self, x: Array) -> jax.Array:
        c7 = self.c7
        b1 = BasicConv(192, 1, name="branch1x1")(x)
        b7 = BasicConv(c7, 1, name="branch7x7_1")(x)
        b7 = BasicConv(c7, (1, 7), padding=(0, 3), name="branch7x7_2")(b7)
        b7 = BasicConv(192, (7, 1), padding=(3, 0), name="branch7x7_3")(b7)
        bd = BasicConv(c7, 1, name="branch7x7dbl_1")(x)
        bd = BasicConv(c7, (7, 1), padding=(3, 0), name="branch7x7dbl_2")(bd)
        bd = BasicConv(c7, (1, 7), padding=(0, 3), name="branch7x7dbl_3")(bd)
        bd = BasicConv(c7, (7, 1), padding=(3, 0), name="branch7x7dbl_4")(bd)
        bd = BasicConv(192, (1, 7), padding=(0, 3), name="branch7x7dbl_5")(bd)
        bp = BasicConv(192, 1, name="branch_pool")(_avg_pool(x))
        return jnp.concatenate([b1, b7, bd, bp], -1)


class BlockD(nn.Module):
    @nn.compact
    def __call__(self, x: Array) -> jax.Array:
        b3 = BasicConv(192, 1, name="branch3x3_1")(x)
        b3 = BasicConv(320, 3, stride=2, name="branch3x3_2")(b3)
        b7 = BasicConv(192, 1, name="branch7x7x3_1")(x)
        b7 = BasicConv(192, (1, 7), padding=(0, 3), name="branch7x7x3_2")(b7)
        b7 = BasicConv(192, (7, 1), padding=(3, 0), name="branch7x7x3_3")(b7)
        b7 = BasicConv(192, 3, stride=2, name="branch7x7x3_4")(b7)
        return jnp.concatenate([b3, b7, _max_pool(x)], -1)


class BlockE(nn.Module):
    max_pool: bool  # FID's Mixed_7c pools by max, Mixed_7b by a padding-excluding mean

    @nn.compact
    def __call__(self, x: Array) -> jax.Array:
        b1 = BasicConv(320, 1, name="branch1x1")(x)
        b3 = BasicConv(384, 1, name="branch3x3_1")(x)
        b3 = jnp.concatenate(
            [
                BasicConv(384, (1, 3), padding=(0, 1), name="branch3x3_2a")(b3),
                BasicConv(384, (3, 1), padding=(1, 0), name="branch3x3_2b")(b3),
            ],
            -1,
        )
        bd = BasicConv(448, 1, name="branch3x3dbl_1")(x)
        bd = BasicConv(384, 3, padding=1, name="branch3x3dbl_2")(bd)
        bd = jnp.concatenate(
            [
                BasicConv(384, (1, 3), padding=(0, 1), name="branch3x3dbl_3a")(bd),
                BasicConv(384, (3, 1), padding=(1, 0), name="branch3x3dbl_3b")(bd),
            ],
            -1,
        )
        pooled = _max_pool(x, stride=1, pad=1) if self.max_pool else _avg_pool(x)
        bp = BasicConv(192, 1, name="branch_pool")(pooled)
        return jnp.concatenate([b1, b3, bd, bp], -1)


class InceptionV3(nn.Module):
    """FID Inception-v3 on NHWC images in [−1, 1] of any size ≥ 1 (resized to 299×299)."""

    num_classes: int = 1008

    @nn.compact
    def __call__(self, x: Array) -> jax.Array:
        """Returns ``(logits [B, 1008], pool features [B, 2048])``."""
        if x.shape[-1] == 1:
            x = jnp.repeat(x, 3, axis=-1)
        x = jax.image.resize(x, (x.shape[0], 299, 299, 3), "bilinear", antialias=False)
        x = BasicConv(32, 3, stride=2, name="Conv2d_1a_3x3")(x)
        x = BasicConv(32, 3, name="Conv2d_2a_3x3")(x)
        x = BasicConv(64, 3, padding=1, name="Conv2d_2b_3x3")(x)
        x = _max_pool(x)
        x = BasicConv(80, 1, name="Conv2d_3b_1x1")(x)
        x = BasicConv(192, 3, name="Conv2d_4a_3x3")(x)
        x = _max_pool(x)
        x = BlockA(32, name="Mixed_5b")(x)
        x = BlockA(64, name="Mixed_5c")(x)
        x = BlockA(64, name="Mixed_5d")(x)
        x = BlockB(name="Mixed_6a")(x)
        for name, c7 in (
            ("Mixed_6b", 128),
            ("Mixed_6c", 160),
            ("Mixed_6d", 160),
            ("Mixed_6e", 192),
        ):
            x = BlockC(c7, name=name)(x)
        x = BlockD(name="Mixed_7a")(x)
        x = BlockE(False, name="Mixed_7b")(x)
        x = BlockE(True, name="Mixed_7c")(x)
        features = jnp.mean(x, axis=(1, 2))
        return nn.Dense(self.num_classes, name="fc")(features), features


# ----------------------------------------------------------------------------- weights

_BN = {
    "weight": ("params", "scale"),
    "bias": ("params", "bias"),
    "running_mean": ("batch_stats", "mean"),
    "running_var": ("batch_stats", "var"),
}


@functools.lru_cache(maxsize=1)
def _template():
    return jax.eval_shape(
        lambda: InceptionV3().init(jax.random.PRNGKey(0), jnp.zeros((1, 75, 75, 3)))
    )


def torch_key(collection: str, path: tuple[str, ...]) -> str:
    """The PyTorch state-dict key of a flax leaf (``collection``, module path + leaf name)."""
    *modules, leaf = path
    if modules and modules[-1] == "conv":
        return ".".join(modules + ["weight"])
    if modules and modules[-1] == "bn":
        name = {v: k for k, v in _BN.items()}[(collection, leaf)]
        return ".".join(modules + [name])
    return ".".join(modules + [{"kernel": "weight", "bias": "bias"}[leaf]])


def _from_torch(path: tuple[str, ...], array: np.ndarray) -> np.ndarray:
    if path[-1] == "kernel" and array.ndim == 4:  # OIHW → HWIO
        return array.transpose(2, 3, 1, 0)
    if path[-1] == "kernel":  # Linear [out, in] → Dense [in, out]
        return array.T
    return array


def load_inception_variables(path: str) -> dict:
    """Flax variables from an ``.npz`` state dict (see the module doc); one clear error if the
    file is missing, unreadable, incomplete or of the wrong shapes."""
    path = os.path.expanduser(path)
    if not os.path.isfile(path):
        raise InceptionWeightsError(
            f"no Inception-v3 weights at {path}: FID / IS on Inception need a local file "
            f"(never downloaded). Get {SOURCE}, then pass --config.eval.inception_weights=PATH "
            f"or set {ENV_VAR}"
        )
    try:
        with np.load(path) as f:
            state = {k: f[k] for k in f.files}
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same message
        raise InceptionWeightsError(
            f"cannot read Inception weights {path} ({e}); expected an "
            f".npz made by odegan_jax/tools/convert_inception_weights.py"
        ) from None
    template = _template()
    variables: dict = {}
    missing, wrong = [], []
    for kpath, leaf in jax.tree_util.tree_leaves_with_path(template):
        names = tuple(k.key for k in kpath)
        collection, mpath = names[0], names[1:]
        key = torch_key(collection, mpath)
        if key not in state:
            missing.append(key)
            continue
        value = _from_torch(mpath, np.asarray(state[key], np.float32))
        if value.shape != leaf.shape:
            wrong.append(f"{key}: {state[key].shape}")
            continue
        node = variables.setdefault(collection, {})
        for m in mpath[:-1]:
            node = node.setdefault(m, {})
        node[mpath[-1]] = value
    if missing or wrong:
        detail = (
            f"missing {len(missing)} keys (e.g. {', '.join(missing[:3])})"
            if missing
            else f"wrong shapes: {', '.join(wrong[:3])}"
        )
        raise InceptionWeightsError(
            f"{path} is not the FID Inception-v3 state dict: {detail}. Expected {SOURCE}"
        )
    return variables


class LoadedInception(NamedTuple):
    path: str
    variables: dict

    def apply(self, x: Array, batch_size: int = 100) -> tuple[np.ndarray, np.ndarray]:
        """``(probs [N, 1008], features [N, 2048])`` as float64 numpy, in batches."""
        return batched_probs_and_features(_apply, self.variables, x, batch_size)


_apply = jax.jit(lambda variables, x: InceptionV3().apply(variables, x))


def load_inception(path: str) -> LoadedInception:
    return LoadedInception(
        os.path.abspath(os.path.expanduser(path)), load_inception_variables(path)
    )
