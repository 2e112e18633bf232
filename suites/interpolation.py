"""Interpolation vs extrapolation: metrics on test queries near to / far from training queries.

Each test query's nearness is its nearest-neighbour cosine similarity to the training queries
under the (base) encoder. Queries above the threshold (default: the median over the test
queries, or a suite's ``params.interpolation``: ``{quantile: q}`` or ``{threshold: t}``) form
the interpolation part, the others the extrapolation part.
"""

from __future__ import annotations

import numpy as np

from negbench.harness.errors import NegbenchError


def nearest_train_similarity(train_queries: dict[str, str], test_queries: dict[str, str],
                             encoder, max_length: int = 256) -> dict[str, float]:
    """Max cosine similarity of each test query to any training query (exact, faiss)."""
    from negbench.harness.retrieval.dense_search import exact_search

    if not train_queries or not test_queries:
        raise NegbenchError("interpolation split needs training and test queries")
    tr_ids, te_ids = sorted(train_queries), sorted(test_queries)
    tr = encoder.encode([train_queries[q] for q in tr_ids], "query", max_length)
    te = encoder.encode([test_queries[q] for q in te_ids], "query", max_length)
    scores, _ = exact_search(te, tr, 1)
    return {q: float(scores[i, 0]) for i, q in enumerate(te_ids)}


def interpolation_split(train_queries: dict[str, str], test_queries: dict[str, str], encoder,
                        per_query: dict[str, dict[str, float]], max_length: int = 256,
                        threshold: float | None = None, quantile: float = 0.5) -> dict:
    """``{"interpolation": {...}, "extrapolation": {...}}`` with, per part, the number of
    queries, the similarity range and the mean of every measure in ``per_query``
    (``{measure: {qid: score}}``, e.g. a record's ``per_query``)."""
    sims = nearest_train_similarity(train_queries, test_queries, encoder, max_length)
    scored = sorted(set.intersection(*(set(v) for v in per_query.values())) & set(sims))
    if not scored:
        raise NegbenchError("no test query has both a similarity and per-query scores")
    if threshold is None:
        if not 0 < quantile < 1:
            raise NegbenchError(f"quantile must be in (0, 1), got {quantile}")
        threshold = float(np.quantile([sims[q] for q in scored], quantile))
    parts = {"interpolation": [q for q in scored if sims[q] > threshold],
             "extrapolation": [q for q in scored if sims[q] <= threshold]}
    out = {}
    for name, qids in parts.items():
        out[name] = {"num_queries": len(qids), "threshold": threshold,
                     "similarity_min": min((sims[q] for q in qids), default=float("nan")),
                     "similarity_max": max((sims[q] for q in qids), default=float("nan")),
                     "metrics": {m: float(np.mean([v[q] for q in qids])) if qids else
                                 float("nan") for m, v in per_query.items()}}
    return out


def suite_settings(suite) -> dict:
    """``threshold``/``quantile`` keyword arguments from ``suite.params['interpolation']``."""
    cfg = dict(suite.params.get("interpolation", {}))
    unknown = set(cfg) - {"threshold", "quantile"}
    if unknown:
        raise NegbenchError(f"suite {suite.name}: unknown interpolation key(s) {sorted(unknown)}")
    return cfg
