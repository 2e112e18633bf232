"""``denoised``: dense candidates re-scored by a cross-encoder; likely false negatives dropped."""

from __future__ import annotations

from dataclasses import dataclass

from negbench.harness.cross_encoder import CrossEncoderSpec, teacher
from negbench.strategies.base import MiningContext, NegativeRow, Sampler
from negbench.strategies.dense_candidates import dense_candidates
from negbench.strategies.engine import pair_rng
from negbench.strategies.registry import register


@dataclass
class DenoisedParams:
    """Candidates: top ``range_max`` non-positives of the base encoder. A candidate is dropped
    when the cross-encoder scores it above ``positive_score - margin``. ``cross_encoder``: a
    local CrossEncoder folder, or empty to train one in the harness (stated in the result)."""

    range_max: int = 10
    margin: float = 0.0
    num_negatives: int = 1
    sampling: str = "random"
    cross_encoder: str = ""
    ce_steps: int = 150


@register("denoised")
class DenoisedNegatives(Sampler):
    """Cross-encoder denoised hard negatives (Qu et al. 2021, RocketQA; CET-style filtering)."""

    Params = DenoisedParams

    def teacher_spec(self) -> CrossEncoderSpec:
        return CrossEncoderSpec(path=self.params.cross_encoder or None, steps=self.params.ce_steps)

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        p = self.params
        cand = dense_candidates(ctx, p.range_max)
        scorer = teacher(self.teacher_spec(), ctx.corpus, ctx.train, ctx.exclude, ctx.bm25(),
                         ctx.extra.get("cache_dir", "."), progress=False)
        ctx.extra["teacher"] = scorer.description
        pool = {}
        for q, pos in cand.pairs:
            banned = ctx.exclude.get(q, set()) | {pos}
            pool[(q, pos)] = [d for d, _ in cand.rankings.get(q, []) if d not in banned][
                :p.range_max]
        pairs = sorted({(q, d) for (q, pos), ds in pool.items() for d in ds + [pos]})
        scores = dict(zip(pairs, scorer.score(pairs, progress=False)))
        rows = []
        for q, pos in cand.pairs:
            kept = [d for d in pool[(q, pos)] if scores[(q, d)] <= scores[(q, pos)] - p.margin]
            if p.sampling == "random" and len(kept) > p.num_negatives:
                idx = sorted(pair_rng(ctx.seed, q, pos).choice(len(kept), p.num_negatives,
                                                               replace=False))
                kept = [kept[i] for i in idx]
            rows.append(NegativeRow(q, pos, tuple(kept[:p.num_negatives])))
        return rows
