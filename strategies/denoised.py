"""``denoised``: dense candidates re-scored by a cross-encoder; likely false negatives dropped."""

from __future__ import annotations

from dataclasses import dataclass

from negbench.harness.errors import NegbenchError
from negbench.harness.io.trec_files import Hits
from negbench.harness.retrieval.cross_encoder import CrossEncoderSpec
from negbench.strategies.base import MiningContext, NegativeRow, Sampler
from negbench.strategies.dense_candidates import dense_candidates
from negbench.strategies.engine import Pair, check_num_negatives, mine_ranked, pair_rng
from negbench.strategies.registry import register
from negbench.strategies.teacher_params import TeacherParams

MODES = ("margin", "threshold")


@dataclass
class DenoisedParams(TeacherParams):
    """Candidates: the top ``range_max`` non-positives of the base encoder (as ``dense``).
    ``mode=margin`` drops a candidate the cross-encoder scores above ``positive - margin``;
    ``mode=threshold`` drops one it calls relevant, probability > ``threshold``. Teacher
    parameters: ``TeacherParams``."""

    range_max: int = 30
    mode: str = "margin"
    margin: float = 0.0
    threshold: float = 0.9
    num_negatives: int = 1
    sampling: str = "random"


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
        return self.params.teacher_spec(device)

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
        if p.range_max < 1:
            raise NegbenchError("denoised: range_max must be >= 1")
        p.check_teacher("denoised")

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        p = self.params
        self.check()
        width = p.candidate_window(ctx, p.range_max)  # range_max, or a smoke budget's window
        cand = dense_candidates(ctx, width)
        scorer = p.teacher_scorer(ctx, p.pairs_to_score(ctx, width), "denoised")

        def keep(score: float, positive: float) -> bool:
            if p.mode == "threshold":
                return scorer.probability(score) <= p.threshold
            return score <= positive - p.margin

        def choose(windows: dict[Pair, Hits], width: int) -> dict[Pair, tuple[str, ...]]:
            wanted = sorted({(q, d) for (q, pos), w in windows.items()
                             for d in [pos, *(d for d, _ in w)]})
            s = p.teacher_scores(ctx, scorer, wanted)
            out = {}
            for (q, pos), w in windows.items():
                # a pair the teacher did not score (a smoke budget's cap) keeps its window
                kept = ([d for d, _ in w if keep(s[(q, d)], s[(q, pos)])] if (q, pos) in s
                        else [d for d, _ in w])
                if p.sampling == "random" and len(kept) > p.num_negatives:
                    idx = sorted(pair_rng(ctx.seed, q, pos).choice(len(kept), p.num_negatives,
                                                                   replace=False))
                    kept = [kept[i] for i in idx]
                out[(q, pos)] = tuple(kept[:p.num_negatives])
            return out

        return mine_ranked(ctx, cand.pairs, cand.rank, choose, p.num_negatives, width)
