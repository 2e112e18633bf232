"""``bm25``: lexical hard negatives from Lucene BM25 (pyserini)."""

from __future__ import annotations

from dataclasses import dataclass

from negbench.strategies.base import MiningContext, NegativeRow, Sampler, training_pairs
from negbench.strategies.engine import WindowParams, mine_from_rankings
from negbench.strategies.registry import register


@dataclass
class BM25Params(WindowParams):
    """Rank window over BM25's ranking of non-positive docs."""


@register("bm25")
class BM25Negatives(Sampler):
    """BM25 top-k negatives excluding positives (Karpukhin et al. 2020, DPR)."""

    Params = BM25Params
    paper = "Karpukhin et al. 2020, Dense Passage Retrieval (DPR), EMNLP"
    simplified = ("one BM25 negative per pair sampled from the top 30 (DPR takes the top "
                  "passage without the answer string; no answer-string check here)")

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        pairs = training_pairs(ctx.train)
        queries = {q: ctx.train.queries[q] for q, _ in pairs}

        def rank(qids: list[str], depth: int):
            return ctx.bm25().search({q: queries[q] for q in qids}, k=depth)

        return mine_from_rankings(ctx, pairs, rank, self.params)
