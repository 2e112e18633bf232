"""Defining properties of the built-in samplers on real SciFact (tiny random model for speed)."""

from __future__ import annotations

import pytest

from negbench.harness.io.negatives import check_negatives, write_negatives
from negbench.harness.retrieval.dense_search import search_run
from negbench.strategies.base import MiningContext, training_pairs
from negbench.strategies.registry import get_sampler

MAXLEN = 64


@pytest.fixture(scope="module")
def bm25(scifact, cache_dir):
    from negbench.harness.retrieval.bm25 import BM25

    return BM25(scifact.corpus, cache_dir)


def make_ctx(scifact, tiny_encoder, bm25, seed=13):
    return MiningContext(corpus=scifact.corpus, train=scifact.train, exclude=scifact.exclude,
                         seed=seed, max_length=MAXLEN, dense=lambda: tiny_encoder,
                         bm25=lambda: bm25)


@pytest.mark.parametrize("name", ["random", "bm25", "dense"])
def test_never_a_judged_positive_and_one_row_per_pair(scifact, tiny_encoder, bm25, name):
    rows = get_sampler(name)().mine(make_ctx(scifact, tiny_encoder, bm25))
    assert [(r.query_id, r.positive_id) for r in rows] == training_pairs(scifact.train)
    check_negatives(rows, scifact.corpus, scifact.exclude)  # raises on a positive/unknown id
    for r in rows:
        assert r.negative_ids and not set(r.negative_ids) & scifact.exclude[r.query_id]


@pytest.mark.parametrize("name", ["random", "bm25", "dense"])
def test_same_seed_same_file_other_seed_other_file(scifact, tiny_encoder, bm25, name, tmp_path):
    sampler = get_sampler(name)()
    a = write_negatives(sampler.mine(make_ctx(scifact, tiny_encoder, bm25, 13)), tmp_path / "a")
    b = write_negatives(sampler.mine(make_ctx(scifact, tiny_encoder, bm25, 13)), tmp_path / "b")
    c = write_negatives(sampler.mine(make_ctx(scifact, tiny_encoder, bm25, 14)), tmp_path / "c")
    assert a == b
    assert a != c  # default sampling is random within the window


def _nonpositive_ranks(ranking, excluded):
    ranks, r = {}, 0
    for d, _ in ranking:
        if d in excluded:
            continue
        ranks[d] = r
        r += 1
    return ranks


def test_dense_rank_window_is_respected(scifact, tiny_encoder, bm25):
    sampler = get_sampler("dense").from_dict({"range_min": "5", "range_max": "12",
                                              "num_negatives": "3"})
    rows = sampler.mine(make_ctx(scifact, tiny_encoder, bm25))
    qids = sorted({r.query_id for r in rows})
    doc_emb = tiny_encoder.encode(scifact.corpus.texts(), "doc", MAXLEN)
    q_emb = tiny_encoder.encode([scifact.train.queries[q] for q in qids], "query", MAXLEN)
    rankings = search_run(qids, q_emb, scifact.corpus.ids, doc_emb, 100)
    for r in rows:
        ranks = _nonpositive_ranks(rankings[r.query_id], scifact.exclude[r.query_id])
        assert len(r.negative_ids) == 3
        assert all(5 <= ranks[d] < 12 for d in r.negative_ids)


def test_bm25_top_sampling_takes_the_first_nonpositive(scifact, tiny_encoder, bm25):
    rows = get_sampler("bm25").from_dict({"sampling": "top"}).mine(
        make_ctx(scifact, tiny_encoder, bm25))
    queries = {r.query_id: scifact.train.queries[r.query_id] for r in rows[:50]}
    rankings = bm25.search(queries, 20)
    for r in rows[:50]:
        first = next(d for d, _ in rankings[r.query_id] if d not in scifact.exclude[r.query_id])
        assert r.negative_ids == (first,)


def test_in_batch_has_no_negatives(scifact, tiny_encoder, bm25):
    rows = get_sampler("in-batch")().mine(make_ctx(scifact, tiny_encoder, bm25))
    assert len(rows) == 919 and all(r.negative_ids == () for r in rows)
