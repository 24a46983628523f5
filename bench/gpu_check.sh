#!/usr/bin/env bash
# The GPU half of the benchmarks in one command, for a CUDA machine with PyTorch but no network:
# the CUDA-only tests, `bench/train_throughput.py --device cuda` (part (a) pipeline ratio on
# `base`, part (b) tiny/small/base in bf16 and fp32), then the training tests with the device
# on `auto` (so on the GPU) for what is left of DEADLINE seconds (default 390).
#
#   bash bench/gpu_check.sh [SRC] 2>&1 | tee "$OUT/log.txt"
#
# SRC: the source tree to measure (default: the repository root this runs in; e.g. a
#      `git archive HEAD` unpacked into an ignored folder, to measure a commit exactly).
# OUT: where bench.json and the logs go (default bench/out, which git ignores).
# WHL: a folder of wheels to install first with --target (default .whl; skipped if absent):
#      sqlite-utils and its pure-Python needs (sqlite-fts4, click-default-group, click) on a
#      machine that has torch, numpy and pytest but not those.
# STEPS: timed steps per round and per preset row (default 20); VIDEOS: synthetic library size
# (default 256); DEVICE: cuda (default; cpu only for a dry run of this script).
# Reelscope itself is laid out under $SITE/reelscope the way pyproject's package-dir maps it
# (no build step, so it works with any setuptools and any Python).
set -u -o pipefail
SRC=$(cd "${1:-.}" && pwd)
OUT=${OUT:-bench/out}
WHL=${WHL:-.whl}
SITE=${SITE:-/tmp/reelscope-site}
STEPS=${STEPS:-20}
VIDEOS=${VIDEOS:-256}
DEVICE=${DEVICE:-cuda}
PY=${PY:-python3}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

echo "== $(date -u +%FT%TZ) source $SRC ($(cat "$SRC/COMMIT" 2>/dev/null || git -C "$SRC" rev-parse HEAD 2>/dev/null || echo '?'))"
if compgen -G "$WHL/*.whl" >/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" "$WHL"/*.whl || exit 1
fi
rm -rf "$SITE/reelscope" && mkdir -p "$SITE/reelscope" || exit 1
cp -r "$SRC/packaging/reelscope/." "$SITE/reelscope/" || exit 1
for sub in core training desktop resources; do cp -r "$SRC/$sub" "$SITE/reelscope/$sub" || exit 1; done
export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

nvidia-smi || true
"$PY" - <<'EOF' || exit 1
import time, torch, reelscope.training, sqlite_utils
print("python", __import__("sys").version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda,
      "cudnn", torch.backends.cudnn.version())
ok = torch.cuda.is_available()
print("cuda available:", ok)
if ok:
    p = torch.cuda.get_device_properties(0)
    print("device:", torch.cuda.get_device_name(0), f"cc {p.major}.{p.minor}, {p.multi_processor_count} SMs,",
          f"{p.total_memory / 2**30:.1f} GiB")
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ a
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(10):
        a @ a
    torch.cuda.synchronize()
    print(f"bf16 8192^3 matmul: {10 * 2 * 8192**3 / (time.perf_counter() - t) / 1e12:.0f} TFLOP/s")
EOF

status=0
cd "$SRC" || exit 1
echo "== CUDA-only tests"
timeout -k 10 -s INT 60 "$PY" -m pytest -v -rs -o addopts= -p no:cacheprovider -k "gpu or cuda" \
    tests/test_training_augment.py tests/test_training_model.py || status=1

echo "== bench/train_throughput.py --device $DEVICE --steps $STEPS --warmup 3 --videos $VIDEOS"
timeout -k 10 "${BENCH_SECONDS:-270}" "$PY" bench/train_throughput.py --device "$DEVICE" --steps "$STEPS" --warmup 3 \
    --videos "$VIDEOS" --json > "$OUT/bench.json" || status=1
cat "$OUT/bench.json"
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv 2>/dev/null

# Whatever is left of DEADLINE seconds (from this script's start) goes to the training tests
# (less the precision test, run above: it times bf16 on the CPU, which aborted on one dev box).
left=$(( ${DEADLINE:-390} - SECONDS )); (( left < 20 )) && left=20
echo "== training tests with device auto (the GPU), ${left} s at most"
timeout -k 10 -s INT "$left" "$PY" -m pytest -v -rs -o addopts= -p no:cacheprovider --durations=5 \
    -k "not precision_auto" \
    tests/test_training_model.py tests/test_training_losses.py tests/test_training_augment.py \
    tests/test_training_core.py tests/test_training_loop.py || status=1
echo "== done $(date -u +%FT%TZ) after ${SECONDS} s, status $status"
exit $status
