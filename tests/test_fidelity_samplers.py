"""Issue 12: samplers faithful to their papers, and every sampler trains on the same pairs.

Real SciFact; the tiny random model where ranks matter, all-MiniLM-L6-v2 where scores matter
(its corpus encoding is cached and shared with test_catalogue)."""

from __future__ import annotations

import json
import signal
from contextlib import contextmanager

import numpy as np
import pytest

from negbench.harness.errors import NegbenchError
from negbench.harness.io.negatives import check_negatives
from negbench.harness.retrieval.encoder import CachedEncoder, SentenceTransformerEncoder
from negbench.strategies.base import MiningContext, training_pairs
from negbench.strategies.dense_candidates import dense_candidates
from negbench.strategies.engine import relative_threshold
from negbench.strategies.mixture import check_aligned
from negbench.strategies.registry import available, get_sampler

MAXLEN = 64


@contextmanager
def time_limit(seconds: int):
    """Fail instead of hanging (an infinite mining loop is one of the defects)."""
    def boom(*_):
        raise TimeoutError(f"mining did not finish within {seconds} s")

    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="module")
def bm25(scifact, cache_dir):
    from negbench.harness.retrieval.bm25 import BM25

    return BM25(scifact.corpus, cache_dir)


@pytest.fixture(scope="module")
def tiny_ctx(scifact, tiny_encoder, bm25, cache_dir):
    def make(seed=13):
        return MiningContext(corpus=scifact.corpus, train=scifact.train, exclude=scifact.exclude,
                             seed=seed, max_length=MAXLEN, dense=lambda: tiny_encoder,
                             bm25=lambda: bm25, extra={"cache_dir": cache_dir})

    return make


class Shifted:
    """An encoder whose every query-document score is the inner one's minus ``shift``
    (one extra dimension: 1 on queries, -shift on documents); rankings are unchanged."""

    def __init__(self, inner, shift: float) -> None:
        self.inner, self.shift = inner, shift
        self.fingerprint = f"{inner.fingerprint}-shift{shift}"

    def encode(self, texts, kind, max_length):
        emb = self.inner.encode(texts, kind, max_length)
        col = np.full((emb.shape[0], 1), 1.0 if kind == "query" else -self.shift, emb.dtype)
        return np.hstack([emb, col])


@pytest.fixture(scope="module")
def minilm_ctx(scifact, bm25, cache_dir):
    from negbench.harness.retrieval.models import load_model

    enc = CachedEncoder(SentenceTransformerEncoder(load_model("all-MiniLM-L6-v2"),
                                                   progress=False), cache_dir)

    def make(shift: float = 0.0, seed: int = 13):
        e = Shifted(enc, shift) if shift else enc
        return MiningContext(corpus=scifact.corpus, train=scifact.train, exclude=scifact.exclude,
                             seed=seed, max_length=MAXLEN, dense=lambda: e, bm25=lambda: bm25,
                             extra={"cache_dir": cache_dir})

    return make


def nonpos(ranking, excluded):
    return [d for d, _ in ranking if d not in excluded]


def test_star_every_pair_gets_top200_hard_negatives(tiny_ctx, scifact):
    ctx = tiny_ctx()
    cand = dense_candidates(ctx, 200)
    with time_limit(300):
        rows = get_sampler("star").from_dict({"num_negatives": "2"}).mine(ctx)
    assert [(r.query_id, r.positive_id) for r in rows] == training_pairs(scifact.train)
    for r in rows:
        top = set(nonpos(cand.rankings[r.query_id], scifact.exclude[r.query_id])[:200])
        assert len(r.negative_ids) == 2 and set(r.negative_ids) <= top
    assert get_sampler("star").in_batch_mask and not get_sampler("dense").in_batch_mask
    with pytest.raises(NegbenchError, match=r"mixture.*dense\[range_max=200\]"):
        get_sampler("star").from_dict({"hard_ratio": "1"})


def test_no_sampler_loops_when_the_window_is_smaller_than_num_negatives(tiny_ctx, scifact):
    ctx = tiny_ctx()
    with time_limit(300):
        rows = get_sampler("star").from_dict({"range_max": "2", "num_negatives": "5"}).mine(ctx)
    assert all(len(set(r.negative_ids)) == 5 for r in rows)
    assert ctx.extra["deeper_pairs"] == len(rows) and ctx.extra["fallback_pairs"] == 0
    check_negatives(rows, scifact.corpus, scifact.exclude)


def test_fallback_and_deeper_search_are_counted(tiny_ctx, scifact):
    ctx = tiny_ctx()
    cand = dense_candidates(ctx, 16)
    rows = get_sampler("dense").from_dict({"range_max": "2", "num_negatives": "3",
                                           "sampling": "top"}).mine(ctx)
    assert ctx.extra["deeper_pairs"] == len(rows) == 919 and ctx.extra["fallback_pairs"] == 0
    for r in rows:  # the window doubled once (2 -> 4): the top 3 non-positives
        assert list(r.negative_ids) == nonpos(cand.rankings[r.query_id],
                                              scifact.exclude[r.query_id])[:3]
    ctx = tiny_ctx()
    rows = get_sampler("dense").from_dict({"max_score": "-10", "num_negatives": "2"}).mine(ctx)
    assert ctx.extra["fallback_pairs"] == 919 and ctx.extra["deeper_pairs"] == 0
    assert all(len(set(r.negative_ids)) == 2 for r in rows)
    check_negatives(rows, scifact.corpus, scifact.exclude)
    json.dumps({k: v for k, v in ctx.extra.items() if isinstance(v, int)})


def test_margin_threshold_below_a_negative_positive_score(minilm_ctx, scifact):
    assert relative_threshold(-0.5, 0.05) == pytest.approx(-0.525)
    assert get_sampler("margin")().params.sampling == "top"
    ctx = minilm_ctx(shift=1.0)  # every score minus 1: the positives' scores are negative
    cand = dense_candidates(ctx, 240)  # the deeper search goes to 8 x 30
    low = cand.lowest_positive_scores()
    assert max(low.values()) < 0
    rows = get_sampler("margin")().mine(ctx)
    filled = [r for r in rows if ctx.extra["_pair_fill"].get((r.query_id, r.positive_id))
              != "fallback"]
    assert len(filled) > 800
    gap = 0
    for r in filled:
        scores = dict(cand.rankings[r.query_id])
        pos = low[(r.query_id, r.positive_id)]
        assert all(scores[d] <= pos - abs(pos) * 0.05 for d in r.negative_ids)
        gap += any(pos - abs(pos) * 0.05 < s <= pos * 0.95 for s in scores.values())
    assert gap > 0  # candidates the old pos x (1 - m) threshold would have let through


def test_margin_is_measured_against_the_lowest_positive(minilm_ctx, scifact):
    ctx = minilm_ctx()
    cand = dense_candidates(ctx, 240)  # the deeper search goes to 8 x 30
    low = cand.lowest_positive_scores()
    rows = get_sampler("margin")().mine(ctx)
    between = 0
    for r in rows:
        pair = (r.query_id, r.positive_id)
        if ctx.extra["_pair_fill"].get(pair) == "fallback":
            continue
        scores = dict(cand.rankings[r.query_id])
        assert all(scores[d] <= low[pair] * 0.95 for d in r.negative_ids)
        own = cand.positive_scores[pair]
        between += any(low[pair] * 0.95 < s <= own * 0.95 for s in scores.values())
    assert between > 0  # pairs where the pair's own positive would have allowed more


def _all_sampler_params(scifact, tiny_model_dir, tmp_path) -> dict[str, dict]:
    pairs = training_pairs(scifact.train)
    negs = tmp_path / "negs.jsonl"
    negs.write_text("".join(json.dumps({"query_id": q, "positive_id": p,
                                        "negative_ids": [scifact.corpus.ids[-1]]}) + "\n"
                            for q, p in pairs[:40] if scifact.corpus.ids[-1] not in
                            scifact.exclude[q]))
    parents = tmp_path / "parents.tsv"
    parents.write_text("".join(f"{d}\tclaim-{q}\n" for q, j in scifact.test.qrels.items()
                               for d in j))
    return {"from-file": {"path": str(negs), "allow_partial": "true"},
            "taxonomy": {"parents_file": str(parents)},
            "denoised": {"ce_base": str(tiny_model_dir), "ce_steps": "2", "ce_folds": "2",
                         "range_max": "5"},
            "ar2-lite": {"ce_base": str(tiny_model_dir), "ce_steps": "2", "ce_folds": "2",
                         "range_max": "5"},
            "tas-balanced": {"teacher": "bm25", "range_max": "5"}}


def test_every_builtin_sampler_trains_on_the_same_pairs(tiny_ctx, scifact, tiny_model_dir,
                                                        tmp_path):
    params = _all_sampler_params(scifact, tiny_model_dir, tmp_path)
    pairs = training_pairs(scifact.train)
    names = sorted(available())
    assert {"margin", "denoised", "star", "simans", "mixture", "taxonomy"} <= set(names)
    for name in names:
        ctx = tiny_ctx()
        sampler = get_sampler(name).from_dict(params.get(name, {}))
        with time_limit(600):
            rows = sampler.mine(ctx)
        assert [(r.query_id, r.positive_id) for r in rows] == pairs, name
        k = 1 if sampler.uses_negatives else 0
        assert all(len(r.negative_ids) + len(r.negative_texts) == k for r in rows), name
        assert isinstance(ctx.extra["fallback_pairs"], int), name
        assert isinstance(ctx.extra["deeper_pairs"], int), name
        check_negatives(rows, scifact.corpus, scifact.exclude, name)


def test_mixture_components_take_parameters_and_must_line_up(tiny_ctx):
    dense = get_sampler("dense").from_dict({"range_max": "5", "sampling": "top"}).mine(tiny_ctx())
    mixed = get_sampler("mixture").from_dict(
        {"components": "dense[range_max=5,sampling=top]:1,random:0"}).mine(tiny_ctx())
    assert mixed == dense
    rnd = get_sampler("random")().mine(tiny_ctx())
    check_aligned([dense, rnd], ["dense", "random"])
    with pytest.raises(NegbenchError, match="do not line up"):
        check_aligned([dense, list(reversed(rnd))], ["dense", "random"])
    with pytest.raises(NegbenchError, match="do not line up"):
        check_aligned([dense, rnd[:-1]], ["dense", "random"])
    with pytest.raises(NegbenchError, match="no parameter"):
        get_sampler("mixture").from_dict({"components": "dense[depth=3]:1"}).mine(tiny_ctx())


def test_strategies_listing_names_paper_and_simplification(capsys, monkeypatch):
    from negbench.harness.commands.listing import cmd_strategies

    monkeypatch.setenv("COLUMNS", "10000")  # a wide terminal: one line per sampler
    assert cmd_strategies(None) == 0
    out = capsys.readouterr().out
    assert "paper" in out.splitlines()[0] and "simplified here" in out.splitlines()[0]
    for name, cls in available().items():
        assert cls.paper, name
        line = next(ln for ln in out.splitlines() if ln.startswith(f"| {name} "))
        assert cls.paper in line and (cls.simplified or "-") in line
    assert get_sampler("star").simplified and get_sampler("denoised").simplified
