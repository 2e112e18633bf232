"""``in-batch``: no mined negative; the other positives of the batch are the negatives."""

from __future__ import annotations

from negbench.harness.training.method import Recipe
from negbench.strategies.base import MiningContext, NegativeRow, Sampler, training_pairs
from negbench.strategies.engine import record_fill
from negbench.strategies.registry import register


@register("in-batch")
class InBatch(Sampler):
    """In-batch negatives only (Karpukhin et al. 2020, DPR; MultipleNegativesRankingLoss)."""

    uses_negatives = False
    recipe = Recipe(schedule="no mined negatives: the other rows' positives; duplicate-free "
                             "random batches")
    paper = "Karpukhin et al. 2020, DPR, EMNLP (in-batch negatives); Henderson et al. 2017"

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        record_fill(ctx, {})
        return [NegativeRow(q, p, ()) for q, p in training_pairs(ctx.train)]
