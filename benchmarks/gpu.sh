#!/usr/bin/env bash
# GPU measurements in one go, under 10 minutes on one recent NVIDIA GPU:
#
#     bash benchmarks/gpu.sh [OUT_DIR]        (default: runs/benchmarks/gpu)
#     K=4 PYTHON=/path/to/python bash benchmarks/gpu.sh
#
# 1. Checks that TensorFlow sees a GPU and the project's packages import; if not, creates
#    .venv-gpu and installs the project with the `gpu` extra there (needs network).
# 2. throughput.py on the whole 50k training set, 3 epochs, one repeat (the 3-repeat default
#    is for the noisy 2-vCPU VM and would not fit the time limit): the four models (plain fit vs
#    study trial, GFLOP/s against the measured float32/float16/bfloat16 matmul peaks) and
#    the medium CNN's variants: data path, batch size, XLA on/off, steps_per_execution and
#    mixed precision (float16/bfloat16 compute, float32 outputs) with and without XLA.
# 3. throughput.py --concurrent 1,K: the scaling grid (15 cells x 1 seed, 10k images,
#    3 epochs) run by 1 and by K `python -m search.study run` workers on one SQLite study,
#    each with TF_FORCE_GPU_ALLOW_GROWTH=true so no process grabs the whole card;
#    trials/hour for each, while nvidia-smi samples memory and utilization every 2 s.
#
# Needs Fashion-MNIST (../shared/DATA.md): SEARCH_DATA_DIR, /usr/share/datasets/fashion-mnist,
# ~/.keras/datasets/fashion-mnist, or network for the Keras download.
# Writes OUT_DIR/{throughput,concurrent}.{json,log}, OUT_DIR/nvidia-smi.csv, OUT_DIR/env.txt.
# Each step has its own time limit (5.5 + 3.3 minutes); a step that fails or runs out is
# reported and the next one still runs.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/benchmarks/gpu}
K=${K:-4}
export TF_FORCE_GPU_ALLOW_GROWTH=true TF_CPP_MIN_LOG_LEVEL=2 PYTHONUNBUFFERED=1
mkdir -p "$OUT"
start=$(date +%s)

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
    echo "gpu.sh: no NVIDIA GPU here (nvidia-smi missing or failing)" >&2
    exit 1
fi

PY=${PYTHON:-}
if [[ -z $PY ]]; then
    for candidate in .venv-gpu/bin/python .venv/bin/python; do
        [[ -x $candidate ]] && { PY=$candidate; break; }
    done
    PY=${PY:-python3}
fi

ready() {  # 0: packages import and TensorFlow sees a GPU
    "$PY" - <<'PYEOF'
import sys
try:
    import keras, optuna, optuna_integration, scipy, sqlalchemy  # noqa: F401
    import tensorflow as tf
except ImportError as exc:
    print(f"gpu.sh: {exc}")
    sys.exit(1)
gpus = tf.config.list_physical_devices("GPU")
print(f"gpu.sh: TensorFlow {tf.__version__} sees {len(gpus)} GPU(s)")
sys.exit(0 if gpus else 2)
PYEOF
}

if ! ready; then
    echo "gpu.sh: installing the project with the gpu extra into .venv-gpu (needs network)"
    python3 -m venv .venv-gpu && PY=.venv-gpu/bin/python || exit 1
    "$PY" -m pip install -q --upgrade pip || exit 1
    "$PY" -m pip install -q -e ".[gpu]" || exit 1
    # pyproject also pins tensorflow-cpu on x86_64; it shares the `tensorflow` package folder
    # with the GPU build, so remove it and reinstall the GPU build's files over the gap.
    "$PY" -m pip uninstall -y -q tensorflow-cpu
    "$PY" -m pip install -q --force-reinstall --no-deps "tensorflow>=2.21,<2.22" || exit 1
    ready || { echo "gpu.sh: TensorFlow still sees no GPU" >&2; exit 1; }
fi

{
    date
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    "$PY" -c "import tensorflow as tf; print('tensorflow', tf.__version__, tf.sysconfig.get_build_info().get('cuda_version'))"
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

step() {  # step NAME SECONDS COMMAND...: run with a limit, log, never stop the script
    local name=$1 limit=$2
    shift 2
    echo "== $name (limit ${limit} s)"
    timeout --signal=INT --kill-after=20 "$limit" "$@" 2>&1 | tee "$OUT/$name.log"
    local rc=${PIPESTATUS[0]}
    [[ $rc -eq 0 ]] || echo "gpu.sh: step $name ended with exit code $rc (124: time limit)"
}

step throughput 330 "$PY" benchmarks/throughput.py --samples 0 --epochs 3 --batch-size 128 --repeats 1 \
    --variants data,batch,jit,spe,mixed --json "$OUT/throughput.json"

nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu --format=csv -l 2 \
    >"$OUT/nvidia-smi.csv" 2>&1 &
smi=$!
step concurrent 200 "$PY" benchmarks/throughput.py --models none --samples 10000 --epochs 3 \
    --batch-size 128 --matmul-seconds 1 --concurrent "1,$K" --json "$OUT/concurrent.json"
kill "$smi" 2>/dev/null
wait "$smi" 2>/dev/null

echo "gpu.sh: done in $(($(date +%s) - start)) s; results in $OUT"
