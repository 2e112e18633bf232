"""``denoised``: dense candidates re-scored by a cross-encoder; likely false negatives dropped."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from negbench.harness.cross_encoder import CrossEncoderSpec, teacher
from negbench.harness.dense_search import Hits
from negbench.harness.errors import NegbenchError
from negbench.strategies.base import MiningContext, NegativeRow, Sampler
from negbench.strategies.dense_candidates import DenseRanker, dense_candidates
from negbench.strategies.engine import Pair, check_num_negatives, mine_ranked, pair_rng
from negbench.strategies.registry import register

MODES = ("margin", "threshold")


@dataclass
class DenoisedParams:
    """Candidates: the top ``range_max`` non-positives of the base encoder (as ``dense``).
    ``mode=margin`` drops a candidate the cross-encoder scores above ``positive - margin``;
    ``mode=threshold`` drops one it calls relevant, probability > ``threshold``.
    ``cross_encoder``: a local CrossEncoder folder, or empty to use the harness teacher
    (trained from ``ce_base`` for ``ce_steps`` steps per fold over ``ce_folds`` query folds)."""

    range_max: int = 30
    mode: str = "margin"
    margin: float = 0.0
    threshold: float = 0.9
    num_negatives: int = 1
    sampling: str = "random"
    cross_encoder: str = ""
    ce_base: str = "all-MiniLM-L6-v2"
    ce_steps: int = 150
    ce_folds: int = 3


@register("denoised")
class DenoisedNegatives(Sampler):
    """Cross-encoder denoised hard negatives (Qu et al. 2021, RocketQA; sentence-transformers
    cross_encoder + margin).

    ``mode=threshold`` is RocketQA's denoising: candidates the cross-encoder predicts relevant
    with high confidence (probability above ``threshold``, 0.9 by default) are removed as likely
    false negatives. ``mode=margin`` (the default) is sentence-transformers'
    ``mine_hard_negatives(cross_encoder=..., absolute_margin=...)``: a candidate is kept only if
    the cross-encoder scores it at least ``margin`` below the pair's positive. The default
    teacher is the harness's cross-fitted one (the same kind of teacher the false-negative
    audit uses, so the audit column reads ``n/a (same teacher)`` for this sampler); give
    ``cross_encoder=PATH`` to denoise with an external model.
    """

    Params = DenoisedParams
    paper = "Qu et al. 2021, RocketQA, NAACL (denoised hard negatives)"
    simplified = ("the teacher is a cross-encoder trained in the harness from the base model "
                  "(RocketQA's is a large trained cross-encoder); static candidates, no "
                  "cross-batch negatives")

    def teacher_spec(self, device: str = "cpu") -> CrossEncoderSpec:
        p = self.params
        return CrossEncoderSpec(path=p.cross_encoder or None, base=p.ce_base, steps=p.ce_steps,
                                folds=p.ce_folds, device=device)

    def check(self) -> None:
        p = self.params
        if p.mode not in MODES:
            raise NegbenchError(f"denoised: mode must be one of {MODES}, got {p.mode!r}")
        if p.sampling not in ("top", "random"):
            raise NegbenchError(f"denoised: sampling must be 'top' or 'random', "
                                f"got {p.sampling!r}")
        if not 0.0 < p.threshold < 1.0:
            raise NegbenchError(f"denoised: threshold must be in (0, 1), got {p.threshold}")
        check_num_negatives(p.num_negatives)
        if p.range_max < 1 or p.ce_steps < 1 or p.ce_folds < 1:
            raise NegbenchError("denoised: range_max, ce_steps and ce_folds must be >= 1")
        if p.cross_encoder and not Path(p.cross_encoder).is_dir():
            raise NegbenchError(f"{p.cross_encoder}: cross-encoder folder not found")

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        p = self.params
        self.check()
        cand = dense_candidates(ctx, p.range_max)
        scorer = teacher(self.teacher_spec(ctx.device), ctx.corpus,
                         ctx.train, ctx.exclude, ctx.bm25(), ctx.extra.get("cache_dir", "."),
                         progress=False, dense=DenseRanker(ctx.dense(), ctx.corpus,
                                                           ctx.max_length))
        ctx.extra["teacher"] = scorer.description
        ctx.extra["filter_teacher"] = "external" if p.cross_encoder else "harness"

        def keep(score: float, positive: float) -> bool:
            if p.mode == "threshold":
                return scorer.probability(score) <= p.threshold
            return score <= positive - p.margin

        def choose(windows: dict[Pair, Hits], width: int) -> dict[Pair, tuple[str, ...]]:
            wanted = sorted({(q, d) for (q, pos), w in windows.items()
                             for d in [pos, *(d for d, _ in w)]})
            s = dict(zip(wanted, scorer.score(wanted, progress=False)))
            out = {}
            for (q, pos), w in windows.items():
                kept = [d for d, _ in w if keep(s[(q, d)], s[(q, pos)])]
                if p.sampling == "random" and len(kept) > p.num_negatives:
                    idx = sorted(pair_rng(ctx.seed, q, pos).choice(len(kept), p.num_negatives,
                                                                   replace=False))
                    kept = [kept[i] for i in idx]
                out[(q, pos)] = tuple(kept[:p.num_negatives])
            return out

        return mine_ranked(ctx, cand.pairs, cand.rank, choose, p.num_negatives, p.range_max)
