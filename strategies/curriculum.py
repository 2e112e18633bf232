"""``curriculum``: hardness that grows with training, a rank window moving from random
towards the top of the base model's ranking."""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import chain, islice

from negbench.harness.errors import NegbenchError
from negbench.harness.training.dynamic import ModelView, TrainingPlan
from negbench.harness.training.method import Recipe
from negbench.strategies.base import MiningContext, NegativeRow, Sampler, training_pairs
from negbench.strategies.dense_candidates import dense_candidates
from negbench.strategies.engine import (
    check_num_negatives,
    finish,
    pair_rng,
    pair_windows,
    random_negatives,
)
from negbench.strategies.refreshing import as_map, check_refresh_every, scratch
from negbench.strategies.registry import register

SCHEDULES = ("geometric", "linear")


@dataclass
class CurriculumParams:
    """A negative is drawn uniformly from the top D non-positives of the base model's ranking;
    D shrinks from ``start_depth`` (0 = the whole corpus: uniform random) to ``end_depth``
    over the first ``end_at`` of training, ``geometric``ally or ``linear``ly, re-drawn every
    ``refresh_every`` steps. Ranks below ``ranking_depth`` are drawn uniformly outside it."""

    start_depth: int = 0
    end_depth: int = 30
    end_at: float = 1.0
    schedule: str = "geometric"
    refresh_every: int = 20
    ranking_depth: int = 1000
    num_negatives: int = 1

    def check(self) -> None:
        if self.schedule not in SCHEDULES:
            raise NegbenchError(f"curriculum: schedule must be one of {SCHEDULES}, "
                                f"got {self.schedule!r}")
        if self.end_depth < 1 or self.start_depth < 0:
            raise NegbenchError("curriculum: end_depth must be >= 1 and start_depth >= 0")
        if self.start_depth and self.start_depth < self.end_depth:
            raise NegbenchError(f"curriculum: start_depth {self.start_depth} < end_depth "
                                f"{self.end_depth}: the window must move towards the top")
        if not 0.0 < self.end_at <= 1.0:
            raise NegbenchError(f"curriculum: end_at must be in (0, 1], got {self.end_at}")
        if self.ranking_depth < self.end_depth:
            raise NegbenchError("curriculum: ranking_depth must be >= end_depth")
        check_refresh_every("curriculum", self.refresh_every)
        check_num_negatives(self.num_negatives)


def window_depth(p: CurriculumParams, progress: float, corpus_size: int) -> int:
    """D at ``progress`` (0..1 of the steps): from the start depth to ``end_depth``."""
    start = min(p.start_depth or corpus_size, corpus_size)
    t = min(1.0, max(0.0, progress) / p.end_at)
    if p.schedule == "linear":
        d = start + (p.end_depth - start) * t
    else:
        d = math.exp((1 - t) * math.log(start) + t * math.log(p.end_depth))
    return max(p.end_depth, round(d))


class CurriculumPlan(TrainingPlan):
    """Re-draws every pair's negatives from the window of the current progress (no model
    encoding: the ranking is the base model's)."""

    def __init__(self, sampler: CurriculumNegatives, ctx: MiningContext) -> None:
        super().__init__(sampler.params.refresh_every)
        self.sampler, self.ctx = sampler, ctx
        self.rankings = sampler.rankings(ctx)

    def refresh(self, view: ModelView, step: int, total: int):
        return as_map(self.sampler.choose(scratch(self.ctx), self.rankings, step / total))


@register("curriculum")
class CurriculumNegatives(Sampler):
    """Curriculum hard negatives: the rank window moves from random towards the top as
    training advances.

    Each pair keeps one seeded uniform number u per negative; at progress t its negative is the
    non-positive at rank floor(u x D(t)) of the base model's ranking (ranks beyond
    ``ranking_depth`` are drawn uniformly among the documents outside it). D(0) is the whole
    corpus (random negatives), D(end_at) = ``end_depth`` (dense's top-30 window); the
    negatives are re-drawn every ``refresh_every`` steps. No model is re-encoded: refreshes
    cost a pass over the pairs.
    """

    Params = CurriculumParams
    recipe = Recipe(schedule="every refresh_every steps each pair's negative is re-drawn from a "
                             "rank window of the base model that narrows from the corpus to "
                             "the top end_depth",
                    control=("dense", {"range_max": 30}))
    paper = "Bengio et al. 2009, Curriculum Learning, ICML (applied to negative hardness)"
    simplified = ("the base model's static ranking sets hardness (not the model being "
                  "trained); a parametric window schedule, not a learned pacing function")

    def rankings(self, ctx: MiningContext) -> dict:
        return dense_candidates(ctx, self.params.ranking_depth).rankings

    def choose(self, ctx: MiningContext, rankings: dict, progress: float) -> list[NegativeRow]:
        p = self.params
        depth = window_depth(p, progress, len(ctx.corpus))
        pairs = training_pairs(ctx.train)
        chosen = {}
        windows = pair_windows(rankings, pairs, ctx.exclude, p.ranking_depth, ids=True)
        for q, pos in pairs:
            ranked = windows[(q, pos)]
            us = pair_rng(ctx.seed, q, "curriculum|" + pos).random(p.num_negatives)
            negs: list[str] = []
            for u in us:
                rank = int(u * depth)
                if rank < len(ranked):
                    d = next((x for x in chain(islice(ranked, rank, None), islice(ranked, rank))
                              if x not in negs), None)
                else:
                    banned = ctx.exclude.get(q, set()) | {pos} | set(ranked) | set(negs)
                    d = random_negatives(ctx.corpus.ids, banned, [], 1,
                                         pair_rng(ctx.seed, q, f"curriculum|{rank}|{pos}"))[0]
                if d is not None:
                    negs.append(d)
            chosen[(q, pos)] = tuple(negs)
        ctx.extra["window_depth_at_mining"] = depth
        return finish(ctx, pairs, chosen, p.num_negatives)

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        self.params.check()
        return self.choose(ctx, self.rankings(ctx), 0.0)

    def training_plan(self, ctx: MiningContext, budget, track: str) -> CurriculumPlan:
        return CurriculumPlan(self, ctx)
