#!/usr/bin/env bash
# One device-machine session (see BUILD_NOTES.md): a CPU sweep of main-job settings over
# seeds, one pinned single-threaded run per core, and optionally (GPU_BENCH=1) the GPU
# benchmarks. Needs the wheels the device lacks in .whl/ (ml_collections, tensorboardX).
# Writes into $OUT.
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --no-build-isolation \
  --upgrade --target /tmp/site .whl/*.whl . || exit 1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
ln -sfn ../configs odegan_jax/configs  # the benchmarks import the tree's package (see pyproject)
mkdir -p $OUT/sweep /tmp/sw/scripts && cp scripts/sweep.py /tmp/sw/scripts/  # not the source tree
CORE=0
# The sweeps below (2026-11-22) varied the main job as it then was; pinned here so they
# still mean the same: MLP 2x25, haiku init, 28k steps, h x1/x1/2/x1/4 from 16k / 22k.
OLD_DEFAULT=(--fixed model.width=25 --fixed model.init=haiku --fixed steps=28000
  "--fixed=rule.schedule_boundaries=(16000,22000)" "--fixed=rule.schedule_scales=(1.0,0.5,0.25)")
run_cpu() {  # name seed overrides... (on top of OLD_DEFAULT unless BASE=current)
  local name=$1 seed=$2; shift 2
  local base=("${OLD_DEFAULT[@]}")
  [ "${BASE:-old}" = current ] && base=()
  JAX_PLATFORMS=cpu XLA_FLAGS="--xla_cpu_multi_thread_eigen=false" \
    taskset -c $CORE python3 /tmp/sw/scripts/sweep.py --config mog16_rk4 --seeds $seed "${base[@]}" "$@" \
    > $OUT/sweep/$name-$seed.log 2>&1 &
  CORE=$(( (CORE + 1) % $(nproc) ))
}
SWEEP=${SWEEP:-1}  # 0: benchmarks only | default: the current default | 1, 2, 3: variants
if [ "$SWEEP" = default ]; then  # the current default (+ $SWEEP_ARGS), seeds 0-15, one per core
  for seed in $(seq 0 15); do BASE=current run_cpu default $seed ${SWEEP_ARGS:-}; done
elif [ "$SWEEP" != 0 ]; then  # variants of the earlier default, seeds 0-3
  for seed in 0 1 2 3; do
    if [ "$SWEEP" = 1 ]; then  # schedules and width (see BUILD_NOTES.md, main job)
      run_cpu base $seed
      run_cpu early $seed "--fixed=rule.schedule_boundaries=(10000,18000)"
      run_cpu four $seed "--fixed=rule.schedule_boundaries=(8000,14000,20000)" "--fixed=rule.schedule_scales=(1.0,0.5,0.25,0.125)"
      run_cpu w64 $seed --fixed model.width=64
    elif [ "$SWEEP" = 3 ]; then  # around 36k steps
      run_cpu s36k $(( seed + 4 )) --fixed steps=36000 "--fixed=rule.schedule_boundaries=(12000,26000)"
      run_cpu s36k-b10-24 $seed --fixed steps=36000 "--fixed=rule.schedule_boundaries=(10000,24000)"
      run_cpu s36k-b14-28 $seed --fixed steps=36000 "--fixed=rule.schedule_boundaries=(14000,28000)"
      run_cpu s44k $seed --fixed steps=44000 "--fixed=rule.schedule_boundaries=(14000,32000)"
    else  # λ, longer runs, larger batches
      run_cpu early-lam04 $seed "--fixed=rule.schedule_boundaries=(10000,18000)" --fixed rule.reg_weight=0.4
      run_cpu s36k $seed --fixed steps=36000 "--fixed=rule.schedule_boundaries=(12000,26000)"
      run_cpu b1024 $seed --fixed data.batch_size=1024 --fixed steps=20000 "--fixed=rule.schedule_boundaries=(8000,14000)"
      run_cpu s36k-lam04 $seed --fixed steps=36000 "--fixed=rule.schedule_boundaries=(12000,26000)" --fixed rule.reg_weight=0.4
    fi
  done
fi
if [ "${GPU_BENCH:-0}" = 1 ]; then
  nvidia-smi -L
  CUDA_VISIBLE_DEVICES=0 python3 benchmarks/step_time.py --json $OUT/step_time_h100.json 2>&1 | tail -40
  CUDA_VISIBLE_DEVICES=0 python3 benchmarks/odeblock.py --torch-cuda --json $OUT/odeblock_h100.json 2>&1 | tail -40
fi
wait
shopt -s nullglob  # SWEEP=0: no logs
for f in $OUT/sweep/*.log; do echo "$(basename $f .log) $(grep '^{' $f | tail -1) $(grep -i error $f | tail -1)"; done | tee $OUT/sweep_results.txt
