#!/usr/bin/env bash
# The image studies at --gpu size on a GPU machine without network access. Carry into the
# working tree: .whl/ (wheels of the dependencies the machine lacks), .data/fashion_mnist/ (the
# IDX files: cp /usr/share/datasets/fashion-mnist/* .data/fashion_mnist/) and gpu_results/ (the
# studies so far). Each call runs the studies for LIMIT seconds (default 540) and stops; the
# next call resumes them (finished runs are skipped, a killed run resumes from its
# checkpoints). The tables land in $OUT.
#   STUDIES="odegan_vs_adam_images depth_images" OUT=out bash experiments/gpu_study.sh
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --no-build-isolation \
  --upgrade --target /tmp/site .whl/*.whl . || exit 1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1 CI=true
mkdir -p ~/.odegan_jax/data/fashion_mnist gpu_results
cp -n .data/fashion_mnist/* ~/.odegan_jax/data/fashion_mnist/
nvidia-smi -L
STUDIES=${STUDIES:-"optimizers_latent odegan_vs_adam_images ngan_vs_dcgan_gam depth_images"}
END=$(( $(date +%s) + ${LIMIT:-540} ))
for name in $STUDIES; do
  left=$(( END - $(date +%s) ))
  [ $left -le 10 ] && break
  timeout $left python3 -m odegan_jax.cli reproduce $name --gpu \
    --workdir gpu_results 2>&1 | tail -20
done
cp -r gpu_results/README.md gpu_results/*/table.md gpu_results/*/results.json \
  gpu_results/*/*.png --parents $OUT/ 2>/dev/null
ls -R $OUT | head -50
