"""Evaluation conventions on real SciFact qrels: missing queries, self-hits, tie order, cutoffs."""

from __future__ import annotations

import numpy as np
import pytest

from negbench.harness.errors import NegbenchError
from negbench.harness.evaluation.conventions import PROFILES
from negbench.harness.evaluation.evaluate import evaluate_run, prepare_run
from negbench.harness.evaluation.measures import parse_measure, parse_measures

M = parse_measures(["nDCG@10", "RR@10", "R@100"])


@pytest.fixture(scope="module")
def bm25_run(scifact, cache_dir):
    from negbench.harness.retrieval.bm25 import BM25

    return BM25(scifact.corpus, cache_dir).search(scifact.test.queries, 100)


def test_canonical_names_round_trip():
    for text in ["nDCG@10", "RR@10", "R@100", "R@1000", "P@5", "AP"]:
        assert str(parse_measure(text)) == text
    assert parse_measure("ndcg@10").ranx_name() == "ndcg@10"
    assert parse_measure("R@1000").ranx_name(min_rel=2) == "recall@1000-l2"
    assert parse_measure("nDCG@10").ranx_name(min_rel=2) == "ndcg@10"  # graded: no threshold
    with pytest.raises(NegbenchError):
        parse_measure("MRR@ten")


def test_missing_query_counts_zero(scifact, bm25_run):
    full = evaluate_run(scifact.test.qrels, bm25_run, M, PROFILES["beir"])
    drop = min(bm25_run)
    partial = {q: h for q, h in bm25_run.items() if q != drop}
    ev = evaluate_run(scifact.test.qrels, partial, M, PROFILES["beir"])
    assert ev.num_queries == full.num_queries == 300 and ev.num_missing == 1
    for m in ("nDCG@10", "RR@10"):
        expected = full.means[m] - full.per_query[m][drop] / 300
        assert ev.means[m] == pytest.approx(expected, abs=1e-12)


def test_self_hit_is_dropped_under_beir_only(scifact, bm25_run):
    q = next(q for q in sorted(bm25_run) if scifact.test.qrels[q])
    rel = next(iter(scifact.test.qrels[q]))
    # put a doc whose id equals the query id at rank 1 and the relevant doc at rank 2
    run = {q: [(q, 100.0), (rel, 99.0)]}
    beir = evaluate_run({q: scifact.test.qrels[q]}, run, M, PROFILES["beir"])
    plain = evaluate_run({q: scifact.test.qrels[q]}, run, M, PROFILES["msmarco"])
    assert beir.per_query["RR@10"][q] == 1.0
    assert plain.per_query["RR@10"][q] == 0.5


def test_ties_are_broken_by_doc_id_whatever_the_input_order(scifact):
    q = min(scifact.test.qrels)
    rel = min(scifact.test.qrels[q])
    others = [d for d in scifact.corpus.ids[:9] if d not in scifact.test.qrels[q]]
    hits = [(d, 1.0) for d in others + [rel]]
    a = evaluate_run(scifact.test.qrels, {q: hits}, M, PROFILES["beir"])
    b = evaluate_run(scifact.test.qrels, {q: list(reversed(hits))}, M, PROFILES["beir"])
    assert a.per_query == b.per_query
    # trec_eval order: equal scores ranked by doc id descending
    expected_rank = sorted(others + [rel], reverse=True).index(rel) + 1
    assert a.per_query["RR@10"][q] == pytest.approx(1 / expected_rank)


def test_run_without_common_queries_is_an_error(scifact):
    with pytest.raises(NegbenchError, match="no queries in common"):
        evaluate_run(scifact.test.qrels, {"not-a-query": [("1", 1.0)]}, M, PROFILES["beir"])


def test_scores_equal_ranx_on_its_own_string_path(scifact, bm25_run):
    """negbench hands ranx numbered docs, query-aligned; the per-query scores equal ranx's own
    Qrels/Run evaluation on the same ranking, also where the qrels' doc ids are shorter than
    the run's (a subset of queries whose ids have at most 8 characters: another numba
    specialisation on ranx's string path)."""
    from ranx import Qrels, Run, evaluate

    assert evaluate_run(scifact.test.qrels, bm25_run, parse_measures(["nDCG@10"]),
                        PROFILES["beir"]).means["nDCG@10"] > 0.6  # one measure alone
    measures = parse_measures(["nDCG@10", "RR@10", "R@100", "P@5", "AP"])
    short = {q: j for q, j in scifact.test.qrels.items() if max(map(len, j)) <= 8}
    assert 20 < len(short) < 300 and max(len(d) for h in bm25_run.values() for d, _ in h) > 8
    for qrels in (scifact.test.qrels, short):
        ev = evaluate_run(qrels, bm25_run, measures, PROFILES["beir"])
        ordered = prepare_run(bm25_run, PROFILES["beir"])  # the same ranking, as strings
        run = {q: {d: float(len(h) - i) for i, (d, _) in enumerate(h)}
               for q, h in ordered.items() if q in qrels}
        names = [m.ranx_name() for m in measures]
        expected = Run(run)
        evaluate(Qrels({q: qrels[q] for q in run}), expected, names, threads=1)
        for m, name in zip(measures, names, strict=True):
            for q in run:
                assert ev.per_query[str(m)][q] == pytest.approx(expected.scores[name][q])


def test_a_score_that_contradicts_the_ranking_is_refused(scifact, bm25_run, monkeypatch):
    """The read-back check: a per-query score above 0 without a relevant document in the top k
    (or 0 with one) stops the evaluation instead of being recorded."""
    import negbench.harness.evaluation.evaluate as ev_module

    real = ev_module._ranx_scores

    def shifted(qrels, ranked, qids, names):  # query i scored with query i+1's qrels
        out = real(qrels, ranked, qids, names)
        return {n: np.roll(v, 1) for n, v in out.items()}

    monkeypatch.setattr(ev_module, "_ranx_scores", shifted)
    with pytest.raises(NegbenchError, match="the evaluation is inconsistent"):
        evaluate_run(scifact.test.qrels, bm25_run, M, PROFILES["beir"])
