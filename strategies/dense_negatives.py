"""``dense`` and ``semi-hard``: negatives from the untouched base encoder's faiss ranking."""

from __future__ import annotations

from dataclasses import dataclass

from negbench.strategies.base import MiningContext, NegativeRow, Sampler
from negbench.strategies.dense_candidates import dense_candidates
from negbench.strategies.engine import WindowParams, mine_from_rankings
from negbench.strategies.registry import register


@dataclass
class DenseParams(WindowParams):
    """Rank window over the base encoder's ranking of non-positive docs."""


@register("dense")
class DenseNegatives(Sampler):
    """Top-k of the base encoder via faiss, window range_min/range_max (Karpukhin 2020; Xiong 2021)."""

    Params = DenseParams

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        cand = dense_candidates(ctx, self.params.range_max)
        return mine_from_rankings(cand.pairs, cand.rankings, ctx.exclude, self.params, ctx.seed,
                                  cand.positive_scores)


@dataclass
class SemiHardParams(WindowParams):
    """Skip the very top (likely false negatives), sample from the ranks below."""

    range_min: int = 10
    range_max: int = 100


@register("semi-hard")
class SemiHardNegatives(DenseNegatives):
    """Rank-window negatives (ranks 10-100 by default) as in FlagEmbedding / Tevatron recipes."""

    Params = SemiHardParams
