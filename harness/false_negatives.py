"""False-negative accounting: how many of a sampler's negatives are probably relevant.

(a) ``judged_share``: share of mined negatives judged relevant (rel >= 1) for that query in any
    split's qrels. The harness excludes every judged positive before mining, so for built-in
    samplers this is 0 by construction; it guards user-supplied and plugin samplers.
(b) ``ce_above_positive_share``: share of mined negatives that a cross-encoder teacher scores
    above the query's positive: an estimate of unjudged false negatives (over at most
    ``MAX_SCORED_ROWS`` training pairs, the same ones for every sampler).
"""

from __future__ import annotations

import hashlib

from negbench.strategies.base import NegativeRow

MAX_SCORED_ROWS = 2000  # rows the teacher scores; beyond, a fixed hash-ordered subset


def judged_share(rows: list[NegativeRow], judged: dict[str, set[str]]) -> tuple[int, int]:
    """(number of negatives judged relevant, number of negatives)."""
    hits = total = 0
    for r in rows:
        for d in r.negative_ids:
            total += 1
            hits += d in judged.get(r.query_id, ())
    return hits, total


def ce_above_positive(rows: list[NegativeRow], scorer) -> tuple[int, int]:
    """(negatives the teacher scores above their pair's positive, negatives scored)."""
    pairs = sorted({(r.query_id, d) for r in rows for d in (r.positive_id, *r.negative_ids)})
    scores = dict(zip(pairs, scorer.score(pairs, progress=False)))
    above = total = 0
    for r in rows:
        for d in r.negative_ids:
            total += 1
            above += scores[(r.query_id, d)] > scores[(r.query_id, r.positive_id)]
    return above, total


def scored_subset(rows: list[NegativeRow], limit: int = MAX_SCORED_ROWS) -> list[NegativeRow]:
    """All rows, or the ``limit`` rows first in sha256(query|positive) order: the same training
    pairs for every sampler and seed, so their shares are comparable."""
    if len(rows) <= limit:
        return rows

    def key(r: NegativeRow) -> str:
        return hashlib.sha256(f"{r.query_id}|{r.positive_id}".encode()).hexdigest()

    return sorted(rows, key=key)[:limit]


def false_negative_report(rows: list[NegativeRow], judged: dict[str, set[str]],
                          scorer=None) -> dict:
    """The record's ``false_negatives`` block (shares are None when there is no negative)."""
    j, n = judged_share(rows, judged)
    report = {"negatives": n, "judged": j, "judged_share": j / n if n else None,
              "ce_above_positive": None, "ce_above_positive_share": None, "teacher": None}
    if scorer is not None and n:
        scored = scored_subset(rows)
        above, total = ce_above_positive(scored, scorer)
        report.update(ce_above_positive=above, ce_above_positive_share=above / total,
                      teacher=scorer.description, ce_scored_rows=len(scored))
    return report
