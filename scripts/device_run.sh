#!/usr/bin/env bash
# One device-machine session: GPU benchmarks, plus a CPU sweep of main-job settings over
# many seeds on the machine's spare cores (one thread per run). Writes into $OUT.
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
mkdir -p $OUT/sweep
# CPU sweep: config spec | seeds
run_cpu() {  # name seed overrides...
  local name=$1 seed=$2; shift 2
  JAX_PLATFORMS=cpu XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" \
    taskset -c $(( (NEXT_CORE++) % 14 + 2 )) python3 scripts/sweep.py --config configs/mog16_rk4.py --seeds $seed "$@" \
    > $OUT/sweep/$name-$seed.log 2>&1 &
}
NEXT_CORE=0
for seed in 0 1 2 3; do run_cpu base $seed; done
for seed in 0 1 2 3; do run_cpu lam04 $seed --fixed rule.reg_weight=0.4; done
for seed in 0 1 2; do run_cpu h05 $seed --fixed rule.h=0.5; done
for seed in 0 1 2; do run_cpu b1024 $seed --fixed data.batch_size=1024 --fixed steps=20000 "--fixed=rule.schedule_boundaries=(11000,16000)"; done
if [ "${GPU_BENCH:-1}" = 1 ]; then
  nvidia-smi -L
  CUDA_VISIBLE_DEVICES=0 python3 benchmarks/step_time.py --json $OUT/step_time_h100.json 2>&1 | tail -40
  CUDA_VISIBLE_DEVICES=0 python3 benchmarks/odeblock.py --torch-cuda --json $OUT/odeblock_h100.json 2>&1 | tail -40
fi
wait
for f in $OUT/sweep/*.log; do echo "$(basename $f) $(grep '^{' $f | tail -1)"; done | tee $OUT/sweep_results.txt
rm -rf $OUT/sweep
