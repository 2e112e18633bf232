"""Is AR2's ranker a better judge than the retriever it teaches?

AR2's retriever minimises KL(p_ranker || p_retriever) over each query's positive + its top-k,
so the ranker must rank those lists better than the retriever does. For each finished ``ar2``
record of a folder: the ranker's held-out accuracy per round (the positive first among the
positive + the retriever's top ``range_max``, on the held-out training queries; from
``training.ar2_rounds``) beside the base retriever's accuracy on the same held-out queries and
the same kind of list (its own top ``range_max`` non-positives, other positives excluded), and
the run's nDCG@10. Encodes with the harness's cached base encoder.

Usage (about 1 min with the corpus embeddings cached; after ar2 runs)::

    python benchmarks/ar2_ranker_vs_retriever.py results/runs/scifact-recipe
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from negbench.harness.pipeline.workspace import Workspace
from negbench.strategies.ar2 import Ar2Params, heldout_queries
from negbench.suites.registry import get_suite


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="a run folder with ar2 records")
    ap.add_argument("--label", default="ar2", help="the records' sampler label")
    args = ap.parse_args()

    records = sorted((args.folder / "records").glob(f"{args.label}-seed*.json"),
                     key=lambda p: int(p.stem.rsplit("seed", 1)[1]))
    if not records:
        raise SystemExit(f"{args.folder}: no {args.label}-seed*.json records")
    first = json.loads(records[0].read_text())
    ws = Workspace(get_suite(first["suite"]), progress=False)
    train, corpus = ws.data.train, ws.data.corpus
    positives = train.positives()
    qids = sorted(positives)
    qv = ws.base_encoder.encode([train.queries[q] for q in qids], "query", 64)
    dv = ws.base_encoder.encode(corpus.texts(), "doc", 256)
    qv = qv / np.linalg.norm(qv, axis=1, keepdims=True)
    dv = dv / np.linalg.norm(dv, axis=1, keepdims=True)
    col = {d: i for i, d in enumerate(corpus.ids)}
    first_of: dict[str, list[bool]] = {}  # per query: each positive above every non-positive
    for i, q in enumerate(qids):
        s = dv @ qv[i]
        pos = [col[d] for d in positives[q]]
        best_other = np.max(np.delete(s, pos))
        first_of[q] = [bool(s[p] > best_other) for p in pos]

    print(f"{args.folder}: base retriever vs ar2's ranker, positive first among positive + "
          f"its top-k on each run's held-out training queries")
    for path in records:
        rec = json.loads(path.read_text())
        seed, params = rec["seed"], Ar2Params(**rec["sampler"]["params"])
        held = heldout_queries(qids, seed, params.heldout)
        retriever = np.mean([v for q in held for v in first_of[q]])
        ranker = [r["ranker_heldout_accuracy"] for r in rec["training"]["ar2_rounds"]]
        ndcg = rec["metrics"]["nDCG@10"]
        print(f"  seed {seed}: retriever {retriever:.3f}; ranker by round "
              f"{', '.join(f'{a:.3f}' for a in ranker)}; nDCG@10 {ndcg:.4f}")


if __name__ == "__main__":
    main()
