#!/usr/bin/env bash
# The CUDA check, for a machine with a GPU (the device tool's, or yours), in under 8 minutes:
# the CUDA tests, a bf16 smoke run of every built-in method, palette and diffstain predict
# seconds per 256 px image side by side, and a shortened `--preset paper` diffstain run at
# 512 px (seconds per epoch and per image, peak GPU memory). One JSON lands in
# benchmarks/results/gpu_check_<gpu>.json (and in $OUT when that is set, as on the device tool).
#
#   bash benchmarks/gpu_check.sh            # everything
#   bash benchmarks/gpu_check.sh --skip-tests
#
# Packages the machine lacks are installed from wheels in .whl/ when that folder exists (make it
# here first with benchmarks/gpu_wheels.sh: the device machine reaches no package index).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA GPU: this check needs one')"
if ! "$PY" -c "import vsbench, diffusers, segmentation_models_pytorch, cp_measure" 2>/dev/null; then
    if [ -d .whl ]; then
        "$PY" -m pip install -q --no-index --find-links .whl --no-deps --no-build-isolation .whl/*
        "$PY" -m pip install -q --no-index --no-deps --no-build-isolation -e .
    else
        "$PY" -m pip install -q -e '.[test]'
    fi
fi
timeout 470 "$PY" benchmarks/gpu_check.py "$@"
