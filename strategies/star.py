"""``star``: STAR's static hard negatives mixed with random negatives (Zhan et al. 2021)."""

from __future__ import annotations

from dataclasses import dataclass

from negbench.harness.errors import NegbenchError
from negbench.strategies.base import MiningContext, NegativeRow, Sampler
from negbench.strategies.dense_candidates import dense_candidates
from negbench.strategies.engine import pair_rng
from negbench.strategies.registry import register


@dataclass
class StarParams:
    """Each negative is a static hard negative with probability ``hard_ratio``, else random."""

    hard_ratio: float = 0.5
    range_max: int = 200
    num_negatives: int = 1


@register("star")
class StarNegatives(Sampler):
    """STAR (Zhan et al. 2021, SIGIR): static top-200 hard negatives of a warm-up/base model,
    mixed with random negatives to stabilise training."""

    Params = StarParams

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        p = self.params
        if not 0.0 <= p.hard_ratio <= 1.0:
            raise NegbenchError(f"star: hard_ratio must be in [0, 1], got {p.hard_ratio}")
        cand = dense_candidates(ctx, p.range_max)
        ids = ctx.corpus.ids
        rows = []
        for q, pos in cand.pairs:
            banned = ctx.exclude.get(q, set()) | {pos}
            hard = [d for d, _ in cand.rankings.get(q, []) if d not in banned][:p.range_max]
            rng = pair_rng(ctx.seed, q, pos)
            chosen: list[str] = []
            while len(chosen) < p.num_negatives:
                if hard and rng.random() < p.hard_ratio:
                    d = hard[int(rng.integers(len(hard)))]
                else:
                    d = ids[int(rng.integers(len(ids)))]
                if d not in banned and d not in chosen:
                    chosen.append(d)
            rows.append(NegativeRow(q, pos, tuple(chosen)))
        return rows
