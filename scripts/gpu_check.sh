#!/usr/bin/env bash
# GPU check on a CUDA machine, from the repository root, in a few minutes on one GPU
# (the Python part is benchmarks/gpu_check.py; its --help says exactly what is checked):
#   (a) a few training steps of configs/aligner/tiny.yaml in bf16 and in fp16 mixed precision, on a
#       64-utterance demo corpus built with its mels in outputs/gpu_check/corpus;
#   (b) duration extraction on that corpus with --device cuda (the CLI, then the split by stage), timed;
#   (c) MAS on the GPU against the Cython MAS on random padded batches: paths must be equal;
#   (d) throughput figures printed and written to $OUT/gpu_check.json when $OUT is set (a GPU
#       machine's output folder, which also gets the logs), else to outputs/gpu_check/gpu_check.json;
#   (e) Matcha itself: in .venv-matcha (upstream matcha-tts 0.0.7.2 beside this project, as make
#       matcha-check builds it), scripts/matcha_check.py's checks, then MatchaTTS (upstream's configs)
#       trained MATCHA_STEPS (default 3000) steps with this project's durations and again with Matcha's
#       own MAS: the losses of both and the share of frames each alignment gives to blanks, printed and
#       written to $OUT/matcha_compare.json.
# Creates .venv with `make setup` and .venv-matcha when they are missing (that needs the package index).
#
# Usage: scripts/gpu_check.sh [flags of benchmarks/gpu_check.py, e.g. --steps 50 --precisions bf16]
#        scripts/gpu_check.sh --dry-run    (e) only, on the CPU, 3 steps each: checks the plumbing
# Exit status: 0 every check passed, 1 a check failed, 2 no CUDA device.
set -euo pipefail
cd "$(dirname "$0")/.."

out="${OUT:-outputs/gpu_check}"
mkdir -p "$out"

matcha_half() {  # $1: device, $2: steps
    make .venv-matcha/.installed
    .venv-matcha/bin/pip install -q -c constraints.txt .
    .venv-matcha/bin/python scripts/matcha_check.py --work outputs/gpu_check/matcha --device "$1" \
        --compare-mas "$2" --json "$out/matcha_compare.json"
}

if [[ "${1:-}" == "--dry-run" ]]; then
    matcha_half cpu 3
    exit $?
fi

if [[ ! -x .venv/bin/python ]]; then
    echo "gpu_check: no .venv here, creating it with make setup" >&2
    make setup
fi
if ! .venv/bin/python -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then
    echo "gpu_check: torch.cuda.is_available() is False on this machine: no GPU to check, nothing was run" >&2
    exit 2
fi
if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
fi

status=0
.venv/bin/python benchmarks/gpu_check.py --device cuda --work outputs/gpu_check --json "$out/gpu_check.json" "$@" \
    || status=$?
if [[ "$out" != outputs/gpu_check ]]; then
    cp outputs/gpu_check/*.log "$out/" 2>/dev/null || true
fi
matcha_half cuda "${MATCHA_STEPS:-3000}" || status=1
exit "$status"
