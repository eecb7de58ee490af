"""Trains the evaluation classifier (Yamazaki17 Table B.1) with a fixed seed and ships its weights.

    python -m odegan_jax.tools.train_classifier --dataset fashion_mnist  # Debian's IDX files
    python -m odegan_jax.tools.train_classifier --dataset digits         # scikit-learn, 8×8 → 28×28
    python -m odegan_jax.tools.train_classifier --dataset mnist          # tfds or local IDX files

Adam (lr 1e-3), batch 128, dropout 0.5, seed 0, a fixed number of epochs; writes
``odegan_jax/metrics/weights/classifier_<dataset>.npz`` (float16) with the test accuracy, the
seed and this command inside, and prints the accuracy (record it in BUILD_NOTES.md).
Images are 28×28×1 in [−1, 1] (the digits are upsampled to 28×28 like the ngan_digits config).
"""

from __future__ import annotations

import argparse
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from chex import ArrayTree
from jax import Array

from odegan_jax.data.images import load_images
from odegan_jax.metrics.classifier import Classifier, load_classifier, save_classifier, weights_path

EPOCHS = {"fashion_mnist": 6, "mnist": 4, "digits": 40}


def accuracy(params: ArrayTree, x: Array, y: np.ndarray, batch: int = 1000) -> float:
    fn = jax.jit(lambda p, x_: Classifier().apply({"params": p}, x_)[0])
    correct = 0
    for i in range(0, len(x), batch):
        correct += int(jnp.sum(jnp.argmax(fn(params, x[i : i + batch]), -1) == y[i : i + batch]))
    return correct / len(x)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--dataset", default="fashion_mnist", choices=sorted(EPOCHS))
    p.add_argument("--epochs", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="")
    args = p.parse_args(argv)
    size = 28 if args.dataset == "digits" else 0
    x, y = load_images(args.dataset, image_size=size)
    xt, yt = load_images(args.dataset, split="test", image_size=size)
    epochs = args.epochs or EPOCHS[args.dataset]
    model = Classifier()
    key = jax.random.PRNGKey(args.seed)
    key, init_key = jax.random.split(key)
    params = model.init(init_key, jnp.zeros((1,) + x.shape[1:]))["params"]
    opt = optax.adam(1e-3)
    opt_state = opt.init(params)

    @jax.jit
    def step(params: ArrayTree, opt_state, xb, yb, key: Array):
        def loss_fn(p):
            logits, _ = model.apply({"params": p}, xb, train=True, rngs={"dropout": key})
            return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    batch = 128
    x_dev, y_dev = jnp.asarray(x), jnp.asarray(y)
    start = time.perf_counter()
    for epoch in range(epochs):
        key, perm_key = jax.random.split(key)
        perm = np.asarray(jax.random.permutation(perm_key, len(x)))
        for i in range(len(x) // batch):
            idx = perm[i * batch : (i + 1) * batch]
            key, k = jax.random.split(key)
            params, opt_state, loss = step(params, opt_state, x_dev[idx], y_dev[idx], k)
        print(
            f"epoch {epoch + 1}/{epochs}: loss {float(loss):.4f}, test accuracy "
            f"{accuracy(params, jnp.asarray(xt), jnp.asarray(yt)):.4f} "
            f"({time.perf_counter() - start:.0f}s)",
            flush=True,
        )
    out = args.out or weights_path(args.dataset)
    info = {
        "dataset": args.dataset,
        "seed": args.seed,
        "epochs": epochs,
        "image_shape": list(x.shape[1:]),
        "train_size": len(x),
        "test_size": len(xt),
        "command": "python -m odegan_jax.tools.train_classifier " + " ".join(argv or sys.argv[1:]),
    }
    save_classifier(out, params, info)
    # the accuracy of the weights as shipped (float16), which is what scores use
    shipped = load_classifier(args.dataset) if not args.out else None
    acc = accuracy(shipped.params if shipped else params, jnp.asarray(xt), jnp.asarray(yt))
    info["test_accuracy"] = round(acc, 4)
    save_classifier(out, params, info)
    print(f"wrote {out}: test accuracy {acc:.4f} (float16 weights)")


if __name__ == "__main__":
    main()
