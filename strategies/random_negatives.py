"""``random``: negatives drawn uniformly from the corpus."""

from __future__ import annotations

from dataclasses import dataclass

from negbench.strategies.base import MiningContext, NegativeRow, Sampler, training_pairs
from negbench.strategies.engine import check_num_negatives, finish, pair_rng, random_negatives
from negbench.strategies.registry import register


@dataclass
class RandomParams:
    num_negatives: int = 1

    def check(self) -> None:
        check_num_negatives(self.num_negatives)


@register("random")
class RandomNegatives(Sampler):
    """Uniform random corpus documents, never a judged positive (Zhan et al. 2021, Rand Neg)."""

    Params = RandomParams
    paper = "Zhan et al. 2021, STAR paper's Rand Neg baseline, SIGIR"

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        k = self.params.num_negatives
        check_num_negatives(k)
        pairs = training_pairs(ctx.train)
        chosen = {(q, pos): tuple(random_negatives(ctx.corpus.ids,
                                                   ctx.exclude.get(q, set()) | {pos}, [], k,
                                                   pair_rng(ctx.seed, q, pos)))
                  for q, pos in pairs}
        return finish(ctx, pairs, chosen, k)
