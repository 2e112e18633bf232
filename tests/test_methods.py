"""Issue 27: a method is negatives + loss + schedule, compared as published (``recipe``) and
with only the negatives differing (``controlled``). Real SciFact, the tiny random model."""

from __future__ import annotations

import dataclasses
import io
import json

import numpy as np
import pytest
import torch

from negbench.harness.errors import NegbenchError
from negbench.harness.pipeline.grid import TrainingSetup, grid_configs, run_grid
from negbench.harness.pipeline.runner import RunConfig
from negbench.harness.pipeline.workspace import Workspace
from negbench.harness.training.budget import get_budget
from negbench.harness.training.losses import LossBatch
from negbench.harness.training.pairs import training_pairs as build_pairs
from negbench.strategies.registry import get_sampler
from negbench.suites.registry import get_suite

MAXLEN = 64


@pytest.fixture(scope="module")
def doc_vectors(scifact, tiny_encoder):
    return tiny_encoder.encode(scifact.corpus.texts(), "doc", MAXLEN)


@pytest.fixture(scope="module")
def ctx(scifact_ctx):
    return scifact_ctx


def _retrieval(scifact, doc_vectors, pairs, depth, as_candidates):
    from negbench.harness.training.query_side import StepRetrieval

    doc_row = {d: i for i, d in enumerate(scifact.corpus.ids)}
    return StepRetrieval(torch.from_numpy(doc_vectors), doc_row, pairs, scifact.exclude, depth,
                         13, as_candidates), doc_row


def test_step_retrieval_ranks_the_batch_queries_against_the_fixed_index(
        scifact, ctx, doc_vectors):
    """ADORE's list for each batch query is its exact top-k by the given query vectors over
    the document vectors, labelled by the qrels; under a shared loss each row's negative is
    drawn from that query's top-k non-relevant documents."""
    from negbench.harness.training.dynamic import TrainStats

    rows = get_sampler("dense")().mine(ctx)
    pairs = build_pairs(rows, scifact.corpus, scifact.train, 1, scifact.exclude)
    batch_rows = list(range(0, 80, 10))
    g = torch.Generator().manual_seed(0)
    q = torch.randn(len(batch_rows), doc_vectors.shape[1], generator=g)
    dn = doc_vectors / np.linalg.norm(doc_vectors, axis=1, keepdims=True)
    qn = (q / q.norm(dim=1, keepdim=True)).numpy()
    order = np.argsort(-(qn @ dn.T), axis=1, kind="stable")

    retrieval, doc_row = _retrieval(scifact, doc_vectors, pairs, 20, True)
    batch = LossBatch(q, [torch.zeros(len(batch_rows), 4)])
    stats = TrainStats()
    retrieval(batch_rows, q, batch, [[pairs.doc_ids[0][r] for r in batch_rows]], stats)
    assert stats.step_retrievals == 1
    want = torch.from_numpy(dn[order[:, :20]]).float()
    assert torch.allclose(batch.candidates, want, atol=1e-5)
    labels = [[scifact.corpus.ids[j] in scifact.exclude.get(pairs.query_ids[r], ())
               for j in order[i, :20]] for i, r in enumerate(batch_rows)]
    assert batch.candidate_labels.tolist() == labels

    retrieval, _ = _retrieval(scifact, doc_vectors, pairs, 20, False)
    ids = [[pairs.doc_ids[c][r] for r in batch_rows] for c in range(2)]
    batch = LossBatch(q, [torch.zeros(len(batch_rows), 4), torch.zeros(len(batch_rows), 4)])
    retrieval(batch_rows, q, batch, ids, stats)
    for i, r in enumerate(batch_rows):
        rel = scifact.exclude.get(pairs.query_ids[r], set())
        window = [scifact.corpus.ids[j] for j in order[i] if scifact.corpus.ids[j] not in rel]
        assert ids[1][i] in window[:20]
        assert torch.allclose(batch.docs[1][i], torch.from_numpy(dn[doc_row[ids[1][i]]]),
                              atol=1e-5)


def test_adore_retrieves_at_every_step_and_trains_the_lambda_loss(
        scifact, ctx, doc_vectors, tiny_model_dir):
    """As published, ADORE retrieves for the batch's queries at every optimizer step (one
    retrieval per step), and its loss moves the query tower."""
    from negbench.harness.retrieval.device import deterministic
    from negbench.harness.retrieval.models import load_model
    from negbench.harness.training.losses import get_loss
    from negbench.harness.training.query_side import train_query_side

    sampler = get_sampler("adore")()
    pairs = build_pairs(sampler.mine(ctx), scifact.corpus, scifact.train, 1, scifact.exclude)
    mined = list(pairs.doc_ids[1])
    budget = dataclasses.replace(get_budget("smoke"), steps=5, learning_rate=1e-3)
    plan = sampler.training_plan(ctx, budget, "query-side")
    deterministic(13, "cpu")
    model = load_model(str(tiny_model_dir))
    before = [p.detach().clone() for p in model.parameters()]
    train_query_side(model, pairs, doc_vectors, {d: i for i, d in enumerate(scifact.corpus.ids)},
                     {}, budget, 13, "cpu", "fp32", False, progress=False, plan=plan,
                     corpus=scifact.corpus, exclude=scifact.exclude,
                     loss=get_loss("lambda-pairwise"))
    assert plan.stats.step_retrievals == plan.stats.optimizer_steps == 5
    assert plan.stats.refreshes == 0
    assert list(pairs.doc_ids[1]) == mined  # the list goes to the loss, not into the pairs
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_tas_balanced_bins_each_querys_margins_over_its_own_range():
    """A query whose margins all lie in one global bin still fills several bins."""
    from negbench.strategies.tas_balanced import margin_bins, query_margin_bins

    wide = list(np.linspace(0.0, 10.0, 30))
    narrow = list(np.linspace(5.0, 5.4, 30))  # inside one of ten global bins of [0, 10]
    queries = ["wide"] * 30 + ["narrow"] * 30
    global_bins, _ = margin_bins(wide + narrow, 10)
    assert len(set(global_bins[30:].tolist())) == 1
    per_query = query_margin_bins(queries, wide + narrow, 10)
    assert len(set(per_query[30:].tolist())) == 10
    assert per_query[:30].tolist() == margin_bins(wide, 10)[0].tolist()


def test_tas_balanced_bins_are_per_query_on_scifact(scifact, ctx):
    """Real SciFact, BM25 as the teacher (TAS-B's candidates: BM25 top 30): some query's
    margins all fall into one bin of the global range, yet fill several of its own bins."""
    from negbench.strategies.engine import pair_windows
    from negbench.strategies.tas_balanced import margin_bins, query_margin_bins

    pairs = sorted((q, p) for q, ps in scifact.train.positives().items() for p in ps)
    qids = sorted({q for q, _ in pairs})
    hits = ctx.bm25().search({q: scifact.train.queries[q] for q in qids}, 1000)
    score = {q: dict(h) for q, h in hits.items()}
    windows = pair_windows(hits, pairs, scifact.exclude, 30, ids=True)
    flat = [(q, score[q].get(p, 0.0) - score[q].get(d, 0.0)) for (q, p), w in windows.items()
            for d in w]
    queries, margins = [q for q, _ in flat], [m for _, m in flat]
    global_bins, _ = margin_bins(margins, 10)
    own = query_margin_bins(queries, margins, 10)
    narrow = [q for q in qids if len({int(b) for x, b in zip(queries, global_bins) if x == q})
              == 1]
    assert narrow, "no query within one global bin"
    for q in narrow[:20]:
        assert len({int(b) for x, b in zip(queries, own) if x == q}) > 1, q


def test_every_method_declares_a_recipe_and_the_listing_shows_it(capsys, monkeypatch):
    from negbench.harness import cli

    monkeypatch.setenv("COLUMNS", "10000")  # a wide terminal: one line per sampler
    assert cli.main(["strategies"]) == 0
    out = capsys.readouterr().out
    for name, loss in [("adore", "lambda-pairwise"), ("star", "pairwise"), ("ance", "nll"),
                       ("tas-balanced", "margin-mse"), ("ngame", "triplet")]:
        line = next(ln for ln in out.splitlines()[::-1] if ln.startswith(f"| {name} "))
        assert loss in line, line
    assert cli.main(["strategies", "--losses"]) == 0
    assert "lambda-pairwise" in capsys.readouterr().out


@pytest.fixture(scope="module")
def ws(scifact, tiny_model_dir, data_dir, cache_dir):
    return Workspace(get_suite("beir/scifact"), data_dir, cache_dir, str(tiny_model_dir),
                     progress=False)


def test_methods_their_track_or_plan_cannot_train_are_refused_before_anything_runs(ws):
    smoke = get_budget("smoke")
    with pytest.raises(NegbenchError, match="ance.*needs the full track.*controlled"):
        grid_configs(ws, [("ance", {})], [13], smoke, TrainingSetup("query-side"))
    grid_configs(ws, [("ance", {})], [13], smoke, TrainingSetup("query-side", mode="controlled"))
    with pytest.raises(NegbenchError, match="needs candidates"):
        grid_configs(ws, [("dense", {})], [13], smoke,
                     TrainingSetup("query-side", loss="lambda-pairwise"))
    with pytest.raises(NegbenchError, match="mines no negatives"):
        grid_configs(ws, [("in-batch", {})], [13], smoke, TrainingSetup(loss="nll"))
    with pytest.raises(NegbenchError, match="adore has no refresh_every|at every step"):
        get_sampler("adore").from_dict({"refresh_every": "20"})


def test_mnrl_runs_keep_their_config_hashes():
    """A recipe-mode MNRL run hashes as every run did before losses and modes: the committed
    SciFact records stay current."""
    from pathlib import Path

    path = (Path(__file__).resolve().parents[1] / "results" / "runs" / "scifact-query-side" /
            "records" / "dense-seed13.json")
    rec = json.loads(path.read_text())
    budget = dataclasses.replace(get_budget("standard"), track="query-side")
    cfg = RunConfig(rec["suite"], "dense", rec["config"]["params"], 13, budget,
                    rec["config"]["model"])
    assert cfg.config_hash() == rec["config_hash"]
    controlled = dataclasses.replace(cfg, mode="controlled", label="x")
    assert controlled.config_hash() == cfg.config_hash()  # one function in either mode
    assert dataclasses.replace(cfg, loss="pairwise", loss_params={"scale": 20.0}
                               ).config_hash() != cfg.config_hash()


def _grid(ws, names, mode, out):
    budget = dataclasses.replace(get_budget("smoke"), retrieve_k=100, teacher_steps=0)
    table = run_grid(ws, [(n, {}) for n in names], [13], budget, out, zero_shot=False,
                     log=io.StringIO(), setup=TrainingSetup("query-side", mode=mode))
    recs = {p.stem.rsplit("-seed", 1)[0]: json.loads(p.read_text())
            for p in (out / "records").glob("*.json")}
    return table, recs


def test_recipe_and_controlled_grids_from_their_records(ws, tmp_path, capsys):
    """Recipe: each method trains with its own loss and mask. Controlled: every sampler with
    the same loss and mask, and ADORE's window-matched control is added as its own row. The
    decomposition reads both folders."""
    names = ["dense", "star", "adore"]
    _, recipe = _grid(ws, names, "recipe", tmp_path / "recipe")
    assert {n: (r["method"]["loss"], r["in_batch_mask"]) for n, r in recipe.items()} == {
        "dense": ("mnrl", False), "star": ("pairwise", True),
        "adore": ("lambda-pairwise", False)}
    assert recipe["adore"]["training"]["step_retrievals"] == recipe["adore"]["steps"] == 3
    assert all(r["method"]["mode"] == "recipe" for r in recipe.values())

    table, controlled = _grid(ws, names, "controlled", tmp_path / "controlled")
    assert set(controlled) == {*names, "dense[range_max=200]"}
    assert {(r["method"]["loss"], json.dumps(r["method"]["loss_params"]), r["in_batch_mask"])
            for r in controlled.values()} == {("mnrl", '{"scale": 20.0}', False)}
    control = controlled["dense[range_max=200]"]
    assert control["sampler"]["name"] == "dense" and control["label"] == "dense[range_max=200]"
    assert control["sampler"]["params"]["range_max"] == \
        controlled["adore"]["training"]["retrieve_depth"] == 200  # the same window
    assert "dense[range_max=200]" in table
    assert controlled["dense"]["config_hash"] == recipe["dense"]["config_hash"]

    from negbench.harness import cli

    assert cli.main(["decompose", str(tmp_path / "recipe"), str(tmp_path / "controlled")]) == 0
    out = capsys.readouterr().out
    for part in ("| adore | total |", "| adore | negatives |", "| adore | window |",
                 "| adore | dynamic |", "| adore | loss + schedule |", "| star | total |"):
        assert part in out, out
    assert cli.main(["decompose", str(tmp_path / "controlled"), str(tmp_path / "recipe")]) != 0
