"""``simans``: ambiguous negatives sampled around the positive's score (Zhou et al. 2022)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from negbench.harness.errors import NegbenchError
from negbench.harness.io.trec_files import Hits
from negbench.strategies.base import MiningContext, NegativeRow, Sampler
from negbench.strategies.dense_candidates import dense_candidates
from negbench.strategies.engine import Pair, check_num_negatives, mine_ranked, pair_rng
from negbench.strategies.registry import register


@dataclass
class SimANSParams:
    """p(d) ∝ exp(-a · (s(q,d) - s(q,d+) - b)²) over the top ``range_max`` non-positives.

    Scores are cosine similarities of the base encoder, so ``a`` is larger than in the paper's
    dot-product setting: with a = 50 a gap of 0.1 keeps weight 0.61, a gap of 0.3 only 0.011.
    """

    a: float = 50.0
    b: float = 0.0
    range_max: int = 100
    num_negatives: int = 1

    def check(self) -> None:
        if self.a < 0:
            raise NegbenchError(f"a must be >= 0, got {self.a}")
        if self.range_max < 1:
            raise NegbenchError(f"range_max must be >= 1, got {self.range_max}")
        check_num_negatives(self.num_negatives)


def simans_weights(neg_scores: np.ndarray, pos_score: float, a: float, b: float) -> np.ndarray:
    """Normalised SimANS sampling probabilities."""
    logits = -a * (neg_scores - pos_score - b) ** 2
    w = np.exp(logits - logits.max())
    return w / w.sum()


@register("simans")
class SimANSNegatives(Sampler):
    """SimANS (Zhou et al. 2022, EMNLP): sample negatives near the positive's score, not the top."""

    Params = SimANSParams
    paper = "Zhou et al. 2022, SimANS: Simple Ambiguous Negatives Sampling, EMNLP"
    simplified = "static base-model candidates and cosine scores (the paper re-mines with the "\
                 "trained retriever); a rescaled to cosine"

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        p = self.params
        cand = dense_candidates(ctx, p.range_max)

        def choose(windows: dict[Pair, Hits], width: int) -> dict[Pair, tuple[str, ...]]:
            out = {}
            for (q, pos), hits in windows.items():
                if not hits:
                    out[(q, pos)] = ()
                    continue
                probs = simans_weights(np.array([s for _, s in hits]),
                                       cand.positive_scores[(q, pos)], p.a, p.b)
                k = min(p.num_negatives, int(np.count_nonzero(probs)))
                pick = pair_rng(ctx.seed, q, pos).choice(len(hits), size=k, replace=False,
                                                         p=probs)
                out[(q, pos)] = tuple(hits[i][0] for i in sorted(pick))
            return out

        return mine_ranked(ctx, cand.pairs, cand.rank, choose, p.num_negatives, p.range_max)
