"""``bm25``: lexical hard negatives from Lucene BM25 (pyserini)."""

from __future__ import annotations

from dataclasses import dataclass

from negbench.strategies.base import MiningContext, NegativeRow, Sampler, training_pairs
from negbench.strategies.engine import WindowParams, mine_from_rankings, ranking_depth
from negbench.strategies.registry import register


@dataclass
class BM25Params(WindowParams):
    """Rank window over BM25's ranking of non-positive docs."""


@register("bm25")
class BM25Negatives(Sampler):
    """BM25 top-k negatives excluding positives (Karpukhin et al. 2020, DPR)."""

    Params = BM25Params

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        pairs = training_pairs(ctx.train)
        queries = {q: ctx.train.queries[q] for q, _ in pairs}
        rankings = ctx.bm25().search(queries, k=ranking_depth(self.params.range_max, ctx.exclude))
        return mine_from_rankings(pairs, rankings, ctx.exclude, self.params, ctx.seed)
