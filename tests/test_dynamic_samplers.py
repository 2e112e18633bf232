"""Issue 15: dynamic negatives and batch composition (ance, adore, adore+star, tas-balanced,
ngame, curriculum, ar2-lite) on both tracks: real SciFact, the tiny random model, smoke budget."""

from __future__ import annotations

import dataclasses
import io
import json
import math

import numpy as np
import pytest

from negbench.harness.errors import NegbenchError
from negbench.harness.pipeline.grid import TrainingSetup, grid_configs, run_grid
from negbench.harness.pipeline.workspace import Workspace
from negbench.harness.training.batching import duplicate_free_batches, mean_pairwise_similarity
from negbench.harness.training.budget import get_budget
from negbench.harness.training.dynamic import ModelView, TrainStats
from negbench.harness.training.pairs import training_pairs as build_pairs
from negbench.strategies.base import MiningContext
from negbench.strategies.registry import get_sampler
from negbench.suites.registry import get_suite

MAXLEN = 64
DYNAMIC = ("ance", "adore", "adore+star", "tas-balanced", "ngame", "curriculum", "ar2-lite")


@pytest.fixture(scope="module")
def bm25(scifact, cache_dir):
    from negbench.harness.retrieval.bm25 import BM25

    return BM25(scifact.corpus, cache_dir)


@pytest.fixture(scope="module")
def ctx_for(scifact, tiny_encoder, bm25, cache_dir):
    def make(seed: int = 13) -> MiningContext:
        return MiningContext(corpus=scifact.corpus, train=scifact.train, exclude=scifact.exclude,
                             seed=seed, max_length=MAXLEN, dense=lambda: tiny_encoder,
                             bm25=lambda: bm25, extra={"cache_dir": cache_dir})

    return make


@pytest.fixture(scope="module")
def doc_vectors(scifact, tiny_encoder):
    return tiny_encoder.encode(scifact.corpus.texts(), "doc", MAXLEN)


def _ce(tiny_model_dir) -> dict:
    """A tiny cross-encoder ranker for ar2-lite (2 steps, 2 folds)."""
    return {"ce_base": str(tiny_model_dir), "ce_steps": "2", "ce_folds": "2"}


def _params(tiny_model_dir, refresh_every: int) -> dict[str, dict]:
    r = str(refresh_every)
    return {"ance": {"refresh_every": r},
            "tas-balanced": {"candidates": "bm25", "teacher": "bm25"},
            "ngame": {"refresh_every": r}, "curriculum": {"refresh_every": r},
            "ar2-lite": {"refresh_every": r, "range_max": "5", **_ce(tiny_model_dir)}}


def _train(scifact, tiny_model_dir, doc_vectors, sampler, ctx, rows, lr: float, steps: int):
    """Train the query tower for ``steps`` with ``sampler``'s plan; returns (pairs, plan)."""
    from negbench.harness.retrieval.device import deterministic
    from negbench.harness.retrieval.models import load_model
    from negbench.harness.training.query_side import train_query_side

    pairs = build_pairs(rows, scifact.corpus, scifact.train, 1, scifact.exclude)
    budget = dataclasses.replace(get_budget("smoke"), steps=steps, learning_rate=lr)
    plan = sampler.training_plan(ctx, budget, "query-side")
    deterministic(13, "cpu")  # as the train stage does: dropout masks repeat
    train_query_side(load_model(str(tiny_model_dir)), pairs, doc_vectors,
                     {d: i for i, d in enumerate(scifact.corpus.ids)}, {}, budget, 13, "cpu",
                     "fp32", False, progress=False, plan=plan, corpus=scifact.corpus,
                     exclude=scifact.exclude)
    return pairs, plan


def _negatives(pairs) -> list:
    return list(pairs.doc_ids[1])


def test_refresh_changes_negatives_after_the_model_changed_and_not_before(
        scifact, tiny_model_dir, ctx_for, doc_vectors):
    """ance (query-side, synchronous) refreshes at step 2 of 4: with lr 0 the query tower is
    unchanged and so are the negatives; with lr 1e-3 it has moved and the refresh re-mines
    other negatives. A refresh with the untouched model reproduces the mined negatives."""
    from negbench.harness.retrieval.models import load_model

    sampler = get_sampler("ance").from_dict({"refresh_every": "2", "lag": "0",
                                             "range_max": "30"})
    ctx = ctx_for()
    rows = sampler.mine(ctx)
    mined = [r.negative_ids[0] for r in sorted(rows, key=lambda r: (r.query_id, r.positive_id))]

    plan = sampler.training_plan(ctx, get_budget("smoke"), "query-side")
    view = ModelView(load_model(str(tiny_model_dir)), scifact.corpus, MAXLEN, MAXLEN, "cpu",
                     plan.stats, fixed_docs=doc_vectors)
    again = plan.refresh(view, 0, 4)
    assert [again[(r.query_id, r.positive_id)][0] for r in sorted(
        rows, key=lambda r: (r.query_id, r.positive_id))] == mined

    still, plan0 = _train(scifact, tiny_model_dir, doc_vectors, sampler, ctx, rows, 0.0, 4)
    assert plan0.stats.refreshes == 1 and plan0.stats.refresh_changed_rows == 0
    assert _negatives(still) == mined

    moved, plan1 = _train(scifact, tiny_model_dir, doc_vectors, sampler, ctx, rows, 1e-3, 4)
    assert plan1.stats.refreshes == 1 and plan1.stats.refresh_changed_rows > 0
    changed = sum(a != b for a, b in zip(_negatives(moved), mined))
    assert changed == plan1.stats.refresh_changed_rows
    assert plan1.stats.refresh_reencoded_queries == len(scifact.train.positives())
    assert plan1.stats.refresh_reencoded_docs == 0  # query-side: documents are fixed
    assert plan1.stats.optimizer_steps == 4 and plan1.stats.pairs_seen == 4 * 8
    again, _ = _train(scifact, tiny_model_dir, doc_vectors, sampler, ctx, rows, 1e-3, 4)
    assert _negatives(again) == _negatives(moved)  # refreshes repeat (CPU, same seed)


def test_ance_lag_puts_refreshed_negatives_to_use_one_refresh_later(
        scifact, tiny_model_dir, ctx_for, doc_vectors):
    from negbench.harness.retrieval.models import load_model

    sampler = get_sampler("ance").from_dict({"lag": "1", "range_max": "30"})
    plan = sampler.training_plan(ctx_for(), get_budget("smoke"), "query-side")
    view = ModelView(load_model(str(tiny_model_dir)), scifact.corpus, MAXLEN, MAXLEN, "cpu",
                     TrainStats(), fixed_docs=doc_vectors)
    assert plan.refresh(view, 20, 100) is None  # the index being built is not ready yet
    assert plan.refresh(view, 40, 100) == plan.queue[0]


def _row_vectors(scifact, tiny_encoder, pairs) -> np.ndarray:
    qids = sorted(set(pairs.query_ids))
    emb = tiny_encoder.encode([scifact.train.queries[q] for q in qids], "query", MAXLEN)
    at = {q: i for i, q in enumerate(qids)}
    return emb[[at[q] for q in pairs.query_ids]]


@pytest.mark.parametrize("name", ["tas-balanced", "ngame"])
def test_cluster_batches_are_more_homogeneous_than_random(name, scifact, tiny_encoder, ctx_for):
    """Mean pairwise query similarity within a batch: higher with TAS-B's topic clusters and
    NGAME's clusters of close queries than in duplicate-free random batches."""
    ctx = ctx_for()
    rows = get_sampler("in-batch")().mine(ctx)
    pairs = build_pairs(rows, scifact.corpus, scifact.train, 0, scifact.exclude)
    budget = dataclasses.replace(get_budget("smoke"), batch_size=16)
    plan = get_sampler(name)().training_plan(ctx, budget, "query-side")
    vec = _row_vectors(scifact, tiny_encoder, pairs)
    clustered = list(plan.batches(pairs, 16, np.random.default_rng(0)))
    assert all(len(b) == 16 for b in clustered)
    assert len(clustered) >= 0.9 * (len(pairs) // 16)
    randoms = [list(duplicate_free_batches(pairs, 16, np.random.default_rng(seed)))
               for seed in range(5)]
    homo = mean_pairwise_similarity(vec, clustered)
    base = [mean_pairwise_similarity(vec, b) for b in randoms]
    assert homo - np.mean(base) > 10 * (max(base) - min(base)), (homo, base)
    # the tiny random model's vectors share one dominant direction: centred, the gap is plain
    centred = vec - vec.mean(0)
    centred /= np.linalg.norm(centred, axis=1, keepdims=True)
    assert mean_pairwise_similarity(centred, clustered) > 0.1 > max(
        mean_pairwise_similarity(centred, b) for b in randoms)


def test_ngame_reclusters_with_the_model_being_trained(scifact, tiny_model_dir, ctx_for,
                                                       doc_vectors):
    import torch

    from negbench.harness.retrieval.models import load_model

    plan = get_sampler("ngame")().training_plan(ctx_for(), get_budget("smoke"), "query-side")
    before = dict(plan.composer.query_labels)
    model = load_model(str(tiny_model_dir))
    with torch.no_grad():  # a different model: perturbed weights
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    plan.refresh(ModelView(model, scifact.corpus, MAXLEN, MAXLEN, "cpu", plan.stats,
                           fixed_docs=doc_vectors), 20, 100)
    assert plan.composer.version == 1 and plan.composer.query_labels != before
    assert plan.stats.refresh_reencoded_queries == len(before)


@pytest.mark.parametrize("binning", ["query", "global"])
def test_tas_balanced_spreads_margins_over_the_bins(scifact, ctx_for, binning):
    """Chosen negatives cover the teacher-margin bins (each query's own, or the global ones)
    more evenly (higher entropy of the bin indices) than the candidates they were drawn
    from."""
    from negbench.strategies.tas_balanced import margin_bins, query_margin_bins

    ctx = ctx_for()
    sampler = get_sampler("tas-balanced").from_dict({"candidates": "bm25", "teacher": "bm25",
                                                     "binning": binning})
    rows = sampler.mine(ctx)
    qids = sorted({r.query_id for r in rows})
    hits = ctx.bm25().search({q: scifact.train.queries[q] for q in qids}, 1000)
    score = {q: dict(h) for q, h in hits.items()}
    cands = ctx.bm25().search({q: scifact.train.queries[q] for q in qids}, 30 + 10)
    window = [(r.query_id, r.positive_id, d) for r in rows
              for d in [d for d, _ in cands[r.query_id]
                        if d not in scifact.exclude[r.query_id]][:30]]
    chosen = {(r.query_id, r.positive_id, r.negative_ids[0]) for r in rows}
    margins = [score[q].get(p, 0.0) - score[q].get(d, 0.0) for q, p, d in window]
    bins = (query_margin_bins([q for q, _, _ in window], margins, 10) if binning == "query"
            else margin_bins(margins, 10)[0])
    chosen_bins = [b for t, b in zip(window, bins) if t in chosen]
    assert len(chosen_bins) == len(rows)

    def entropy(b):
        h = np.bincount(b, minlength=10) + 1e-9
        h = h / h.sum()
        return float(-(h * np.log(h)).sum())

    assert entropy(chosen_bins) > entropy(bins), (entropy(chosen_bins), entropy(bins))
    assert ctx.extra["teacher_heldout_pair_accuracy"] == pytest.approx(
        np.mean([m > 0 for m in margins]), abs=1e-4)


def test_curriculum_window_moves_from_random_towards_the_top(scifact, ctx_for):
    from negbench.strategies.curriculum import window_depth

    sampler = get_sampler("curriculum")()
    p = sampler.params
    depths = [window_depth(p, t, len(scifact.corpus)) for t in (0, 0.25, 0.5, 0.75, 1.0)]
    assert depths[0] == len(scifact.corpus) and depths[-1] == p.end_depth
    assert depths == sorted(depths, reverse=True)
    ctx = ctx_for()
    first = sampler.mine(ctx)
    plan = sampler.training_plan(ctx, get_budget("smoke"), "query-side")
    last = plan.refresh(None, 100, 100)
    top = {q: {d for d, _ in hits[:p.end_depth + 10]} for q, hits in plan.rankings.items()}

    def in_top(pairs_negs):
        return np.mean([n[0] in top[q] for (q, _), n in pairs_negs])

    assert in_top(((r.query_id, r.positive_id), r.negative_ids) for r in first) < 0.1
    assert in_top(last.items()) == 1.0


def test_adore_refuses_the_full_track(scifact, tiny_model_dir, data_dir, cache_dir):
    ws = Workspace(get_suite("beir/scifact"), data_dir, cache_dir, str(tiny_model_dir),
                   progress=False)
    for name in ("adore", "adore+star"):
        with pytest.raises(NegbenchError, match="fixed document index.*query-side"):
            grid_configs(ws, [(name, {})], [13], get_budget("smoke"), TrainingSetup("full"))
    assert get_sampler("ance").tracks == ("query-side", "full")


def _grid(track, names, params, data_dir, cache_dir, tiny_model_dir, out, mode="recipe"):
    ws = Workspace(get_suite("beir/scifact"), data_dir, cache_dir, str(tiny_model_dir),
                   progress=False)
    budget = dataclasses.replace(get_budget("smoke"), retrieve_k=100, teacher_steps=0)
    table = run_grid(ws, [(n, params.get(n, {})) for n in names], [13], budget, out,
                     zero_shot=False, log=io.StringIO(),
                     setup=TrainingSetup(track, mode=mode))
    recs = {n: json.loads((out / "records" / f"{n}-seed13.json").read_text()) for n in names}
    return ws, table, recs


def _check_same_steps_and_pairs(recs: dict) -> None:
    """Every sampler: the budget's 3 steps, 3 x 8 training pairs seen, 919 pairs."""
    for name, rec in recs.items():
        t = rec["training"]
        assert (rec["steps"], t["optimizer_steps"], t["pairs_seen"], rec["train_examples"]) \
            == (3, 3, 24, 919), name


def test_query_side_track_runs_every_dynamic_sampler_with_the_same_steps_and_pairs(
        irds_home, data_dir, cache_dir, tiny_model_dir, tmp_path):
    names = ["in-batch", "dense", *DYNAMIC]
    # controlled mode: ance runs on the query-side track (its recipe needs the full track)
    ws, table, recs = _grid("query-side", names, _params(tiny_model_dir, 1), data_dir,
                            cache_dir, tiny_model_dir, tmp_path / "qs", mode="controlled")
    _check_same_steps_and_pairs(recs)
    queries = len(ws.data.train.positives())
    for name in ("ance", "ngame"):  # refreshes after steps 1 and 2, not after 3
        t = recs[name]["training"]
        assert t["refreshes"] == 2 and t["refresh_reencoded_queries"] == 2 * queries, name
        assert t["refresh_reencoded_docs"] == 0 and t["refresh_s"] > 0, name
    assert recs["adore"]["training"]["step_retrievals"] == 3  # every step
    assert recs["adore+star"]["training"]["step_retrievals"] == 1  # STAR stage: steps 1-2
    assert all(r["in_batch_mask"] is False and r["method"]["loss"] == "mnrl"
               for r in recs.values())  # controlled: one loss, one mask
    assert recs["curriculum"]["training"]["refresh_reencoded_queries"] == 0
    assert recs["ar2-lite"]["training"]["refresh_ranker_pairs"] > 0
    assert recs["tas-balanced"]["training"]["batching"].startswith("topic clusters")
    assert recs["dense"]["training"]["refreshes"] == 0
    assert recs["dense"]["training"]["batching"] == "duplicate-free random"
    assert "refreshes" in table and "re-encoded" in table and "refresh s" in table


def test_full_track_runs_the_dynamic_samplers_at_smoke_budget(
        irds_home, data_dir, cache_dir, tiny_model_dir, tmp_path):
    names = ["dense", "ance", "tas-balanced", "ngame", "curriculum", "ar2-lite"]
    ws, _table, recs = _grid("full", names, _params(tiny_model_dir, 2), data_dir, cache_dir,
                            tiny_model_dir, tmp_path / "full")
    _check_same_steps_and_pairs(recs)
    docs = len(ws.data.corpus)
    for name in ("ance", "ar2-lite"):  # one refresh (after step 2): the corpus re-encoded
        t = recs[name]["training"]
        assert t["refreshes"] == 1 and t["refresh_reencoded_docs"] == docs, name
    assert recs["ngame"]["training"]["refresh_reencoded_docs"] == 0  # queries only
    assert recs["dense"]["training"]["refreshes"] == 0
    assert all(r["track"] == "full" for r in recs.values())
    assert not math.isnan(recs["ance"]["metrics"]["nDCG@10"])


def test_kmeans_without_faiss_groups_separated_points():
    """The numpy k-means used where faiss is missing (the GPU sandbox) finds separated
    clusters: points drawn around distinct centres share labels with their own centre's."""
    from negbench.harness.training.batching import _numpy_kmeans

    rng = np.random.default_rng(0)
    centres = 10 * rng.normal(size=(4, 8))
    x = np.vstack([c + 0.01 * rng.normal(size=(30, 8)) for c in centres]).astype(np.float32)
    labels = _numpy_kmeans(x, 4, seed=3, niter=20)
    groups = [set(labels[i * 30:(i + 1) * 30].tolist()) for i in range(4)]
    assert all(len(g) == 1 for g in groups)
