#!/usr/bin/env bash
# GPU check of the trainer (never part of the required tests): a randomly initialised ~0.5B
# Qwen2-architecture model built from a transformers config (nothing downloaded), a tokenizer trained
# locally, bf16, LoRA via peft and full fine-tuning, a few ssr_runtime.train steps on a synthetic run,
# and tokens/s + peak GPU memory against a plain PyTorch forward/backward of the same model.
#
#   runtime/gpu_check.sh [WORK_DIR] [extra ssr_runtime.gpu_check flags, e.g. --steps 4 --seq-len 2048]
#
# Needs: python3 with a CUDA build of torch, transformers, peft and tokenizers; one GPU (>= 16 GB).
# Prints the JSON report on stdout (also written to WORK_DIR/report.json); exits 3 when a dependency
# is missing (the report names it). Time limit: 8 minutes (SSR_GPU_CHECK_TIMEOUT seconds to change).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="${1:-${TMPDIR:-/tmp}/ssr-gpu-check}"
shift || true
PY="${SSR_PYTHON:-python3}"
mkdir -p "$WORK"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >&2 || echo "nvidia-smi not available" >&2
set +e
PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}" timeout "${SSR_GPU_CHECK_TIMEOUT:-480}" \
  "$PY" -m ssr_runtime.gpu_check --work "$WORK" "$@" | tee "$WORK/report.json"
rc=${PIPESTATUS[0]}
set -e
if [[ $rc -eq 124 ]]; then echo "gpu_check: stopped after ${SSR_GPU_CHECK_TIMEOUT:-480} s" >&2; fi
exit "$rc"
