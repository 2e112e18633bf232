"""``ar2-lite``: at each refresh a cross-encoder ranker picks the negatives among the
retriever's current top-k (in the spirit of AR2, Zhang et al. 2021)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from negbench.harness.errors import NegbenchError
from negbench.harness.io.trec_files import Hits
from negbench.harness.training.dynamic import ModelView, TrainingPlan
from negbench.harness.training.method import Recipe
from negbench.strategies.base import MiningContext, NegativeRow, Sampler, training_pairs
from negbench.strategies.dense_candidates import dense_candidates
from negbench.strategies.engine import Chooser, Pair, check_num_negatives, mine_ranked, pair_rng
from negbench.strategies.refreshing import as_map, check_refresh_every, scratch, view_ranker
from negbench.strategies.registry import register
from negbench.strategies.teacher_params import TeacherParams


@dataclass
class Ar2LiteParams(TeacherParams):
    """The retriever's top ``range_max`` non-positives, scored by a cross-encoder (the harness
    teacher, or ``cross_encoder=PATH``); candidates it scores above positive - ``margin`` are
    skipped; then ``sampling=softmax`` (over its scores / ``temperature``) or ``top``.
    Re-chosen every ``refresh_every`` steps among the current model's top-k."""

    range_max: int = 30
    refresh_every: int = 20
    sampling: str = "softmax"
    temperature: float = 1.0
    margin: float = 0.0
    num_negatives: int = 1

    def check(self) -> None:
        if self.sampling not in ("softmax", "top"):
            raise NegbenchError(f"ar2-lite: sampling must be 'softmax' or 'top', "
                                f"got {self.sampling!r}")
        if self.range_max < 1 or self.temperature <= 0:
            raise NegbenchError("ar2-lite: range_max must be >= 1 and temperature > 0")
        check_refresh_every("ar2-lite", self.refresh_every)
        check_num_negatives(self.num_negatives)
        self.check_teacher("ar2-lite")


def ranker_chooser(score: Callable[[list[Pair]], dict[Pair, float]], p: Ar2LiteParams,
                   seed: int, counter: list[int]) -> Chooser:
    """Scores each window (and the pair's positive) with ``score`` and picks ``num_negatives``
    among the candidates below positive - margin; ``counter[0]`` counts scored pairs. A pair
    ``score`` leaves out (a smoke budget's teacher cap) draws among its whole window."""

    def choose(windows: dict[Pair, Hits], width: int) -> dict[Pair, tuple[str, ...]]:
        wanted = sorted({(q, d) for (q, pos), w in windows.items()
                         for d in [pos, *(d for d, _ in w)]})
        s = score(wanted)
        counter[0] += len(s)
        out = {}
        for (q, pos), w in windows.items():
            kept = ([(d, s[(q, d)]) for d, _ in w if s[(q, d)] <= s[(q, pos)] - p.margin]
                    if (q, pos) in s else [(d, 0.0) for d, _ in w])
            k = min(p.num_negatives, len(kept))
            if p.sampling == "top" or len(kept) <= k:
                out[(q, pos)] = tuple(d for d, _ in sorted(kept, key=lambda x: -x[1])[:k])
                continue
            z = np.array([v for _, v in kept]) / p.temperature
            prob = np.exp(z - z.max())
            idx = pair_rng(seed, q, "ar2|" + pos).choice(len(kept), k, replace=False,
                                                         p=prob / prob.sum())
            out[(q, pos)] = tuple(kept[i][0] for i in sorted(idx))
        return out

    return choose


class Ar2Plan(TrainingPlan):
    """Every ``refresh_every`` steps: the current model's top-k, chosen among by the ranker."""

    def __init__(self, sampler: Ar2LiteNegatives, ctx: MiningContext) -> None:
        super().__init__(sampler.params.refresh_every)
        self.sampler, self.ctx = sampler, ctx
        self.scorer = sampler.scorer(ctx)

    def refresh(self, view: ModelView, step: int, total: int):
        counter = [0]
        rows = self.sampler.choose(scratch(self.ctx), view_ranker(self.ctx, view), self.scorer,
                                   counter)
        view.stats.refresh_ranker_pairs += counter[0]
        return as_map(rows)


@register("ar2-lite")
class Ar2LiteNegatives(Sampler):
    """AR2-lite (after Zhang et al. 2021, AR2): at each refresh a cross-encoder ranker chooses
    the negatives among the retriever's current top-k.

    Step 0 ranks with the base model; every ``refresh_every`` steps the model being trained
    re-ranks (query-side: the training queries re-encoded against the fixed documents; full:
    the corpus re-encoded). The ranker scores the pair's positive and the top ``range_max``
    non-positives; candidates it scores above positive - ``margin`` (likely false negatives)
    are skipped, and the negative is drawn from the softmax of its scores (``sampling=top``:
    the one it scores highest). Scores are cached, so a refresh scores only new candidates.

    Simplified versus AR2: the ranker is never updated (AR2 trains it adversarially against the
    retriever's negatives), and the retriever is trained with MNRL on the chosen negative
    instead of AR2's minimax objective (KL towards the ranker's distribution over the
    retrieved documents); no regularisation or ranker warm-up schedule.
    """

    Params = Ar2LiteParams
    recipe = Recipe(schedule="every refresh_every steps the current model's top range_max "
                             "re-scored by a frozen cross-encoder, which chooses the negatives",
                    control=("dense", {"range_max": 30}))
    paper = ("Zhang et al. 2021, Adversarial Retriever-Ranker for Dense Text Retrieval (AR2), "
             "ICLR 2022")
    simplified = ("the ranker (the harness cross-encoder) is frozen, no adversarial update; it "
                  "only picks the negative among the retriever's current top 30, trained with "
                  "MNRL instead of AR2's minimax objective")

    def scorer(self, ctx: MiningContext):
        p = self.params
        return p.teacher_scorer(ctx, p.pairs_to_score(ctx, p.candidate_window(ctx, p.range_max)),
                                "ar2-lite")

    def choose(self, ctx: MiningContext, rank, scorer, counter: list[int]) -> list[NegativeRow]:
        p = self.params
        return mine_ranked(ctx, training_pairs(ctx.train), rank,
                           ranker_chooser(lambda wanted: p.teacher_scores(ctx, scorer, wanted),
                                          p, ctx.seed, counter), p.num_negatives,
                           p.candidate_window(ctx, p.range_max))

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        self.params.check()
        scorer = self.scorer(ctx)
        cand = dense_candidates(ctx, self.params.candidate_window(ctx, self.params.range_max))
        counter = [0]
        rows = self.choose(ctx, cand.rank, scorer, counter)
        ctx.extra["ranker_scored_pairs"] = counter[0]
        return rows

    def training_plan(self, ctx: MiningContext, budget, track: str) -> Ar2Plan:
        return Ar2Plan(self, ctx)
