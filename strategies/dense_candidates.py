"""Base-encoder candidates shared by the dense-ranking samplers (dense, semi-hard, star, simans,
margin): rankings of the train queries plus the score of each (query, positive) pair."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from negbench.harness.dense_search import Hits, search_run
from negbench.strategies.base import MiningContext, training_pairs
from negbench.strategies.engine import ranking_depth


@dataclass
class DenseCandidates:
    pairs: list[tuple[str, str]]
    rankings: dict[str, Hits]
    positive_scores: dict[tuple[str, str], float]


def dense_candidates(ctx: MiningContext, range_max: int) -> DenseCandidates:
    """Rank the corpus for every train query with the (cached) base encoder, deep enough that
    ``range_max`` non-positive candidates remain after excluding the judged positives."""
    pairs = training_pairs(ctx.train)
    qids = sorted({q for q, _ in pairs})
    depth = ranking_depth(range_max, ctx.exclude)
    enc = ctx.dense()
    doc_emb = enc.encode(ctx.corpus.texts(), "doc", ctx.max_length)
    q_emb = enc.encode([ctx.train.queries[q] for q in qids], "query", ctx.max_length)
    rankings = search_run(qids, q_emb, ctx.corpus.ids, doc_emb, depth)
    qrow = {q: i for i, q in enumerate(qids)}
    drow = {d: i for i, d in enumerate(ctx.corpus.ids)}
    pscores = {(q, p): float(np.dot(q_emb[qrow[q]], doc_emb[drow[p]])) for q, p in pairs}
    return DenseCandidates(pairs, rankings, pscores)
