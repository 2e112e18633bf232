"""``random``: negatives drawn uniformly from the corpus."""

from __future__ import annotations

from dataclasses import dataclass

from negbench.strategies.base import MiningContext, NegativeRow, Sampler, training_pairs
from negbench.strategies.engine import pair_rng
from negbench.strategies.registry import register


@dataclass
class RandomParams:
    num_negatives: int = 1


@register("random")
class RandomNegatives(Sampler):
    """Uniform random corpus documents, never a judged positive (Zhan et al. 2021, Rand Neg)."""

    Params = RandomParams

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        ids = ctx.corpus.ids
        rows = []
        for q, pos in training_pairs(ctx.train):
            banned = ctx.exclude.get(q, set()) | {pos}
            rng = pair_rng(ctx.seed, q, pos)
            chosen: list[str] = []
            while len(chosen) < min(self.params.num_negatives, len(ids) - len(banned)):
                d = ids[int(rng.integers(len(ids)))]
                if d not in banned and d not in chosen:
                    chosen.append(d)
            rows.append(NegativeRow(q, pos, tuple(chosen)))
        return rows
