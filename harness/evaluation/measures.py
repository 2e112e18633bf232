"""Measures as small objects with a canonical string (``nDCG@10``), mapped onto ranx; the
spellings users bring (ir_measures, trec_eval, MTEB) read as the canonical ones."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
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
# a measure name as written elsewhere (lower case) -> negbench's: ir_measures (nDCG@10, RR@10,
# R@100, P@10, AP, Rprec), trec_eval (ndcg_cut_10, recip_rank, recall_100, P_10, map, Rprec),
# MTEB/BEIR (ndcg_at_10, mrr_at_10, recall_at_100, precision_at_10, map_at_10, R_cap@100)
_ALIASES = {"ndcg": "nDCG", "ndcg_cut": "nDCG",
            "rr": "RR", "mrr": "RR", "recip_rank": "RR", "mrr_cut": "RR",
            "r": "R", "recall": "R",
            "p": "P", "precision": "P",
            "ap": "AP", "map": "AP", "map_cut": "AP",
            "rp": "RP", "rprec": "RP", "r_precision": "RP", "r_cap": "RP", "recall_cap": "RP"}
# name, then an optional cutoff k >= 1 after @ (ir_measures), _ (trec_eval), _at_ (MTEB) or .
_PATTERN = re.compile(r"^(?P<name>[a-z][a-z_]*?)(?:(?:@|_at_|_|\.)(?P<k>[1-9][0-9]{0,8}))?$")


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

    def relevance_level(self, min_rel: int = 1) -> int:
        """The grade from which a document counts as relevant: ``min_rel`` for a binary
        measure, 1 for a graded one (its gains weigh the grades)."""
        return 1 if self.name in _GRADED else min_rel

    def ranx_name(self, min_rel: int = 1) -> str:
        if self.custom:
            raise NegbenchError(f"{self} is computed by negbench, not ranx")
        base = _RANX[self.name] + (f"@{self.cutoff}" if self.cutoff else "")
        if self.relevance_level(min_rel) > 1:
            base += f"-l{min_rel}"
        return base


def parse_measure(text: str) -> Measure:
    """Parse a measure as negbench (``nDCG@10``, ``RR@10``, ``R@100``), ir_measures, trec_eval
    (``ndcg_cut_10``, ``recip_rank``, ``recall_100``) or MTEB (``ndcg_at_10``) write it, in any
    case; an unknown name is an error suggesting the closest."""
    m = _PATTERN.match(text.strip().lower())
    if not m or m.group("name") not in _ALIASES:
        raise NegbenchError(_unknown(text))
    return Measure(_ALIASES[m.group("name")], int(m.group("k")) if m.group("k") else None)


def _unknown(text: str) -> str:
    """Why ``text`` names no measure: a bad cutoff, or an unknown name (with the closest)."""
    low = text.strip().lower()
    if "@" in low:
        name, _, k = low.partition("@")
    else:
        name, k = re.fullmatch(r"(.*?)(?:(?:_at_|_|\.)([0-9]+))?", low).groups(default="")
    known = (f" Known: {', '.join(_RANX)}, each with an optional @k, also as ir_measures, "
             "trec_eval or MTEB write them (MRR@10, ndcg_cut_10, recall_100, map, P_10, "
             "ndcg_at_10)")
    if name in _ALIASES:
        return f"unknown measure {text!r}: the cutoff {k!r} is not a whole number >= 1"
    cutoff = f"@{k}" if re.fullmatch(r"[1-9][0-9]{0,8}", k) else ""
    close = difflib.get_close_matches(name, list(_ALIASES), n=3, cutoff=0.6)
    guesses = list(dict.fromkeys(_ALIASES[c] + cutoff for c in close))
    hint = f"; did you mean {' or '.join(guesses)}?" if guesses else "."
    return f"unknown measure {text!r}{hint}{known}"


def parse_measures(texts: Iterable[str]) -> list[Measure]:
    """``parse_measure`` of each; one measure named twice (``MRR@10,RR@10``) is an error."""
    out: dict[Measure, str] = {}
    for t in texts:
        m = parse_measure(t)
        if m in out:
            raise NegbenchError(f"measure {m} named twice ({out[m]!r} and {t!r})")
        out[m] = t
    return list(out)


def canonical(text: str) -> str:
    """The negbench name of a measure written in any accepted spelling (``MRR@10`` -> ``RR@10``)."""
    return str(parse_measure(text))


def select_measures(names: Iterable[str], available: Iterable[str]) -> list[str]:
    """The measures of ``available`` (what the records hold; repeats ignored) that ``names``
    ask for, in any accepted spelling; a measure the records lack is an error suggesting the
    closest, one asked for twice an error too."""
    available = list(dict.fromkeys(available))
    present = {}
    for a in available:
        try:
            present.setdefault(canonical(a), a)
        except NegbenchError:
            present.setdefault(a, a)  # a record's own name negbench no longer parses
    asked: dict[str, str] = {}  # picked -> the spelling that asked for it
    for name in names:
        want = name if name in available else canonical(name)
        picked = name if name in available else present.get(want)
        if picked is None:
            same = [a for c, a in present.items() if c.split("@")[0] == want.split("@")[0]]
            hint = f"; did you mean {' or '.join(same)}?" if same else "."
            spelled = f"measure {name!r}" + (f" ({want})" if name != want else "")
            raise NegbenchError(f"{spelled} is not in the records{hint} They hold "
                                f"{', '.join(available)}")
        if picked in asked:
            raise NegbenchError(f"measure {picked} named twice ({asked[picked]!r} and {name!r})")
        asked[picked] = name
    return list(asked)
