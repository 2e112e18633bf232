"""Measures as small objects with a canonical string (``nDCG@10``), mapped onto ranx."""

from __future__ import annotations

import re
from dataclasses import dataclass

from negbench.harness.errors import NegbenchError

# canonical name -> ranx metric name
_RANX = {"nDCG": "ndcg", "RR": "mrr", "R": "recall", "P": "precision", "AP": "map",
         "RP": "r_precision"}
_GRADED = {"nDCG"}  # measures that use graded relevance; the rest are binary
# computed by negbench from the ranked lists (not in ranx): RP@k = hits in top k / min(k, #relevant)
_CUSTOM_CUTOFF = {"RP"}
# every measure's per-query score (and so its mean) lies in this closed interval
_RANGE = {name: (0.0, 1.0) for name in _RANX}
_PATTERN = re.compile(r"^(?P<name>[A-Za-z]+)(@(?P<k>[1-9][0-9]{0,8}))?$")  # k >= 1


@dataclass(frozen=True)
class Measure:
    """A retrieval measure: name, optional cutoff; binary measures count rel >= ``min_rel``."""

    name: str
    cutoff: int | None = None

    def __str__(self) -> str:
        return f"{self.name}@{self.cutoff}" if self.cutoff else self.name

    @property
    def range(self) -> tuple[float, float]:
        """The closed interval every per-query score of this measure lies in."""
        return _RANGE[self.name]

    @property
    def custom(self) -> bool:
        """True when negbench computes the measure itself (ranx has no such measure)."""
        return self.name in _CUSTOM_CUTOFF and self.cutoff is not None

    def ranx_name(self, min_rel: int = 1) -> str:
        if self.custom:
            raise NegbenchError(f"{self} is computed by negbench, not ranx")
        base = _RANX[self.name] + (f"@{self.cutoff}" if self.cutoff else "")
        if self.name not in _GRADED and min_rel > 1:
            base += f"-l{min_rel}"
        return base


def parse_measure(text: str) -> Measure:
    """Parse ``nDCG@10``, ``RR@10``, ``R@100``... (case of the name as in ir_measures)."""
    m = _PATTERN.match(text.strip())
    lookup = {k.lower(): k for k in _RANX}
    if not m or m.group("name").lower() not in lookup:
        raise NegbenchError(f"unknown measure {text!r}; known: {', '.join(_RANX)} with @k "
                            "(k a whole number >= 1)")
    k = int(m.group("k")) if m.group("k") else None
    return Measure(lookup[m.group("name").lower()], k)


def parse_measures(texts) -> list[Measure]:
    return [parse_measure(t) for t in texts]
