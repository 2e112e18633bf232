"""``margin``: positive-aware filtering of dense candidates (NV-Retriever / LG-ANNA style)."""

from __future__ import annotations

from dataclasses import dataclass

from negbench.strategies.dense_candidates import DenseCandidates
from negbench.strategies.dense_negatives import DenseNegatives
from negbench.strategies.engine import WindowParams
from negbench.strategies.registry import register


@dataclass
class MarginParams(WindowParams):
    """Drop candidates scoring above ``pos - |pos| x relative_margin``, where ``pos`` is the
    lowest score among the query's positives; then take the top survivors."""

    relative_margin: float | None = 0.05
    sampling: str = "top"


@register("margin")
class MarginNegatives(DenseNegatives):
    """Positive-aware hard negatives: drop candidates too close to the positive's score
    (Moreira et al. 2024, NV-Retriever TopK-PercPos; sentence-transformers relative_margin).

    TopK-PercPos with 95 % keeps candidates scoring below 95 % of the positive's score, i.e.
    ``relative_margin`` 0.05. The threshold is ``pos - |pos| x margin`` (sentence-transformers
    issue #3819: ``pos x (1 - margin)`` lets candidates above a negative positive score pass),
    measured against the lowest score among the query's training positives, as
    sentence-transformers' ``mine_hard_negatives`` does; default ``sampling="top"`` (TopK).
    """

    Params = MarginParams
    paper = "Moreira et al. 2024, NV-Retriever (TopK-PercPos), arXiv:2407.15831"
    simplified = "static base-model candidates (top 30); cosine scores of the base model"

    def positive_scores(self, cand: DenseCandidates) -> dict[tuple[str, str], float]:
        return cand.lowest_positive_scores()
