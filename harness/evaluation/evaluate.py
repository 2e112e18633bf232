"""Score a run against qrels with ranx under a convention profile (trec_eval semantics)."""

from __future__ import annotations

from dataclasses import dataclass

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
    from ranx import Qrels as RQrels
    from ranx import Run as RRun
    from ranx import evaluate

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
    scored = {q: r for q, r in ranked.items() if r}
    per_query: dict[str, dict[str, float]] = {}
    names = {str(m): m.ranx_name(profile.min_rel) for m in measures if not m.custom}
    if scored and names:
        rr = RRun(scored)
        evaluate(RQrels({q: qrels[q] for q in scored}), rr, list(names.values()), threads=1,
                 save_results_in_run=True)
    for canon, rname in names.items():
        vals = {q: float(v) for q, v in rr.scores[rname].items()} if scored else {}
        per_query[canon] = {q: vals.get(q, 0.0) for q in qids}
    for m in measures:
        if m.custom:
            per_query[str(m)] = {q: r_precision_at_k(qrels[q], list(ranked[q]), m.cutoff,
                                                     profile.min_rel) for q in qids}
    per_query = {str(m): per_query[str(m)] for m in measures}
    means = {m: float(np.mean(list(v.values()))) for m, v in per_query.items()}
    return Evaluation(means, per_query, len(qids), len(missing), profile.name)
