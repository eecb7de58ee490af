#!/usr/bin/env bash
# Issue 14's GPU measurements on a lent GPU machine (the `device` tool; no network there).
# Carry .whl (the wheels the device lacks, see device_run.sh) and .data/fashion_mnist (cp
# /usr/share/datasets/fashion-mnist/* .data/fashion_mnist/). PART picks what runs (a device
# command stops at 10 minutes):
#   PART=1: the main job twice in fresh processes (`time CI=true odegan train`), the
#           population benchmark (N = 1, 8, 64)
#   PART=2: DCGAN-28 and NGAN steps next to PyTorch on the same GPU, then the GPU busy share
#   PART=3: the main job's seeds 0-63 as one population (`--population seed=0:64`)
#   PART=4: the GPU busy share over 3,000 steps; the cost of deterministic GPU programs
#   PART=5: where the main job's time goes (main_job_phases.py) with XLA's command buffers
#           (CUDA graphs) extended to while loops, and a persistent compilation cache; the
#           GPU's utilisation (nvidia-smi, every 100 ms) in DCGAN training with and without
#           them; a profiler trace of the DCGAN loop (gpu_busy.py) with them
#   PART=6: (prepared 2026-12-04, not run yet) the main job's launch-bound steps (0.56 ms on
#           the H200): XLA's own choice of reduction order (not bit-reproducible), while
#           loops unrolled by XLA (whole, and as its heuristic chooses; the unrolled body is
#           one CUDA graph), and 200 steps a call instead of 100
# Results land in $OUT (JSON and logs). No `| tail` on the long commands: a command killed at
# its limit would print nothing. Measured 2026-11-24: PART=1 ~4 min, PART=2 (ROUNDS=1) over
# 9 min (each gpu_busy child 1-2 min: the trace's conversion), PART=4 over 6.5 min.
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --no-build-isolation \
  --upgrade --target /tmp/site .whl/*.whl . || exit 1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1 CI=true
# run from the tree, as the benchmarks import it: the package maps odegan_jax.configs to configs/
ln -sfn ../configs odegan_jax/configs
mkdir -p ~/.odegan_jax/data/fashion_mnist
cp -n .data/fashion_mnist/* ~/.odegan_jax/data/fashion_mnist/ 2>/dev/null
nvidia-smi -L
python3 -c "import jax; print(jax.__version__, jax.devices())"
case ${PART:-1} in
1)
  for i in 1 2; do  # fresh processes, cold and then warm disk caches (no XLA cache is kept)
    /usr/bin/time -f "main job run $i: %e s wall" python3 -m odegan_jax.cli train \
      --workdir /tmp/main$i 2>&1 | tail -3
  done
  python3 benchmarks/population.py --config mog16_main --sizes 1,8,64 \
    --json $OUT/population_h200.json
  ;;
2)
  python3 benchmarks/dcgan_vs_torch.py --torch-python python3 --device cuda \
    --models dcgan28,ngan --variants nhwc,fused --rounds ${ROUNDS:-2} --reps 20 \
    --json $OUT/images_vs_torch_h200.json
  python3 benchmarks/gpu_busy.py --steps 1000 --per-call ${PER_CALL:-0,1} \
    --json $OUT/gpu_busy_h200.json
  ;;
4)  # the GPU busy share over a longer run; what deterministic GPU programs cost
  python3 benchmarks/gpu_busy.py --configs dcgan_fashion_mnist --steps 3000 --per-call 0 \
    --json $OUT/gpu_busy_h200.json
  python3 benchmarks/loop_host_time.py --config dcgan_fashion_mnist --steps 3000 \
    --json $OUT/loop_host_time_h200.json
  for det in 1 0 1 0; do  # the package's default (1) against XLA's own choice (0)
    ODEGAN_GPU_DETERMINISTIC=$det /usr/bin/time -f "main job, deterministic=$det: %e s wall" \
      python3 -m odegan_jax.cli train --workdir /tmp/det$det-$RANDOM 2>&1 | tail -2
  done
  for det in 1 0; do
    ODEGAN_GPU_DETERMINISTIC=$det python3 benchmarks/dcgan_vs_torch.py --torch-python python3 \
      --device cuda --models dcgan28,ngan --variants fused --rounds 1 --reps 20 \
      --json $OUT/images_deterministic_$det.json
  done
  ;;
5)
  CMDBUF="--xla_gpu_enable_command_buffer=+WHILE,+CONDITIONAL"
  python3 benchmarks/main_job_phases.py --variant "cmdbuf_while=$CMDBUF" \
    --json $OUT/main_job_phases_h200.json
  export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0 JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES=0
  JAX_COMPILATION_CACHE_DIR=/tmp/xla_cache python3 benchmarks/main_job_phases.py --runs 2 \
    --json $OUT/main_job_phases_cache_h200.json
  unset JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES
  for v in default cmdbuf_while; do  # the loop's steps/s and nvidia-smi's utilisation
    flags=""; [ $v = cmdbuf_while ] && flags=$CMDBUF
    nvidia-smi --query-gpu=timestamp,utilization.gpu --format=csv,noheader -lms 100 \
      > $OUT/util_dcgan_$v.csv 2>&1 &
    smi=$!
    XLA_FLAGS="$flags" /usr/bin/time -f "dcgan $v: %e s wall" python3 -m odegan_jax.cli train \
      --config dcgan_fashion_mnist --workdir /tmp/dc_$v --config.steps=3000 \
      --config.loop.checkpoint_every=0 --config.loop.plot=false 2>&1 | grep -E "done in|wall|rror"
    kill $smi
  done
  XLA_FLAGS="$CMDBUF" python3 benchmarks/gpu_busy.py --configs dcgan_fashion_mnist \
    --steps 1000 --per-call 0 --json $OUT/gpu_busy_cmdbuf_h200.json
  ;;
6)
  UNROLL=--xla_gpu_enable_while_loop_unrolling=WHILE_LOOP_UNROLLING
  python3 benchmarks/main_job_phases.py --variant nondet=--xla_gpu_deterministic_ops=false \
    --variant full_unroll=${UNROLL}_FULL_UNROLL --variant auto_unroll=${UNROLL}_AUTO_UNROLL \
    --json $OUT/main_job_phases_unroll_h200.json
  python3 benchmarks/main_job_phases.py --set loop.steps_per_call=200 \
    --json $OUT/main_job_phases_200_h200.json
  ;;
esac
