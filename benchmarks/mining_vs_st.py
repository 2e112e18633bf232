"""negbench's mining engine against ``sentence_transformers.util.mine_hard_negatives``: the same
model (all-MiniLM-L6-v2), corpus texts, train pairs, length 256, batch 64, exact faiss search,
rank window 10-100 and 5 negatives per pair, ``top`` sampling on both sides (deterministic, so
the negatives can be compared pair by pair).

Each measurement runs in its own fresh process, so its peak RSS is its own. ``cold``: empty
caches on both sides (the corpus and the queries are encoded), the two sides run at the same
time (so a change in a shared machine's load hits both alike; each has about half the cores);
``warm``: negbench's embedding cache (``--cache-dir``) against sentence-transformers'
``cache_folder``, both filled by the cold run, ``--warm-repeats`` times per side, one after
the other, the order alternating. Wall time and CPU time (user + system, the less
load-sensitive of the two) are printed per side; every figure to quote is a ratio of the two
sides measured in this one invocation (the machine may be shared).

    python benchmarks/mining_vs_st.py [--nfcorpus | --suites nfcorpus] [--limit N] [--warm-repeats 2]
        [--tmp DIR [--skip-cold]]

``--limit N`` mines over a subset (every judged doc plus the first N others; for development).
``--nfcorpus`` also runs NFCorpus train (110,575 pairs, 3,633 docs).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

DATA = Path(os.environ.get("NEGBENCH_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
PARAMS = {"range_min": 10, "range_max": 100, "num_negatives": 5, "sampling": "top"}
LENGTH, BATCH = 256, 64

CHILD = r"""
import json, resource, sys, time
side, folder, cache, out = sys.argv[1:5]
params, LENGTH, BATCH = json.loads(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
import numpy as np, torch, sentence_transformers  # imports outside the timer on both sides
from negbench.harness.data.beir_folder import load_beir_folder
from negbench.strategies.base import training_pairs
_use = resource.getrusage(resource.RUSAGE_SELF)
cpu0, t0 = _use.ru_utime + _use.ru_stime, time.perf_counter()
if side == "negbench":  # the mine stage: workspace (data, cached encoder) + sampler.mine
    from pathlib import Path
    from negbench.harness.pipeline.workspace import Workspace
    from negbench.strategies.base import MiningContext
    from negbench.strategies.registry import get_sampler
    from negbench.suites.registry import get_suite
    ws = Workspace(get_suite(folder), cache_dir=Path(cache), model="all-MiniLM-L6-v2",
                   progress=False)
    data = ws.data
    ctx = MiningContext(corpus=data.corpus, train=data.train, exclude=data.exclude, seed=13,
                        max_length=LENGTH, dense=lambda: ws.base_encoder,
                        bm25=lambda: ws.bm25, extra={"cache_dir": ws.cache_dir})
    rows = get_sampler("dense").from_dict(params).mine(ctx)
    seconds = time.perf_counter() - t0
    negs = {r.query_id + "\t" + r.positive_id: list(r.negative_ids) for r in rows}
else:
    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives
    from negbench.harness.retrieval.models import load_model
    corpus, train = load_beir_folder(__import__("pathlib").Path(folder), "train")
    pairs = training_pairs(train)
    texts = corpus.texts()
    model = load_model("all-MiniLM-L6-v2", max_seq_length=LENGTH, device="cpu")
    ds = Dataset.from_dict({"query": [train.queries[q] for q, _ in pairs],
                            "positive": [corpus.docs[p].text for _, p in pairs]})
    mined = mine_hard_negatives(ds, model, corpus=texts, range_min=params["range_min"],
                                range_max=params["range_max"],
                                num_negatives=params["num_negatives"],
                                sampling_strategy=params["sampling"], batch_size=BATCH,
                                use_faiss=True, output_format="n-tuple", verbose=False,
                                cache_folder=cache)
    seconds = time.perf_counter() - t0
    first_id = {}
    for d, t in zip(corpus.ids, texts):
        first_id.setdefault(t, d)
    by_query = {}
    for row in mined:
        by_query.setdefault(row["query"], [first_id[row[f"negative_{i + 1}"]]
                                           for i in range(params["num_negatives"])])
    negs = {q + "\t" + p: by_query.get(train.queries[q], []) for q, p in pairs}
use = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": seconds, "cpu_s": use.ru_utime + use.ru_stime - cpu0,
                  "peak_rss_mb": use.ru_maxrss / 1024, "negatives": negs}))
"""


def subset_folder(src: Path, dst: Path, limit: int) -> Path:
    """Every judged doc plus the first ``limit`` others; queries and qrels unchanged."""
    judged = set()
    for split in ("train", "test"):
        for line in (src / "qrels" / f"{split}.tsv").read_text().splitlines()[1:]:
            judged.add(line.split("\t")[1])
    (dst / "qrels").mkdir(parents=True, exist_ok=True)
    kept, others = [], 0
    for line in (src / "corpus.jsonl").read_text().splitlines():
        doc = json.loads(line)["_id"]
        if doc in judged or others < limit:
            kept.append(line)
            others += doc not in judged
    (dst / "corpus.jsonl").write_text("\n".join(kept) + "\n")
    shutil.copy(src / "queries.jsonl", dst / "queries.jsonl")
    for split in ("train", "test"):
        shutil.copy(src / "qrels" / f"{split}.tsv", dst / "qrels" / f"{split}.tsv")
    return dst


def start(side: str, folder: Path, cache: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "NEGBENCH_CACHE": str(cache), "IR_DATASETS_HOME": str(cache / "irds"),
           "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.Popen([sys.executable, "-c", CHILD, side, str(folder), str(cache),
                             str(out), json.dumps(PARAMS), str(LENGTH), str(BATCH)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def result(side: str, proc: subprocess.Popen) -> dict:
    stdout, stderr = proc.communicate()
    if proc.returncode:
        sys.exit(f"{side} child failed:\n{stderr[-3000:]}")
    return json.loads(stdout.strip().splitlines()[-1])


def measure(side: str, folder: Path, cache: Path, out: Path) -> dict:
    return result(side, start(side, folder, cache, out))


def overlap(a: dict, b: dict) -> tuple[float, float]:
    """Mean share of a pair's negatives found on both sides, and share of identical rows."""
    shared = [len(set(a[k]) & set(b[k])) / max(len(a[k]), 1) for k in a]
    same = [set(a[k]) == set(b[k]) for k in a]
    return 100 * statistics.mean(shared), 100 * statistics.mean(same)


def compare(name: str, folder: Path, tmp: Path, warm_repeats: int, skip_cold: bool) -> None:
    caches = {side: tmp / f"{name}-{side}-cache" for side in ("negbench", "st")}
    runs: dict[str, dict[str, list[dict]]] = {"warm": {}} if skip_cold else {"cold": {}, "warm": {}}
    if skip_cold:
        missing = [str(c) for c in caches.values() if not c.is_dir()]
        if missing:
            sys.exit(f"--skip-cold: no caches of an earlier run in --tmp: {', '.join(missing)}")
    else:
        # cold: both sides at once (each its own process), so a change in the machine's load
        # hits both alike; they compete with each other for the same cores
        procs = {side: start(side, folder, caches[side], tmp / f"{name}-{side}-cold")
                 for side in ("negbench", "st")}
        for side, proc in procs.items():
            runs["cold"][side] = [result(side, proc)]
            print(f"  cold {side}: {runs['cold'][side][0]['seconds']:.1f} s", flush=True)
    for r in range(warm_repeats):
        order = ("st", "negbench") if r % 2 == 0 else ("negbench", "st")
        for side in order:
            res = measure(side, folder, caches[side], tmp / f"{name}-{side}-warm{r}")
            runs["warm"].setdefault(side, []).append(res)
            print(f"  warm {side}: {res['seconds']:.1f} s", flush=True)
    (tmp / f"{name}-results.json").write_text(json.dumps(runs))
    first = runs["cold" if "cold" in runs else "warm"]
    shared, same = overlap(first["negbench"][0]["negatives"], first["st"][0]["negatives"])
    n_pairs = len(first["negbench"][0]["negatives"])
    print(f"\n{name}: {n_pairs} pairs; negatives shared with sentence-transformers: "
          f"{shared:.1f} % (identical rows {same:.1f} %)")
    print("| mode | negbench s | ST s | wall ratio (negbench / ST) | negbench CPU s | ST CPU s "
          "| CPU ratio | negbench peak RSS MB | ST peak RSS MB | RSS ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for mode, sides in runs.items():
        nb, st = (statistics.median(r["seconds"] for r in sides[s]) for s in ("negbench", "st"))
        nb_cpu, st_cpu = (statistics.median(r["cpu_s"] for r in sides[s])
                          for s in ("negbench", "st"))
        nb_rss, st_rss = (max(r["peak_rss_mb"] for r in sides[s]) for s in ("negbench", "st"))
        print(f"| {mode} (n={len(sides['negbench'])}) | {nb:.1f} | {st:.1f} | {nb / st:.2f} | "
              f"{nb_cpu:.1f} | {st_cpu:.1f} | {nb_cpu / st_cpu:.2f} | {nb_rss:.0f} | "
              f"{st_rss:.0f} | {nb_rss / st_rss:.2f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nfcorpus", action="store_true", help="also NFCorpus train (bigger)")
    ap.add_argument("--suites", default=None,
                    help="comma-separated, instead of the above: e.g. nfcorpus alone")
    ap.add_argument("--limit", type=int, default=None,
                    help="judged docs plus the first N others (development)")
    ap.add_argument("--warm-repeats", type=int, default=2)
    ap.add_argument("--tmp", default=None, help="work folder (default: a new temporary one)")
    ap.add_argument("--skip-cold", action="store_true",
                    help="reuse both sides' caches left in --tmp by an earlier run: warm only")
    args = ap.parse_args()
    tmp = Path(args.tmp or tempfile.mkdtemp(prefix="mining-vs-st-"))
    print(f"machine: {os.cpu_count()} CPUs, shared with other jobs; ratios are side by side in "
          f"this run; work folder {tmp}")
    names = (args.suites.split(",") if args.suites
             else ["scifact"] + (["nfcorpus"] if args.nfcorpus else []))
    for name in names:
        folder = DATA / f"beir-{name}"
        if args.limit is not None:
            folder = subset_folder(folder, tmp / f"{name}-subset", args.limit)
        n_docs = len((folder / "corpus.jsonl").read_text().splitlines())
        print(f"{name} train, {n_docs:,} docs, ranks {PARAMS['range_min']}-"
              f"{PARAMS['range_max']}, {PARAMS['num_negatives']} negatives, sampling "
              f"{PARAMS['sampling']}, length {LENGTH}, batch {BATCH}", flush=True)
        compare(name, folder, tmp, args.warm_repeats, args.skip_cold)


if __name__ == "__main__":
    main()
