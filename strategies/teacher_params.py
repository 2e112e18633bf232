"""The cross-encoder teacher that scoring samplers share (``denoised``, ``ar2-lite``,
``tas-balanced``): its parameters, their checks and the scorer they build."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from negbench.harness.errors import NegbenchError
from negbench.harness.retrieval.cross_encoder import CrossEncoderSpec


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

    def teacher_spec(self, device: str = "cpu") -> CrossEncoderSpec:
        return CrossEncoderSpec(path=self.cross_encoder or None, base=self.ce_base,
                                steps=self.ce_steps, folds=self.ce_folds, device=device)

    def teacher_scorer(self, ctx):
        """The teacher for ``ctx``'s training split; notes it in ``ctx.extra`` (``teacher``,
        and ``filter_teacher``: external or harness, which the false-negative audit reads)."""
        from negbench.harness.retrieval.cross_encoder import teacher
        from negbench.strategies.dense_candidates import DenseRanker

        scorer = teacher(self.teacher_spec(ctx.device), ctx.corpus, ctx.train, ctx.exclude,
                         ctx.bm25(), ctx.extra.get("cache_dir", "."), progress=False,
                         dense=DenseRanker(ctx.dense(), ctx.corpus, ctx.max_length))
        ctx.extra["teacher"] = scorer.description
        ctx.extra["filter_teacher"] = "external" if self.cross_encoder else "harness"
        return scorer
