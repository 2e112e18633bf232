"""Peak memory of exact mining search over synthetic corpora (random unit vectors, no model):
negbench's ``exact_search`` (``faiss.knn`` in query blocks, the documents not copied) against
the usual ``IndexFlatIP`` + ``add`` (a second copy of the documents inside the index). Each
measurement runs in a fresh process; prints peak RSS, the document matrix's own size and the
ratio, and checks that both return the same neighbours.

    python benchmarks/search_memory.py [--sizes 100000,300000,1000000] [--queries 2000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = """
import json, resource, sys, time
import numpy as np
n, nq, dim, k, how = int(sys.argv[1]), int(sys.argv[2]), 384, 100, sys.argv[3]
rng = np.random.default_rng(0)
docs = np.empty((n, dim), np.float32)
for s in range(0, n, 65536):  # in chunks: no full-size temporaries before the search
    chunk = rng.standard_normal((min(65536, n - s), dim), dtype=np.float32)
    docs[s:s + len(chunk)] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
queries = docs[rng.choice(n, nq, replace=False)] + 0.1 * rng.standard_normal((nq, dim), dtype=np.float32)
t0 = time.perf_counter()
if how == "negbench":
    from negbench.harness.retrieval.dense_search import exact_search
    scores, idx = exact_search(queries, docs, k)
else:
    import faiss
    index = faiss.IndexFlatIP(dim)
    index.add(docs)
    scores, idx = index.search(queries, k)
print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "docs_mb": docs.nbytes / 2**20, "seconds": time.perf_counter() - t0,
                  "top1": idx[:, 0].tolist()}))
"""


def measure(n: int, nq: int, how: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(n), str(nq), how], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100000,300000,1000000")
    ap.add_argument("--queries", type=int, default=2000)
    args = ap.parse_args()
    print("| docs | doc matrix MB | IndexFlatIP peak RSS MB | negbench peak RSS MB | ratio | "
          "negbench s | same top-1 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for n in (int(s) for s in args.sizes.split(",")):
        flat, ours = measure(n, args.queries, "flat"), measure(n, args.queries, "negbench")
        print(f"| {n:,} | {ours['docs_mb']:.0f} | {flat['peak_rss_mb']:.0f} | "
              f"{ours['peak_rss_mb']:.0f} | {ours['peak_rss_mb'] / flat['peak_rss_mb']:.2f} | "
              f"{ours['seconds']:.1f} | {flat['top1'] == ours['top1']} |", flush=True)


if __name__ == "__main__":
    main()
