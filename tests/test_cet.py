"""Issue 28: CET (pooling-bias correction) on real SciFact with the tiny random model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from negbench.harness.training.budget import get_budget
from negbench.harness.training.pairs import training_pairs as build_pairs
from negbench.strategies.registry import get_sampler

MAXLEN = 64


@pytest.fixture(scope="module")
def ctx(scifact_ctx):
    return scifact_ctx


def test_em_recovers_a_known_selection_and_relevance_model():
    """Simulated pools where o = selected AND relevant: EM finds both models (their slopes)
    from the observed labels alone, and the weights follow (1 - r) / (1 - s r)."""
    from negbench.strategies.cet import PoolItems, _predict, cet_weight, fit_cet

    rng = np.random.default_rng(0)
    n = 20000
    xs = np.c_[rng.normal(size=n), np.zeros(n)]
    cos = rng.normal(size=n)
    s_true = 1 / (1 + np.exp(-(0.5 + 2.0 * xs[:, 0])))
    r_true = 1 / (1 + np.exp(-(-1.0 + 3.0 * cos)))
    o = (rng.random(n) < s_true) & (rng.random(n) < r_true)
    items = PoolItems(["q"] * n, [str(i) for i in range(n)], o.astype(float),
                      np.zeros(n, bool), xs)
    fit = fit_cet(items, cos, iterations=200)
    assert fit["selection"][1] == pytest.approx(2.0, rel=0.35)
    assert fit["relevance"][1] == pytest.approx(3.0, rel=0.35)
    s, r = _predict(fit["selection"], xs), _predict(fit["relevance"], cos[:, None])
    assert np.allclose(fit["weights"], cet_weight(s, r, np.zeros(n, bool)))
    naive = 1 - r_true  # a model that read every unobserved item as a negative would be off
    assert np.corrcoef(fit["weights"][~o], (1 - r_true[~o]) / (1 - s_true[~o] * r_true[~o]))[
        0, 1] > 0.95
    assert not np.allclose(naive, fit["weights"])


def test_an_unjudged_top_pooled_document_weighs_less_than_a_judged_non_relevant_one(ctx):
    """On SciFact's pools: the unjudged candidate that BM25 (the pooling retriever) ranks
    first gets a negative weight below 1; the same document, judged non-relevant, weighs 1."""
    from negbench.strategies.cet import CetParams, CetPlan, cet_weight

    plan = CetPlan(ctx, CetParams())
    items, fit = plan.items, plan.fit
    unobserved = items.observed == 0
    first = np.flatnonzero(unobserved & (items.selection_features[:, 0] == 0.0))  # log(rank 1)
    assert len(first), "no unjudged candidate at BM25 rank 1"
    i = first[np.argmax(fit["r"][first])]
    unjudged = cet_weight(fit["s"][i:i + 1], fit["r"][i:i + 1], np.array([False]))[0]
    judged = cet_weight(fit["s"][i:i + 1], fit["r"][i:i + 1], np.array([True]))[0]
    assert unjudged < judged == 1.0
    assert 0 <= fit["weights"][unobserved].min() < 1.0  # not all 1


def test_cet_trains_with_weights_that_change_between_rounds(scifact, ctx, tiny_encoder,
                                                            tiny_model_dir):
    """Recipe: weighted-mnrl gets each negative's weight; the models are refit at every
    refresh with the model being trained, so the weights change between rounds."""
    from negbench.harness.retrieval.device import deterministic
    from negbench.harness.retrieval.models import load_model
    from negbench.harness.training.losses import get_loss
    from negbench.harness.training.query_side import train_query_side

    sampler = get_sampler("cet").from_dict({"refresh_every": 2})
    pairs = build_pairs(sampler.mine(ctx), scifact.corpus, scifact.train, 1, scifact.exclude)
    mined = list(pairs.doc_ids[1])
    budget = dataclasses.replace(get_budget("smoke"), steps=5, learning_rate=5e-3)
    plan = sampler.training_plan(ctx, budget, "query-side")
    first = dict(plan.weight)
    seen = []
    loss = get_loss("weighted-mnrl")
    original = type(loss).__call__

    class Spy(type(loss)):
        def __call__(self, batch):
            seen.append(batch.weights.clone())
            return original(self, batch)

    deterministic(13, "cpu")
    doc_vectors = tiny_encoder.encode(scifact.corpus.texts(), "doc", MAXLEN)
    train_query_side(load_model(str(tiny_model_dir)), pairs, doc_vectors,
                     {d: i for i, d in enumerate(scifact.corpus.ids)}, {}, budget, 13, "cpu",
                     "fp32", False, progress=False, plan=plan, corpus=scifact.corpus,
                     exclude=scifact.exclude, loss=Spy())
    assert len(plan.rounds) == 3 and [r["step"] for r in plan.rounds] == [0, 2, 4]
    assert len(seen) == 5 and all(w.shape == (budget.batch_size, 1) for w in seen)
    assert any(float(w.min()) < 1.0 for w in seen)
    assert plan.weight != first  # refit with the trained query tower
    assert list(pairs.doc_ids[1]) == mined  # recipe: the weights change, not the negatives
    facts = plan.facts(pairs, budget.batch_size)
    assert [r["step"] for r in facts["cet_rounds"]] == [0, 2, 4]
    assert 0 < facts["cet_rounds"][0]["weights"]["mean"] < 1


def test_controlled_cet_redraws_negatives_by_weight(scifact, ctx, tiny_model_dir):
    """Under a loss without weights each refresh re-draws every pair's negative from its
    window, proportionally to the weights; under weighted-mnrl the negatives stay."""
    from negbench.harness.retrieval.models import load_model
    from negbench.harness.training.dynamic import ModelView, TrainStats
    from negbench.harness.training.losses import get_loss

    sampler = get_sampler("cet")()
    plan = sampler.training_plan(ctx, get_budget("smoke"), "query-side")
    plan.use_loss(get_loss("mnrl"))
    view = ModelView(load_model(str(tiny_model_dir)), scifact.corpus, MAXLEN, MAXLEN, "cpu",
                     TrainStats(), fixed_docs=ctx.dense().encode(scifact.corpus.texts(), "doc",
                                                                 MAXLEN))
    new = plan.refresh(view, 20, 140)
    assert len(new) > 0.9 * len(plan.windows)
    assert all(negs[0] in plan.windows[pair] for pair, negs in new.items())
    plan.use_loss(get_loss("weighted-mnrl"))
    assert plan.refresh(view, 40, 140) is None
    pairs = build_pairs(sampler.mine(ctx), scifact.corpus, scifact.train, 1, scifact.exclude)
    w = plan.negative_weights(pairs, [0, 1, 2])
    assert w.shape == (3, 1) and w.dtype == np.float32 and ((0 <= w) & (w <= 1)).all()
