"""Checks the JAX FID Inception-v3 against pytorch-fid's own PyTorch modules.

Builds pytorch-fid's FID Inception (torchvision's Inception-v3 with the FID blocks, as
``pytorch_fid.inception.fid_inception_v3`` does, minus the download) with random weights and
non-trivial BatchNorm statistics, converts its state dict with
``odegan_jax/tools/convert_inception_weights.py``, and compares pool features and logits on random
images. Needs torch, torchvision and pytorch-fid (the benchmark environment, not a project
dependency):

    python -m benchmarks.inception_parity --json benchmarks/results/inception_parity.json
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile

import numpy as np


def torch_fid_inception():
    import torch
    import torch.library

    register = torch.library.register_fake  # torchvision's PyPI build vs a CPU-only torch:
    torch.library.register_fake = lambda *a, **k: lambda f: f  # skip its custom-op metas
    try:
        import torchvision  # noqa: F401
    finally:
        torch.library.register_fake = register
    from pytorch_fid import inception as pf

    net = pf._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    net.Mixed_5b = pf.FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = pf.FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = pf.FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = pf.FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = pf.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = pf.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = pf.FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = pf.FIDInceptionE_1(1280)
    net.Mixed_7c = pf.FIDInceptionE_2(2048)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if name.endswith("running_mean") or name.endswith("bn.bias"):
                t.copy_(0.1 * torch.randn(t.shape, generator=gen))
            elif name.endswith("running_var") or name.endswith("bn.weight"):
                t.copy_(0.5 + torch.rand(t.shape, generator=gen))
    return net.eval(), pf


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--json")
    p.add_argument("--n", type=int, default=4)
    args = p.parse_args(argv)
    import torch
    import torch.nn.functional as F
    from scripts.convert_inception_weights import convert

    from odegan_jax.metrics.inception import load_inception

    net, pf = torch_fid_inception()
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (args.n, 32, 32, 3)).astype(np.float32)  # CIFAR-sized, [−1, 1]
    with torch.no_grad():
        t = torch.from_numpy(x).permute(0, 3, 1, 2)
        t = F.interpolate(t, size=(299, 299), mode="bilinear", align_corners=False)
        # the blocks pytorch-fid's InceptionV3 chains up to its 2048 pool features
        blocks = [
            net.Conv2d_1a_3x3,
            net.Conv2d_2a_3x3,
            net.Conv2d_2b_3x3,
            net.maxpool1,
            net.Conv2d_3b_1x1,
            net.Conv2d_4a_3x3,
            net.maxpool2,
            net.Mixed_5b,
            net.Mixed_5c,
            net.Mixed_5d,
            net.Mixed_6a,
            net.Mixed_6b,
            net.Mixed_6c,
            net.Mixed_6d,
            net.Mixed_6e,
            net.Mixed_7a,
            net.Mixed_7b,
            net.Mixed_7c,
            net.avgpool,
        ]
        h = t
        for b in blocks:
            h = b(h)
        ref_feat = h.flatten(1).numpy()
        ref_logits = net(t).numpy()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "inception.npz")
        convert(net.state_dict(), path)
        ours = load_inception(path)
        probs, feat = ours.apply(x)
    import jax

    logits = np.asarray(jax.nn.log_softmax(np.log(probs)))
    ref_logp = np.asarray(jax.nn.log_softmax(ref_logits))
    result = {
        "n": args.n,
        "features_max_abs_diff": float(np.abs(feat - ref_feat).max()),
        "features_max_abs": float(np.abs(ref_feat).max()),
        "log_probs_max_abs_diff": float(np.abs(logits - ref_logp).max()),
    }
    result["features_rel_diff"] = result["features_max_abs_diff"] / result["features_max_abs"]
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
