"""Property-based tests: loaders round-trip what writers produce; metrics obey trec_eval
invariants (tie order, unjudged docs below the cutoff, missing queries)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from negbench.harness.data.beir_folder import load_beir_folder
from negbench.harness.evaluation.conventions import get_profile
from negbench.harness.evaluation.evaluate import evaluate_run
from negbench.harness.evaluation.measures import parse_measures
from negbench.harness.io.trec_files import read_trec_qrels, read_trec_run, sort_hits, write_trec_run
from negbench.harness.retrieval.dense_search import search_run
from negbench.strategies.engine import pair_windows

SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
ids = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=8)
texts = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30).filter(
    lambda t: t.strip() == t and t)
MEASURES = parse_measures(["nDCG@10", "RR@10", "R@100"])


@st.composite
def beir_data(draw):
    doc_ids = draw(st.lists(ids, min_size=1, max_size=8, unique=True))
    docs = {d: (draw(st.text(max_size=10)), draw(texts)) for d in doc_ids}
    qids = draw(st.lists(ids, min_size=1, max_size=5, unique=True))
    queries = {q: draw(texts) for q in qids}
    qrels = {q: draw(st.dictionaries(st.sampled_from(doc_ids), st.integers(0, 3), min_size=1))
             for q in qids}
    return docs, queries, qrels


@SETTINGS
@given(beir_data(), st.booleans())
def test_beir_folder_round_trip(data, crlf):
    docs, queries, qrels = data
    eol = "\r\n" if crlf else "\n"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "qrels").mkdir()
        with open(root / "corpus.jsonl", "w", encoding="utf-8", newline="") as fh:
            fh.writelines(json.dumps({"_id": d, "title": title, "text": body},
                                    ensure_ascii=False) + eol for d, (title, body) in docs.items())
        with open(root / "queries.jsonl", "w", encoding="utf-8", newline="") as fh:
            fh.writelines(json.dumps({"_id": q, "text": text}, ensure_ascii=False) + eol for q, text in queries.items())
        with open(root / "qrels" / "test.tsv", "w", encoding="utf-8", newline="") as fh:
            fh.write("query-id\tcorpus-id\tscore" + eol)
            for q, judged in qrels.items():
                fh.writelines(f"{q}\t{d}\t{r}{eol}" for d, r in judged.items())
        corpus, split = load_beir_folder(root, "test")
    assert {d: (doc.title, doc.body) for d, doc in corpus.docs.items()} == docs
    assert split.queries == queries
    assert split.qrels == qrels


runs = st.dictionaries(ids, st.dictionaries(ids, st.floats(-1e3, 1e3, allow_nan=False),
                                            min_size=1, max_size=10), min_size=1, max_size=5)


@SETTINGS
@given(runs)
def test_trec_run_round_trip(run):
    """write -> read gives the run in trec_eval order, scores at the 6 written decimals."""
    hits = {q: sort_hits(list(h.items())) for q, h in run.items()}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.trec"
        write_trec_run(hits, path, "tag")
        back = read_trec_run(path)
    expected = {q: sort_hits([(d, float(f"{s:.6f}")) for d, s in h.items()])
                for q, h in run.items()}
    assert back == expected


@SETTINGS
@given(st.dictionaries(ids, st.dictionaries(ids, st.integers(-1, 4), min_size=1), min_size=1),
       st.sampled_from(["0", "Q0"]))
def test_trec_qrels_round_trip(qrels, iteration):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "q.txt"
        path.write_text("".join(f"{q} {iteration} {d} {r}\n" for q, j in qrels.items()
                                for d, r in j.items()))
        assert read_trec_qrels(path) == qrels


@st.composite
def qrels_and_run(draw):
    docs = [f"d{i}" for i in range(draw(st.integers(3, 25)))]
    qids = [f"q{i}" for i in range(draw(st.integers(1, 6)))]
    qrels = {q: draw(st.dictionaries(st.sampled_from(docs), st.integers(0, 3), min_size=1))
             for q in qids}
    if not any(r >= 1 for j in qrels.values() for r in j.values()):
        qrels[qids[0]][docs[0]] = 1
    scores = st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0])  # few values: many ties
    run = {q: [(d, draw(scores)) for d in draw(st.lists(st.sampled_from(docs), min_size=1,
                                                        unique=True))] for q in qids}
    return qrels, run


def _eval(qrels, run):
    return evaluate_run(qrels, run, MEASURES, get_profile("beir"))


@SETTINGS
@given(qrels_and_run(), st.randoms())
def test_permuting_tied_documents_changes_nothing(data, rnd):
    qrels, run = data
    shuffled = {q: rnd.sample(hits, len(hits)) for q, hits in run.items()}
    a, b = _eval(qrels, run), _eval(qrels, shuffled)
    assert a.per_query == b.per_query and a.means == b.means


@SETTINGS
@given(qrels_and_run(), st.integers(1, 20))
def test_unjudged_docs_below_rank_k_do_not_change_ndcg_at_k(data, extra):
    qrels, run = data
    base = _eval(qrels, run)
    longer = {}
    for q, hits in run.items():
        ranked = sort_hits(hits)
        top = ranked[:10]  # keep the top 10, push everything else below unjudged fillers
        low = min(s for _, s in top) - 1.0
        fill = [(f"unjudged{i}", low - i) for i in range(extra)]
        longer[q] = top + fill + [(d, low - extra - 1 - i) for i, (d, _) in
                                  enumerate(ranked[10:])]
    after = _eval(qrels, longer)
    assert after.per_query["nDCG@10"] == base.per_query["nDCG@10"]
    assert after.per_query["RR@10"] == base.per_query["RR@10"]


@SETTINGS
@given(qrels_and_run(), st.data())
def test_missing_queries_count_as_zero(data, draw):
    qrels, run = data
    judged = sorted(q for q, j in qrels.items() if any(r >= 1 for r in j.values()))
    keep = draw.draw(st.sets(st.sampled_from(judged), min_size=1))
    ev = _eval(qrels, {q: h for q, h in run.items() if q in keep})
    full = _eval(qrels, run)
    assert ev.num_queries == len(judged) and ev.num_missing == len(judged) - len(keep)
    for m in ev.means:
        for q in judged:
            assert ev.per_query[m][q] == (full.per_query[m][q] if q in keep else 0.0)
        assert abs(ev.means[m] - sum(ev.per_query[m].values()) / len(judged)) < 1e-12


def _two_sorts(hits):
    """The reference tie order, written independently: id descending, then a stable sort by
    score descending."""
    return sorted(sorted(hits, key=lambda h: h[0], reverse=True), key=lambda h: -h[1])


@SETTINGS
@given(st.lists(st.tuples(ids, st.integers(-3, 3).map(float)), max_size=40,
                unique_by=lambda h: h[0]))
def test_sort_hits_is_score_then_id_descending(hits):
    assert sort_hits(hits) == _two_sorts(hits)


@SETTINGS
@given(st.lists(ids, min_size=1, max_size=30, unique=True), st.integers(1, 5), st.data())
def test_search_run_matches_sorting_every_score(doc_ids, n_queries, draw):
    """Exact search in trec_eval order, ties (integer vectors: many equal scores) included."""
    import numpy as np

    vec = st.lists(st.integers(-2, 2), min_size=4, max_size=4)
    docs = np.array(draw.draw(st.lists(vec, min_size=len(doc_ids), max_size=len(doc_ids))),
                    dtype=np.float32)
    queries = np.array(draw.draw(st.lists(vec, min_size=n_queries, max_size=n_queries)),
                       dtype=np.float32)
    qids = [f"q{i}" for i in range(n_queries)]
    run = search_run(qids, queries, doc_ids, docs, len(doc_ids))
    for i, q in enumerate(qids):
        expected = _two_sorts([(d, float(queries[i] @ docs[j])) for j, d in enumerate(doc_ids)])
        assert run[q] == expected


@SETTINGS
@given(st.lists(ids, min_size=1, max_size=25, unique=True), st.integers(1, 12), st.data())
def test_pair_windows_equal_one_window_per_pair(doc_ids, width, draw):
    """Shared per-query windows give what banning each pair's positive separately gives."""
    qids = draw.draw(st.lists(st.sampled_from(["q1", "q2", "q3"]), min_size=1, unique=True))
    rankings = {q: [(d, -float(r)) for r, d in enumerate(draw.draw(st.permutations(doc_ids)))]
                for q in qids}
    exclude = {q: set(draw.draw(st.lists(st.sampled_from(doc_ids), max_size=5))) for q in qids}
    pairs = draw.draw(st.lists(st.tuples(st.sampled_from(qids + ["q-unranked"]),
                                         st.sampled_from(doc_ids)), min_size=1, unique=True))
    got = pair_windows(rankings, pairs, exclude, width)
    for q, pos in pairs:
        banned = exclude.get(q, set()) | {pos}
        assert got[(q, pos)] == [h for h in rankings.get(q, []) if h[0] not in banned][:width]
