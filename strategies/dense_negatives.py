"""``dense`` and ``semi-hard``: negatives from the untouched base encoder's faiss ranking."""

from __future__ import annotations

from dataclasses import dataclass

from negbench.strategies.base import MiningContext, NegativeRow, Sampler
from negbench.strategies.dense_candidates import DenseCandidates, dense_candidates
from negbench.strategies.engine import WindowParams, mine_from_rankings
from negbench.strategies.registry import register


@dataclass
class DenseParams(WindowParams):
    """Rank window over the base encoder's ranking of non-positive docs."""


@register("dense")
class DenseNegatives(Sampler):
    """Top-k of the base encoder via faiss, window range_min/range_max (Karpukhin 2020; Xiong 2021)."""

    Params = DenseParams
    paper = ("Xiong et al. 2021, ANCE, ICLR (static variant); sentence-transformers "
             "mine_hard_negatives")
    simplified = "static negatives of the base model, mined once (ANCE refreshes them "\
                 "asynchronously during training)"

    def positive_scores(self, cand: DenseCandidates) -> dict[tuple[str, str], float]:
        """The score each pair's margins are measured against (the pair's own positive)."""
        return cand.positive_scores

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        cand = dense_candidates(ctx, self.params.range_max)
        return mine_from_rankings(ctx, cand.pairs, cand.rank, self.params,
                                  self.positive_scores(cand))


@dataclass
class SemiHardParams(WindowParams):
    """Skip the very top (likely false negatives), sample from the ranks below."""

    range_min: int = 10
    range_max: int = 100


@register("semi-hard")
class SemiHardNegatives(DenseNegatives):
    """Rank-window negatives (ranks 10-100 by default) as in FlagEmbedding / Tevatron recipes."""

    Params = SemiHardParams
    paper = "FlagEmbedding (BGE) hard-negative mining recipe, range_for_sampling 10-100"
    simplified = "static negatives of the base model, one sampled per pair"
