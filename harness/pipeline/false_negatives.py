"""False-negative accounting: how many of a sampler's negatives are probably relevant.

(a) ``judged_share``: share of mined negatives judged relevant (rel >= 1) for that query in any
    split's qrels. The harness excludes every judged positive before mining, so for built-in
    samplers this is 0 by construction; it guards user-supplied and plugin samplers.
(b) ``ce_above_positive_share``: share of mined negatives that a cross-encoder teacher scores
    above the pair's positive: an estimate of unjudged false negatives (over at most
    ``MAX_SCORED_ROWS`` training pairs, the same ones for every sampler). The harness teacher is
    cross-fitted (each pair scored by a teacher that never saw its query), and two checks say
    whether it can tell relevant from irrelevant at all, on the same audited pairs:
    ``teacher_auc`` (positives vs one uniformly random judged-irrelevant doc per pair, pooled
    within each fold) and ``control_rate`` (share of those random docs scored above their
    pair's positive). ``teacher_status`` is ``chance`` when AUC < 0.75 or control > 15 %.
See docs/false_negatives.md for what (b) estimates and what it cannot.
"""

from __future__ import annotations

import hashlib

import numpy as np

from negbench.harness.io.negatives import NegativeRow
from negbench.strategies.engine import pair_rng, random_negatives

MAX_SCORED_ROWS = 2000  # rows the teacher scores; beyond, a fixed hash-ordered subset
AUC_MIN = 0.75  # below: the teacher is at chance, its shares carry no signal
CONTROL_MAX = 0.15  # above: random docs beat the positive too often
CONTROL_SEED = 0  # the control docs do not depend on the run's seed


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


def control_doc(ids: list[str], judged: dict[str, set[str]], query_id: str,
                positive_id: str) -> str:
    """One uniformly random doc not judged relevant to the query, fixed per pair."""
    banned = judged.get(query_id, set()) | {positive_id}
    return random_negatives(ids, banned, [], 1,
                            pair_rng(CONTROL_SEED, query_id, "control|" + positive_id))[0]


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(positive scored above negative), ties counted half (Mann-Whitney)."""
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)


def teacher_quality(rows: list[NegativeRow], judged: dict[str, set[str]], scorer) -> dict:
    """Held-out AUC and random-control rate of the teacher on the audited pairs."""
    pairs = [(r.query_id, r.positive_id) for r in rows]
    ctrl = [(q, control_doc(scorer.corpus.ids, judged, q, p)) for q, p in pairs]
    s = np.array(scorer.score(pairs + ctrl, progress=False))
    s_pos, s_ctrl = s[:len(pairs)], s[len(pairs):]
    folds = np.array([scorer.fold_of(q) for q, _ in pairs])
    aucs, weights = [], []
    for f in sorted(set(folds.tolist())):
        m = folds == f
        aucs.append(auc(s_pos[m], s_ctrl[m]))
        weights.append(int(m.sum()))
    teacher_auc = float(np.average(aucs, weights=weights)) if aucs else None
    control = float(np.mean(s_ctrl > s_pos)) if pairs else None
    at_chance = teacher_auc is None or teacher_auc < AUC_MIN or control > CONTROL_MAX
    return {"teacher_auc": teacher_auc, "control_rate": control,
            "teacher_folds": int(getattr(scorer, "folds", 1)),
            "teacher_status": "chance" if at_chance else "ok"}


def false_negative_report(rows: list[NegativeRow], judged: dict[str, set[str]],
                          scorer=None) -> dict:
    """The record's ``false_negatives`` block (shares are None when there is no negative)."""
    j, n = judged_share(rows, judged)
    report = {"negatives": n, "judged": j, "judged_share": j / n if n else None,
              "ce_above_positive": None, "ce_above_positive_share": None, "teacher": None,
              "teacher_auc": None, "control_rate": None, "teacher_folds": None,
              "teacher_status": None}
    if scorer is not None and n:
        scored = scored_subset(rows)
        above, total = ce_above_positive(scored, scorer)
        report.update(ce_above_positive=above, ce_above_positive_share=above / total,
                      teacher=scorer.description, ce_scored_rows=len(scored))
        report.update(teacher_quality(scored, judged, scorer))
    return report
