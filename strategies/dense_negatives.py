"""``dense``: hard negatives from the untouched base encoder, searched exactly with faiss."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from negbench.harness.dense_search import search_run
from negbench.strategies.base import MiningContext, NegativeRow, Sampler, training_pairs
from negbench.strategies.engine import WindowParams, mine_from_rankings
from negbench.strategies.registry import register


@dataclass
class DenseParams(WindowParams):
    """Rank window over the base encoder's ranking of non-positive docs."""


def dense_rankings(ctx: MiningContext, query_ids: list[str], depth: int):
    """Base-encoder rankings for ``query_ids`` plus (query, doc) -> score lookup helpers."""
    enc = ctx.dense()
    doc_emb = enc.encode(ctx.corpus.texts(), "doc", ctx.max_length)
    q_emb = enc.encode([ctx.train.queries[q] for q in query_ids], "query", ctx.max_length)
    rankings = search_run(query_ids, q_emb, ctx.corpus.ids, doc_emb, depth)
    return rankings, q_emb, doc_emb


def positive_scores(pairs, query_ids, q_emb: np.ndarray, doc_ids, doc_emb: np.ndarray):
    """Inner-product score of each (query, positive) pair under the base encoder."""
    qrow = {q: i for i, q in enumerate(query_ids)}
    drow = {d: i for i, d in enumerate(doc_ids)}
    return {(q, p): float(q_emb[qrow[q]] @ doc_emb[drow[p]]) for q, p in pairs}


@register("dense")
class DenseNegatives(Sampler):
    """Top-k of the base encoder via faiss, rank window range_min/range_max (Xiong et al. 2021)."""

    Params = DenseParams

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        pairs = training_pairs(ctx.train)
        qids = sorted({q for q, _ in pairs})
        depth = self.params.range_max + max(len(v) for v in ctx.exclude.values()) + 1
        rankings, q_emb, doc_emb = dense_rankings(ctx, qids, depth)
        pscores = positive_scores(pairs, qids, q_emb, ctx.corpus.ids, doc_emb)
        return mine_from_rankings(pairs, rankings, ctx.exclude, self.params, ctx.seed, pscores)
