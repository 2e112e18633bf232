"""The mining engine shared by samplers: candidate lists -> filtered, windowed, sampled negatives.

Options follow sentence-transformers' ``mine_hard_negatives``: rank window (``range_min``,
``range_max``), ``max_score``/``min_score``, ``absolute_margin``/``relative_margin`` against the
positive's score, ``num_negatives`` and ``sampling`` (``top`` or ``random`` in the window).
Judged positives of the query are always excluded first, so ranks count non-positive candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from negbench.harness.dense_search import Hits
from negbench.harness.errors import NegbenchError
from negbench.strategies.base import NegativeRow


@dataclass
class WindowParams:
    """Candidate selection shared by the ranking-based samplers."""

    range_min: int = 0
    range_max: int = 30
    num_negatives: int = 1
    sampling: str = "random"
    max_score: float | None = None
    min_score: float | None = None
    absolute_margin: float | None = None
    relative_margin: float | None = None

    def check(self) -> None:
        if not 0 <= self.range_min < self.range_max:
            raise NegbenchError(f"need 0 <= range_min < range_max, got {self.range_min}, "
                                f"{self.range_max}")
        if self.sampling not in ("top", "random"):
            raise NegbenchError(f"sampling must be 'top' or 'random', got {self.sampling!r}")
        if self.num_negatives < 1:
            raise NegbenchError("num_negatives must be >= 1")


def ranking_depth(range_max: int, exclude: dict[str, set[str]]) -> int:
    """How many hits to retrieve so ``range_max`` non-positive candidates remain for any query."""
    return range_max + max((len(v) for v in exclude.values()), default=0) + 1


def pair_rng(seed: int, query_id: str, positive_id: str) -> np.random.Generator:
    """A generator per (seed, pair): results do not depend on iteration order."""
    import hashlib

    digest = hashlib.sha256(f"{seed}|{query_id}|{positive_id}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def select(hits: Hits, exclude: set[str], p: WindowParams, rng: np.random.Generator,
           positive_score: float | None = None) -> tuple[str, ...]:
    """Exclude positives, keep the top ``range_max`` ranks, apply score filters and margins,
    skip the first ``range_min`` survivors, then sample (``top`` or ``random``)."""
    cands = [(d, s) for d, s in hits if d not in exclude][:p.range_max]
    if p.max_score is not None:
        cands = [(d, s) for d, s in cands if s <= p.max_score]
    if p.min_score is not None:
        cands = [(d, s) for d, s in cands if s >= p.min_score]
    if positive_score is not None:
        if p.absolute_margin is not None:
            cands = [(d, s) for d, s in cands if s <= positive_score - p.absolute_margin]
        if p.relative_margin is not None:
            cands = [(d, s) for d, s in cands if s <= positive_score * (1 - p.relative_margin)]
    cands = cands[p.range_min:]
    if p.sampling == "top" or len(cands) <= p.num_negatives:
        return tuple(d for d, _ in cands[:p.num_negatives])
    pick = np.sort(rng.choice(len(cands), size=p.num_negatives, replace=False))
    return tuple(cands[i][0] for i in pick)


def mine_from_rankings(pairs: list[tuple[str, str]], rankings: dict[str, Hits],
                       exclude: dict[str, set[str]], p: WindowParams, seed: int,
                       positive_scores: dict[tuple[str, str], float] | None = None
                       ) -> list[NegativeRow]:
    """One row per pair, negatives taken from the query's ranking."""
    p.check()
    rows = []
    for q, pos in pairs:
        ps = positive_scores.get((q, pos)) if positive_scores else None
        negs = select(rankings.get(q, []), exclude.get(q, set()) | {pos}, p,
                      pair_rng(seed, q, pos), ps)
        rows.append(NegativeRow(q, pos, negs))
    return rows
