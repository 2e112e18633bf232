"""Score a run against qrels with ranx under a convention profile (trec_eval semantics)."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice

import numpy as np

from negbench.harness.data.collection import Qrels
from negbench.harness.errors import NegbenchError
from negbench.harness.evaluation.conventions import Profile
from negbench.harness.evaluation.measures import Measure
from negbench.harness.io.trec_files import Hits, sort_hits


@dataclass
class Evaluation:
    """Mean and per-query scores keyed by canonical measure name."""

    means: dict[str, float]
    per_query: dict[str, dict[str, float]]
    num_queries: int
    num_missing: int
    profile: str


def prepare_run(run: dict[str, Hits], profile: Profile) -> dict[str, Hits]:
    """Apply the profile (drop self-hits) and the trec_eval tie order."""
    out = {}
    for qid, hits in run.items():
        if profile.drop_self:
            hits = [h for h in hits if h[0] != qid]
        out[qid] = sort_hits(hits)
    return out


def _ranx_scores(qrels: Qrels, ranked: dict[str, dict[str, float]], qids: list[str],
                 names: list[str]) -> dict[str, np.ndarray]:
    """ranx's measures per query of ``qids``, in that order. negbench hands ranx its numeric
    form (per query a (doc, score) array; docs numbered here, the run best first, the qrels
    by grade), so query i of the qrels is query i of the run by construction and no string
    reaches ranx's numba code (doc ids hashed per string width, dicts sorted there). Through
    that path a long-lived grid worker once recorded nDCG@10 0.094 for a run file that
    scores 0.734; the cause was not reproduced, ``_check_hits`` guards what remains."""
    from numba.typed import List
    from ranx import evaluate

    codes: dict[str, int] = {}

    def table(pairs) -> np.ndarray:
        a = np.array([(codes.setdefault(d, len(codes)), s) for d, s in pairs],
                     dtype=np.float64).reshape(-1, 2)
        return a[np.argsort(-a[:, 1], kind="stable")]

    judged, runs = List(), List()
    for q in qids:
        judged.append(table(qrels[q].items()))
        runs.append(table(ranked[q].items()))
    # ranx returns one metric's scores under its bare name ("ndcg"), or fails; two entries
    # (the same metric twice) keep the dict keyed by the full names
    return evaluate(judged, runs, names if len(names) > 1 else names * 2, return_mean=False,
                    threads=1)


def _check_hits(qrels: Qrels, ranked: dict[str, dict[str, float]],
                per_query: dict[str, dict[str, float]], measures: list[Measure],
                min_rel: int) -> None:
    """Read-back check of every ranx score: a query scores above 0 exactly when a relevant
    document is in its top k (k = the cutoff, else the whole run); else the evaluation is
    refused rather than recorded."""
    relevant: dict[int, dict[str, set[str]]] = {}  # level -> query -> relevant docs
    for m in measures:
        if m.name not in ("nDCG", "RR", "R", "P", "AP"):  # RP: top R, not top k
            continue
        level = m.relevance_level(min_rel)
        if level not in relevant:
            relevant[level] = {q: {d for d, r in qrels[q].items() if r >= level}
                               for q in per_query[str(m)]}
        for q, score in per_query[str(m)].items():
            hit = any(d in relevant[level][q] for d in islice(ranked[q], m.cutoff))
            if hit != (score > 0):
                raise NegbenchError(f"{m} of query {q!r} is {score:g} but its top "
                                    f"{m.cutoff or 'run'} {'holds' if hit else 'lacks'} a "
                                    "relevant document: the evaluation is inconsistent, "
                                    "nothing recorded")


def r_precision_at_k(judged: dict[str, int], ranked: list[str], k: int, min_rel: int = 1) -> float:
    """RP@k (Decorte et al. 2023): relevant docs in the top ``k`` / min(k, #relevant)."""
    relevant = {d for d, r in judged.items() if r >= min_rel}
    if not relevant:
        return 0.0
    return sum(d in relevant for d in ranked[:k]) / min(k, len(relevant))


def evaluate_run(qrels: Qrels, run: dict[str, Hits], measures: list[Measure],
                 profile: Profile) -> Evaluation:
    """Mean over qrels queries with at least one relevant doc; queries absent from the run
    score 0. Rank order is fixed here (score desc, doc id desc), so ranx sees no ties."""
    qids = sorted(q for q, j in qrels.items() if any(r >= 1 for r in j.values()))
    if not qids:
        raise NegbenchError("qrels contain no query with a relevant document")
    run = prepare_run(run, profile)
    if not set(qids) & {q for q, h in run.items() if h}:
        raise NegbenchError("the run has no queries in common with the qrels")
    # ranks become strictly decreasing scores so ranx's sort cannot reorder ties
    ranked = {}
    for q in qids:
        hits = run.get(q, [])
        ranked[q] = {d: float(len(hits) - i) for i, (d, _) in enumerate(hits)}
    missing = [q for q in qids if not ranked[q]]
    scored = [q for q in qids if ranked[q]]
    per_query: dict[str, dict[str, float]] = {}
    names = {str(m): m.ranx_name(profile.min_rel) for m in measures if not m.custom}
    if scored and names:
        scores = _ranx_scores(qrels, ranked, scored, list(names.values()))
    for canon, rname in names.items():
        vals = dict(zip(scored, map(float, scores[rname]), strict=True)) if scored else {}
        per_query[canon] = {q: vals.get(q, 0.0) for q in qids}
    _check_hits(qrels, ranked, per_query, [m for m in measures if str(m) in names],
                profile.min_rel)
    for m in measures:
        if m.custom:
            per_query[str(m)] = {q: r_precision_at_k(qrels[q], list(ranked[q]), m.cutoff,
                                                     profile.min_rel) for q in qids}
    per_query = {str(m): per_query[str(m)] for m in measures}
    means = {m: float(np.mean(list(v.values()))) for m, v in per_query.items()}
    return Evaluation(means, per_query, len(qids), len(missing), profile.name)
