#!/usr/bin/env bash
# Build the tiny Llama test model and export it to ONNX, in one folder:
#
#   scripts/make-tiny-model.sh OUT_DIR
#
# OUT_DIR then holds the Hugging Face layout (config.json, generation_config.json,
# tokenizer.json, tokenizer_config.json, pytorch_model.bin) for the trainer and
# onnx/model.onnx for the `onnx` policy (transformers.js layout).
#
# Idempotent: when OUT_DIR already holds a build made from the same sources
# (stamp file .ssr-tiny-model.stamp), it does nothing. Concurrent callers are
# serialised with a lock file next to OUT_DIR. Takes ~10-20 s on 2 CPU cores.
#
# Env: SSR_PYTHON (default /usr/bin/python3: needs PyTorch and onnx),
#      SSR_TINY_SEED (default 0), SSR_TINY_FORCE=1 to rebuild anyway.
set -euo pipefail

if [[ $# -ne 1 || -z "${1:-}" ]]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$1"
mkdir -p "$(dirname "$OUT")"
OUT="$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"
PY="${SSR_PYTHON:-/usr/bin/python3}"
SEED="${SSR_TINY_SEED:-0}"

RT="$ROOT/runtime/ssr_runtime"
STAMP_SRC="$(cat "$RT/tiny_model.py" "$RT/llama.py" "$RT/bpe_tokenizer.py" "$RT/tiny_vocab.py" "$RT/hf_files.py" "$RT/export_onnx.py" "$ROOT/scripts/make-tiny-model.sh"; echo "seed=$SEED")"
STAMP="$(printf '%s' "$STAMP_SRC" | sha256sum | cut -d' ' -f1)"

exec 9>"$OUT.lock"
flock 9

if [[ "${SSR_TINY_FORCE:-0}" != "1" && -f "$OUT/.ssr-tiny-model.stamp" && -f "$OUT/onnx/model.onnx" \
      && "$(cat "$OUT/.ssr-tiny-model.stamp")" == "$STAMP" ]]; then
  echo "$OUT (up to date)"
  exit 0
fi

if ! "$PY" -c 'import torch' >/dev/null 2>&1; then
  echo "make-tiny-model: $PY cannot import torch; install PyTorch (e.g. apt install python3-torch, or pip install torch) or set SSR_PYTHON" >&2
  exit 3
fi

TMP="$(mktemp -d "$OUT.tmp.XXXXXX")"
chmod 755 "$TMP"
trap 'rm -rf "$TMP"' EXIT
(
  cd "$ROOT/runtime"
  # One interpreter for both steps (importing torch twice costs seconds).
  "$PY" -c 'import sys
from ssr_runtime.tiny_model import build_tiny
from ssr_runtime.export_onnx import export
build_tiny(sys.argv[1], seed=int(sys.argv[2]))
export(sys.argv[1], sys.argv[1])' "$TMP" "$SEED"
)
printf '%s\n' "$STAMP" >"$TMP/.ssr-tiny-model.stamp"
rm -rf "$OUT"
mv "$TMP" "$OUT"
trap - EXIT
echo "$OUT"
