"""Converts pytorch-fid's FID Inception weights (a PyTorch state dict) to the ``.npz`` that
``odegan_jax.metrics.inception`` reads, so FID / IS on Inception-v3 run without torch.

    python -m odegan_jax.tools.convert_inception_weights \
        pt_inception-2015-12-05-6726825d.pth OUT.npz

The ``.pth`` is the one pytorch-fid uses (release ``fid_weights`` of
github.com/mseitzer/pytorch-fid); this script needs torch only here, once, and downloads
nothing. The arrays keep PyTorch's names and layout; the loader checks every key and shape.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

import numpy as np


def convert(state_dict: Mapping, out: str) -> int:
    arrays = {
        k: v.detach().cpu().numpy().astype(np.float32)
        for k, v in state_dict.items()
        if not k.endswith("num_batches_tracked")
    }
    np.savez(out, **arrays)
    return len(arrays)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("pth")
    p.add_argument("out")
    args = p.parse_args(argv)
    import torch  # only for reading the .pth

    state = torch.load(args.pth, map_location="cpu", weights_only=True)
    n = convert(state, args.out)
    from odegan_jax.metrics.inception import load_inception_variables

    load_inception_variables(args.out)  # fails loudly on a file of another network
    print(f"wrote {args.out}: {n} arrays")


if __name__ == "__main__":
    main()
