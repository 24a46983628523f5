#!/usr/bin/env bash
# Build the one-folder app from a clean venv and smoke-test it (docs/PACKAGING.md).
#   packaging/build_app.sh [OUT_DIR]          CUDA-enabled torch (as pinned)
#   REELSCOPE_CPU_ONLY=1 packaging/build_app.sh  torch's CPU wheel: a much smaller app
# The log is kept in OUT_DIR/build.log; the smoke test's screenshot in OUT_DIR/smoke.png.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(realpath -m "${1:-build/app}")"
mkdir -p "$out"
log="$out/build.log"
start=$(date +%s)
{
  rm -rf "$out/venv" && python3.11 -m venv "$out/venv"
  if [ -n "${REELSCOPE_CPU_ONLY:-}" ]; then
    "$out/venv/bin/pip" install --index-url https://download.pytorch.org/whl/cpu \
      torch==2.11.0 torchvision==0.26.0 torchaudio==2.11.0
  fi
  HNSWLIB_NO_NATIVE=1 "$out/venv/bin/pip" install . pyinstaller
  "$out/venv/bin/pyinstaller" --noconfirm --distpath "$out/dist" --workpath "$out/work" packaging/reelscope.spec
  app="$out/dist/Reelscope/Reelscope"
  # Smoke test: a tiny demo library, opened offscreen, one screenshot, exit 0.
  QT_QPA_PLATFORM=offscreen "$app" demo --dir "$out/smoke-demo" --videos 12 --no-train --no-gui --quiet
  QT_QPA_PLATFORM=offscreen "$app" gui --library "$out/smoke-demo/library" --view library --screenshot "$out/smoke.png"
  test -s "$out/smoke.png"
} 2>&1 | tee "$log"
end=$(date +%s)
echo "built in $((end - start)) s; app size: $(du -sh "$out/dist/Reelscope" | cut -f1)" | tee -a "$log"
