"""``margin``: positive-aware filtering of dense candidates (NV-Retriever / LG-ANNA style)."""

from __future__ import annotations

from dataclasses import dataclass

from negbench.strategies.dense_negatives import DenseNegatives
from negbench.strategies.engine import WindowParams
from negbench.strategies.registry import register


@dataclass
class MarginParams(WindowParams):
    """Drop candidates scoring above (1 - relative_margin) x the positive's score."""

    relative_margin: float | None = 0.05


@register("margin")
class MarginNegatives(DenseNegatives):
    """Positive-aware hard negatives: drop candidates too close to the positive's score
    (Moreira et al. 2024, NV-Retriever TopK-PercPos; sentence-transformers relative_margin)."""

    Params = MarginParams
