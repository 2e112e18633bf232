"""The cross-encoder teacher that scoring samplers share (``denoised``, ``ar2-lite``,
``tas-balanced``): its parameters, their checks, the scorer they build and, under a budget's
smoke-sized teacher (``MiningContext.teacher_cap``), the candidates it scores."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

from negbench.harness.errors import NegbenchError
from negbench.harness.retrieval.cross_encoder import CrossEncoderSpec
from negbench.strategies.base import MiningContext, training_pairs

Pair = tuple[str, str]


def scored_queries(ctx: MiningContext) -> set[str] | None:
    """The training queries whose candidates the teacher scores: all (None) without a cap;
    under one, the first ``cap.queries`` in sha256 order of their ids (the same for every
    sampler and seed)."""
    cap = ctx.teacher_cap
    if cap is None:
        return None
    qids = sorted({q for q, _ in training_pairs(ctx.train)},
                  key=lambda q: hashlib.sha256(f"teacher-cap|{q}".encode()).hexdigest())
    return set(qids[:cap.queries])


@dataclass
class TeacherParams:
    """``cross_encoder``: a local CrossEncoder folder, or empty to use the harness teacher
    (trained from ``ce_base`` for ``ce_steps`` steps per fold over ``ce_folds`` query folds,
    each pair scored by a fold that never saw its query)."""

    cross_encoder: str = ""
    ce_base: str = "all-MiniLM-L6-v2"
    ce_steps: int = 150
    ce_folds: int = 3

    def check_teacher(self, sampler: str) -> None:
        if self.ce_steps < 1 or self.ce_folds < 1:
            raise NegbenchError(f"{sampler}: ce_steps and ce_folds must be >= 1")
        if self.cross_encoder and not Path(self.cross_encoder).is_dir():
            raise NegbenchError(f"{self.cross_encoder}: cross-encoder folder not found")

    def teacher_spec(self, device: str = "cpu", cap=None) -> CrossEncoderSpec:
        """The teacher these parameters ask for, cut down to ``cap`` (a budget's
        ``TeacherCap``) when one is given."""
        spec = CrossEncoderSpec(path=self.cross_encoder or None, base=self.ce_base,
                                steps=self.ce_steps, folds=self.ce_folds, device=device)
        if cap is None:
            return spec
        return dataclasses.replace(spec, steps=min(spec.steps, cap.steps),
                                   folds=min(spec.folds, cap.folds),
                                   max_length=min(spec.max_length, cap.max_length))

    @staticmethod
    def candidate_window(ctx: MiningContext, range_max: int) -> int:
        """``range_max``, at most the cap's ``window`` under a budget's teacher cap."""
        cap = ctx.teacher_cap
        return range_max if cap is None else min(range_max, cap.window)

    @staticmethod
    def pairs_to_score(ctx: MiningContext, window: int) -> int:
        """At most how many (query, doc) pairs the teacher scores for one row per training
        pair: the pairs of the scored queries x (their positive + ``window`` candidates)."""
        keep = scored_queries(ctx)
        pairs = training_pairs(ctx.train)
        return (window + 1) * sum(keep is None or q in keep for q, _ in pairs)

    def teacher_scorer(self, ctx: MiningContext, pairs: int | None = None,
                       sampler: str = "sampler"):
        """The teacher for ``ctx``'s training split (after one line on what it will cost:
        ``pairs`` at most to score); notes it in ``ctx.extra`` (``teacher``, ``teacher_cap``
        and ``filter_teacher``: external or harness, which the false-negative audit reads)."""
        from negbench.harness.retrieval.cross_encoder import teacher
        from negbench.strategies.dense_candidates import DenseRanker

        scorer = teacher(self.teacher_spec(ctx.device, ctx.teacher_cap), ctx.corpus, ctx.train,
                         ctx.exclude, ctx.bm25(), ctx.extra.get("cache_dir", "."),
                         progress=ctx.progress,
                         dense=DenseRanker(ctx.dense(), ctx.corpus, ctx.max_length),
                         pairs=pairs, purpose=f"{sampler}: teacher")
        ctx.extra["teacher"] = scorer.description
        if ctx.teacher_cap is not None:
            ctx.extra["teacher_cap"] = ctx.teacher_cap.describe()
        ctx.extra["filter_teacher"] = "external" if self.cross_encoder else "harness"
        return scorer

    @staticmethod
    def teacher_scores(ctx: MiningContext, scorer, wanted: list[Pair]) -> dict[Pair, float]:
        """``scorer``'s scores of ``wanted``: all of them, or under a budget's teacher cap
        those of the ``scored_queries`` only (a pair missing from the result was not scored).
        ``ctx.extra["teacher_scored_pairs"]`` counts the pairs asked of the teacher."""
        keep = scored_queries(ctx)
        todo = wanted if keep is None else [w for w in wanted if w[0] in keep]
        ctx.extra["teacher_scored_pairs"] = int(ctx.extra.get("teacher_scored_pairs", 0)) \
            + len(todo)
        return dict(zip(todo, scorer.score(todo)))
