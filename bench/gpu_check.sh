#!/usr/bin/env bash
# The GPU check, the same every time: the whole default test suite with tensors on the GPU, then
# the CNN benchmark on the GPU (against PyTorch CUDA when torch is installed). Logs go to LOGDIR.
#
#   bench/gpu_check.sh LOGDIR          # needs CuPy and a CUDA GPU; well inside 10 minutes
#
# Each part has a time limit (TESTS_TIMEOUT, BENCH_TIMEOUT seconds: 360 and 150 by default).
# PYTHON picks the interpreter (default: python). GPU_CHECK_DEVICE=cpu runs the same steps on the
# CPU, to try the script on a machine without a GPU.
# Exit status: 0 when every part passed; otherwise the number of parts that failed.
set -uo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 LOGDIR" >&2
    exit 64
fi
mkdir -p "$1" || exit 64
LOGDIR=$(cd "$1" && pwd)
cd "$(dirname "$0")/.." || exit 64
PY=${PYTHON:-python}
DEVICE=${GPU_CHECK_DEVICE:-gpu}
TESTS_TIMEOUT=${TESTS_TIMEOUT:-360}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-150}
if [ "$DEVICE" = gpu ]; then PROFILE=gpu-ci; else PROFILE=ci; fi

{
    date -u
    git rev-parse HEAD 2>/dev/null
    nvidia-smi 2>&1 || echo "nvidia-smi: not available"
    "$PY" -c "import numpy, numba; print('numpy', numpy.__version__, 'numba', numba.__version__)"
    "$PY" -c "import cupy; print('cupy', cupy.__version__, cupy.cuda.runtime.getDeviceCount(), 'device(s)')" 2>&1
    echo "TINYDL_DATA=${TINYDL_DATA:-}"
} > "$LOGDIR/environment.log" 2>&1

failed=0
run_part() {  # name, time limit, command...
    local name=$1 limit=$2
    shift 2
    local start=$SECONDS rc
    timeout -k 10 "$limit" "$@" > "$LOGDIR/$name.log" 2>&1
    rc=$?
    [ "$rc" -eq 124 ] && echo "(stopped after the ${limit} s limit)" >> "$LOGDIR/$name.log"
    printf '%-8s exit %3d  %4d s  %s\n' "$name" "$rc" $((SECONDS - start)) "$*" >> "$LOGDIR/summary.txt"
    [ "$rc" -eq 0 ] || failed=$((failed + 1))
}

: > "$LOGDIR/summary.txt"
run_part pytest "$TESTS_TIMEOUT" "$PY" -m pytest --backend "$DEVICE" --hypothesis-profile="$PROFILE" -q \
    -p no:cacheprovider -o junit_family=xunit2 --junitxml="$LOGDIR/pytest.xml"
run_part bench "$BENCH_TIMEOUT" "$PY" bench/bench_cnn.py --device "$DEVICE" --out "$LOGDIR/bench_cnn"

tail -n 3 "$LOGDIR/pytest.log" >> "$LOGDIR/summary.txt"
cat "$LOGDIR/summary.txt"
exit "$failed"
