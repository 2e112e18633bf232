"""Issue 28: AR2 (retriever and ranker trained in turns) on real SciFact, tiny models."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from negbench.harness.training.budget import get_budget
from negbench.harness.training.losses import LossBatch, get_loss
from negbench.harness.training.pairs import training_pairs as build_pairs
from negbench.strategies.registry import get_sampler

MAXLEN = 64


def test_ar2_kl_equals_a_hand_computation_on_a_2x3_example():
    """Two queries, three candidates each (positive first): KL(ranker || retriever) with the
    retriever's softmax over 20 x cosine, averaged over the two queries."""
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    cands = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]],
                          [[0.0, 1.0], [1.0, 0.0], [-1.0, 1.0]]])
    ranker = torch.tensor([[2.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    batch = LossBatch(q, [q], candidates=cands, candidate_labels=torch.zeros(2, 3, dtype=bool),
                      candidate_teacher=ranker)
    got = float(get_loss("ar2-kl")(batch))
    cos = [[1.0, 0.0, 1 / math.sqrt(2)], [1.0, 0.0, 1 / math.sqrt(2)]]
    want = 0.0
    for row_cos, row_rank in zip(cos, ranker.tolist()):
        zr = sum(math.exp(20 * c) for c in row_cos)
        zt = sum(math.exp(t) for t in row_rank)
        for c, t in zip(row_cos, row_rank):
            pt, pr = math.exp(t) / zt, math.exp(20 * c) / zr
            want += pt * (math.log(pt) - math.log(pr))
    assert got == pytest.approx(want / 2, rel=1e-5)
    with pytest.raises(ValueError, match="ranker"):
        get_loss("ar2-kl")(LossBatch(q, [q], candidates=cands))


@pytest.fixture(scope="module")
def ctx(scifact_ctx):
    return scifact_ctx


def _params(tiny_model_dir) -> dict:
    return {"ce_base": str(tiny_model_dir), "range_max": "5", "refresh_every": "2",
            "ranker_warmup": "2", "ranker_steps": "2", "ranker_batch": "4",
            "ranker_negatives": "3", "ranker_max_length": str(MAXLEN), "ranker_lr": "1e-3"}


def test_ar2_trains_the_ranker_between_refreshes_and_the_retriever_on_the_kl(
        scifact, ctx, tiny_encoder, tiny_model_dir):
    from negbench.harness.retrieval.device import deterministic
    from negbench.harness.retrieval.models import load_model
    from negbench.harness.training.query_side import train_query_side

    sampler = get_sampler("ar2").from_dict(_params(tiny_model_dir))
    pairs = build_pairs(sampler.mine(ctx), scifact.corpus, scifact.train, 1, scifact.exclude)
    budget = dataclasses.replace(get_budget("smoke"), steps=5, learning_rate=1e-3)
    plan = sampler.training_plan(ctx, budget, "query-side")
    seen = []
    loss = get_loss("ar2-kl")
    original = type(loss).__call__

    class Spy(type(loss)):
        def __call__(self, batch):
            seen.append((batch.candidates.shape, batch.candidate_teacher.clone(),
                         batch.candidate_labels[:, 0].all().item()))
            return original(self, batch)

    deterministic(13, "cpu")
    doc_vectors = tiny_encoder.encode(scifact.corpus.texts(), "doc", MAXLEN)
    model = load_model(str(tiny_model_dir))
    before = [p.detach().clone() for p in model.parameters()]
    train_query_side(model, pairs, doc_vectors,
                     {d: i for i, d in enumerate(scifact.corpus.ids)}, {}, budget, 13, "cpu",
                     "fp32", False, progress=False, plan=plan, corpus=scifact.corpus,
                     exclude=scifact.exclude, loss=Spy())
    rounds = plan.facts(pairs, budget.batch_size)["ar2_rounds"]
    assert [r["step"] for r in rounds] == [0, 2, 4]
    assert all(r["ranker_changed"] for r in rounds)  # the ranker trains every round
    assert len({r["ranker_fingerprint"] for r in rounds}) == 3
    assert all(0.0 <= r["ranker_heldout_accuracy"] <= 1.0 for r in rounds)
    assert len(seen) == 5
    assert all(shape[1] == 6 and positive_first for shape, _, positive_first in seen)
    assert not torch.equal(seen[0][1], seen[-1][1])  # re-scored by the trained ranker
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_controlled_ar2_lets_the_ranker_choose_the_negatives(scifact, ctx, tiny_model_dir):
    from negbench.harness.retrieval.models import load_model
    from negbench.harness.training.dynamic import ModelView, TrainStats

    plan = get_sampler("ar2").from_dict(_params(tiny_model_dir)).training_plan(
        ctx, get_budget("smoke"), "query-side")
    plan.use_loss(get_loss("mnrl"))
    view = ModelView(load_model(str(tiny_model_dir)), scifact.corpus, MAXLEN, MAXLEN, "cpu",
                     TrainStats(), fixed_docs=ctx.dense().encode(scifact.corpus.texts(), "doc",
                                                                 MAXLEN))
    new = plan.refresh(view, 2, 5)
    assert len(new) > 0.9 * len(plan.lists)
    assert all(negs[0] in plan.lists[pair][1:] for pair, negs in new.items())
    scores = np.concatenate([plan.scores[p][1:] for p in new])
    assert np.isfinite(scores).all()


def test_the_kl_loss_is_refused_for_a_sampler_without_a_ranker(scifact, tiny_model_dir,
                                                                 data_dir, cache_dir):
    from negbench.harness.errors import NegbenchError
    from negbench.harness.pipeline.grid import TrainingSetup, grid_configs
    from negbench.harness.pipeline.workspace import Workspace
    from negbench.suites.registry import get_suite

    ws = Workspace(get_suite("beir/scifact"), data_dir, cache_dir, str(tiny_model_dir),
                   progress=False)
    with pytest.raises(NegbenchError, match="ranker"):
        grid_configs(ws, [("adore", {})], [13], get_budget("smoke"),
                     TrainingSetup("query-side", loss="ar2-kl"))
