"""Defining properties of the literature samplers on real SciFact.

The dense-ranking samplers mine with the real all-MiniLM-L6-v2 at max length 64 (a random tiny
model scores every pair ~1.0, which would make margins and SimANS weights meaningless); its
corpus encoding is cached and shared with the end-to-end test."""

from __future__ import annotations

import json

import numpy as np
import pytest

from negbench.harness.errors import NegbenchError
from negbench.harness.io.negatives import check_negatives, write_negatives
from negbench.harness.pipeline.false_negatives import false_negative_report
from negbench.harness.retrieval.cross_encoder import teacher
from negbench.harness.retrieval.encoder import CachedEncoder, SentenceTransformerEncoder
from negbench.strategies.base import MiningContext, training_pairs
from negbench.strategies.dense_candidates import DenseRanker, dense_candidates
from negbench.strategies.registry import available, get_sampler

MAXLEN = 64


@pytest.fixture(scope="module")
def ctx_factory(scifact, cache_dir):
    from negbench.harness.retrieval.bm25 import BM25
    from negbench.harness.retrieval.models import load_model

    enc = CachedEncoder(SentenceTransformerEncoder(load_model("all-MiniLM-L6-v2"),
                                                   progress=False), cache_dir)
    bm25 = BM25(scifact.corpus, cache_dir)

    def make(seed=13, **extra):
        return MiningContext(corpus=scifact.corpus, train=scifact.train,
                             exclude=scifact.exclude, seed=seed, max_length=MAXLEN,
                             dense=lambda: enc, bm25=lambda: bm25,
                             extra={"cache_dir": cache_dir, **extra})

    return make


@pytest.fixture(scope="module")
def candidates(ctx_factory):
    return dense_candidates(ctx_factory(), 240)  # margin's deeper search: 8 x 30


def nonpos_ranked(cand, q, exclude):
    return [(d, s) for d, s in cand.rankings[q] if d not in exclude[q]]


def test_catalogue_is_registered():
    assert {"random", "bm25", "dense", "star", "semi-hard", "simans", "margin", "denoised",
            "from-file", "taxonomy", "mixture", "in-batch"} <= set(available())


@pytest.mark.parametrize("name", ["star", "semi-hard", "simans", "margin", "mixture"])
def test_no_positive_and_seeded(ctx_factory, scifact, name, tmp_path):
    sampler = get_sampler(name)()
    rows = sampler.mine(ctx_factory(13))
    assert [(r.query_id, r.positive_id) for r in rows] == training_pairs(scifact.train)
    check_negatives(rows, scifact.corpus, scifact.exclude)
    a = write_negatives(rows, tmp_path / "a")
    b = write_negatives(sampler.mine(ctx_factory(13)), tmp_path / "b")
    c = write_negatives(sampler.mine(ctx_factory(99)), tmp_path / "c")
    assert a == b and a != c


def test_semi_hard_stays_in_its_window(ctx_factory, candidates, scifact):
    rows = get_sampler("semi-hard").from_dict({"num_negatives": "4"}).mine(ctx_factory())
    for r in rows:
        ranked = [d for d, _ in nonpos_ranked(candidates, r.query_id, scifact.exclude)]
        assert len(r.negative_ids) == 4
        assert all(10 <= ranked.index(d) < 100 for d in r.negative_ids)


def test_simans_concentrates_near_the_positive_score(ctx_factory, candidates, scifact):
    rows = get_sampler("simans").from_dict({"num_negatives": "3"}).mine(ctx_factory())
    gaps_simans, gaps_uniform = [], []
    for r in rows:
        hits = dict(nonpos_ranked(candidates, r.query_id, scifact.exclude)[:100])
        pos = candidates.positive_scores[(r.query_id, r.positive_id)]
        gaps_simans += [abs(hits[d] - pos) for d in r.negative_ids]
        gaps_uniform += [abs(s - pos) for s in hits.values()]
    # the sampled negatives sit much closer to the positive's score than the pool on average
    assert np.mean(gaps_simans) < 0.7 * np.mean(gaps_uniform)


def test_margin_drops_candidates_close_to_the_positive(ctx_factory, candidates, scifact):
    ctx = ctx_factory()
    rows = get_sampler("margin").from_dict({"relative_margin": "0.05"}).mine(ctx)
    dense_rows = get_sampler("dense").from_dict({"sampling": "top"}).mine(ctx_factory())
    low = candidates.lowest_positive_scores()
    dropped = 0
    for r, plain in zip(rows, dense_rows):
        if ctx.extra["_pair_fill"].get((r.query_id, r.positive_id)) == "fallback":
            continue
        hits = dict(nonpos_ranked(candidates, r.query_id, scifact.exclude))
        pos = low[(r.query_id, r.positive_id)]
        assert all(hits[d] <= pos * 0.95 for d in r.negative_ids)
        dropped += any(hits[d] > pos * 0.95 for d in plain.negative_ids)
    assert dropped > 0  # the filter really had something to remove on this data


@pytest.mark.parametrize("ratio, low, high", [(1.0, 1.0, 1.0), (0.5, 0.35, 0.75), (0.0, 0.0, 0.1)])
def test_old_star_coin_flip_is_a_mixture(ctx_factory, candidates, scifact, ratio, low, high):
    spec = f"dense[range_max=200]:{ratio},random:{1 - ratio}"
    rows = get_sampler("mixture").from_dict({"components": spec}).mine(ctx_factory())
    in_top = [d in {h for h, _ in nonpos_ranked(candidates, r.query_id, scifact.exclude)[:200]}
              for r in rows for d in r.negative_ids]
    assert low <= np.mean(in_top) <= high


def test_mixture_takes_each_row_from_one_component(ctx_factory):
    bm25 = get_sampler("bm25")().mine(ctx_factory())
    rnd = get_sampler("random")().mine(ctx_factory())
    only = get_sampler("mixture").from_dict({"components": "bm25:1,random:0"}).mine(ctx_factory())
    assert only == bm25
    mixed = get_sampler("mixture").from_dict({"components": "bm25:1,random:1"}).mine(ctx_factory())
    from_bm25 = [m == b for m, b in zip(mixed, bm25)]
    assert all(m in (b, r) for m, b, r in zip(mixed, bm25, rnd))
    assert 0.35 < np.mean(from_bm25) < 0.65
    with pytest.raises(NegbenchError, match="NAME:WEIGHT"):
        get_sampler("mixture").from_dict({"components": "bm25"}).mine(ctx_factory())


def test_from_file_reads_ids_and_generated_texts(ctx_factory, scifact, tmp_path):
    pairs = training_pairs(scifact.train)[:5]
    other = scifact.corpus.ids[-1]
    path = tmp_path / "negs.jsonl"
    lines = [{"query_id": q, "positive_id": p, "negative_ids": [other],
              "negative_texts": [f"generated text about {q}"]} for q, p in pairs]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    ctx = ctx_factory()
    rows = get_sampler("from-file").from_dict({"path": str(path),
                                              "allow_partial": "true"}).mine(ctx)
    given = {(r.query_id, r.positive_id): r for r in rows if r.negative_texts}
    assert set(given) == set(pairs)
    assert all(r.negative_texts == (f"generated text about {r.query_id}",)
               and r.negative_ids == (other,) for r in given.values())
    assert len(rows) == 919 and ctx.extra["fallback_pairs"] == 919 - 5  # filled at random
    path.write_text(path.read_text() + '{"query_id": "1"}\n')
    with pytest.raises(NegbenchError, match=r"negs.jsonl:6: .*needs query_id and positive_id"):
        get_sampler("from-file").from_dict({"path": str(path)}).mine(ctx)


def test_taxonomy_negatives_share_a_parent(ctx_factory, scifact, tmp_path):
    # a parent map over real SciFact docs: the docs each *test* claim cites form a group
    parents = tmp_path / "parents.tsv"
    lines = ["doc_id\tparent_id"] + [f"{d}\tclaim-{q}" for q, j in scifact.test.qrels.items()
                                     for d in j]
    parents.write_text("\n".join(lines) + "\n")
    ctx = ctx_factory()
    rows = get_sampler("taxonomy").from_dict({"parents_file": str(parents)}).mine(ctx)
    groups: dict[str, set[str]] = {}
    for q, j in scifact.test.qrels.items():
        for d in j:
            groups.setdefault(d, set()).add(f"claim-{q}")
    fill = ctx.extra["_pair_fill"]
    with_sibling = [r for r in rows if (r.query_id, r.positive_id) not in fill]
    assert with_sibling  # some train positives are cited together with other docs
    assert ctx.extra["fallback_pairs"] == len(rows) - len(with_sibling) > 0
    for r in with_sibling:
        assert groups[r.positive_id] & groups[r.negative_ids[0]]
    assert all(len(r.negative_ids) == 1 for r in rows)
    with pytest.raises(NegbenchError, match="fallback_random"):
        get_sampler("taxonomy").from_dict({"parents_file": str(parents),
                                           "fallback_random": "false"}).mine(ctx)
    check_negatives(rows, scifact.corpus, scifact.exclude)


def test_denoised_keeps_only_negatives_below_the_teacher_positive(ctx_factory, scifact,
                                                                 tiny_model_dir, cache_dir):
    sampler = get_sampler("denoised").from_dict({
        "ce_steps": "3", "range_max": "5", "sampling": "top", "ce_base": str(tiny_model_dir),
        "ce_folds": "2"})
    ctx = ctx_factory()
    rows = sampler.mine(ctx)
    assert ctx.extra["filter_teacher"] == "harness"
    scorer = teacher(sampler.teacher_spec(), scifact.corpus, scifact.train, scifact.exclude,
                     ctx.bm25(), cache_dir, progress=False,
                     dense=DenseRanker(ctx.dense(), scifact.corpus, MAXLEN))
    kept = [r for r in rows if ctx.extra["_pair_fill"].get((r.query_id, r.positive_id))
            != "fallback"]
    pairs = [(r.query_id, d) for r in rows for d in (r.positive_id, *r.negative_ids)]
    s = dict(zip(pairs, scorer.score(pairs, progress=False)))
    for r in kept:
        assert all(s[(r.query_id, d)] <= s[(r.query_id, r.positive_id)] for d in r.negative_ids)
    report = false_negative_report(kept, scifact.exclude, scorer)
    assert report["judged_share"] == 0.0 and report["ce_above_positive_share"] == 0.0
    tctx = ctx_factory()
    rows = get_sampler("denoised").from_dict({
        "ce_steps": "3", "range_max": "5", "ce_base": str(tiny_model_dir), "ce_folds": "2",
        "mode": "threshold", "threshold": "0.5"}).mine(tctx)
    kept = [(r.query_id, d) for r in rows for d in r.negative_ids
            if tctx.extra["_pair_fill"].get((r.query_id, r.positive_id)) != "fallback"]
    assert len(rows) == 919 and kept
    assert all(scorer.probability(x) <= 0.5 for x in scorer.score(kept, progress=False))


def test_false_negative_report_counts_judged_negatives(scifact):
    from negbench.strategies.base import NegativeRow

    q, p = training_pairs(scifact.train)[0]
    judged = {q: {p, "X"}}
    rows = [NegativeRow(q, p, ("X", "Y"))]
    rep = false_negative_report(rows, judged)
    assert rep["negatives"] == 2 and rep["judged"] == 1 and rep["judged_share"] == 0.5


def test_teacher_scores_the_same_bounded_subset_for_every_sampler(scifact):
    from negbench.harness.pipeline.false_negatives import scored_subset
    from negbench.strategies.base import NegativeRow

    pairs = training_pairs(scifact.train)
    a = [NegativeRow(q, p, ("x",)) for q, p in pairs]
    b = [NegativeRow(q, p, ("y", "z")) for q, p in reversed(pairs)]
    sa, sb = scored_subset(a, limit=100), scored_subset(b, limit=100)
    assert len(sa) == 100
    assert [(r.query_id, r.positive_id) for r in sa] == [(r.query_id, r.positive_id) for r in sb]
    assert scored_subset(a, limit=len(a)) == a
