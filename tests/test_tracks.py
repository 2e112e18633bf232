"""Devices, budgets in epochs, the query-side and full tracks, the in-batch mask (real SciFact,
tiny model)."""

from __future__ import annotations

import dataclasses
import io
import json

import numpy as np
import pytest
import torch

from negbench.harness.errors import NegbenchError
from negbench.harness.io.digest import sha256_file
from negbench.harness.pipeline.grid import TrainingSetup, run_grid
from negbench.harness.pipeline.workspace import Workspace
from negbench.harness.retrieval.device import resolve_device, resolve_precision
from negbench.harness.training.budget import get_budget
from negbench.harness.training.losses import MNRL, LossBatch
from negbench.harness.training.masking import in_batch_mask
from negbench.suites.registry import get_suite


def test_cpu_device_resolution():
    assert resolve_device("cpu") == "cpu"
    assert resolve_precision("fp32", "cpu") == "fp32"  # auto: tests/test_precision_cpu.py
    with pytest.raises(NegbenchError, match="expected"):
        resolve_device("tpu")
    with pytest.raises(NegbenchError, match="needs a CUDA device"):
        resolve_precision("fp16", "cpu")  # bf16 on the CPU: tests/test_precision_cpu.py


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only behaviour")
def test_cuda_refused_without_a_gpu():
    assert resolve_device("auto") in ("cpu", "mps")
    with pytest.raises(NegbenchError, match="no CUDA GPU"):
        resolve_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_path_encodes_on_the_gpu(tiny_model_dir, cache_dir):
    from negbench.harness.retrieval.models import load_model

    assert resolve_device("auto") == "cuda"
    assert resolve_precision("auto", "cuda") in ("bf16", "fp16")
    model = load_model(str(tiny_model_dir), device="cuda")
    assert next(model.parameters()).is_cuda


def test_budget_epochs_become_steps_with_a_cap():
    std = get_budget("standard")
    assert std.track == "query-side" and len(std.seeds) == 5
    assert std.num_steps(919) == 10 * (919 // 64)  # SciFact's training pairs
    assert std.num_steps(110_000) == std.max_steps  # capped for very large training sets
    assert get_budget("smoke").num_steps(919) == 3
    with pytest.raises(NegbenchError, match="exactly one of epochs and steps"):
        dataclasses.replace(std, steps=5)


def test_in_batch_mask_removes_other_rows_judged_positives(scifact):
    """A query whose second judged positive is another row's positive: that column is masked
    for it (STAR's rel_pair_mask), its own positive never is, and the loss changes."""
    q = next(q for q, ds in scifact.train.positives().items() if len(ds) >= 2)
    first, second = sorted(scifact.train.positives()[q])[:2]
    other = next(o for o in sorted(scifact.train.positives()) if o != q)
    other_pos = scifact.train.positives()[other][0]
    qids, columns = [q, q, other], [[first, second, other_pos]]
    mask = in_batch_mask(qids, columns, scifact.exclude, "cpu")
    assert mask[0, 1] and mask[1, 0]  # each row of q masks q's other positive
    assert not mask[0, 0] and not mask[1, 1] and not mask[2, 2]
    assert not mask[2].any()  # `other` has no relevant doc among q's positives
    g = torch.Generator().manual_seed(0)
    qv, dv = torch.randn(3, 8, generator=g), torch.randn(3, 8, generator=g)
    assert MNRL()(LossBatch(qv, [dv], mask)) < MNRL()(LossBatch(qv, [dv]))


@pytest.fixture(scope="module")
def query_side_grid(irds_home, data_dir, cache_dir, tiny_model_dir, tmp_path_factory):
    ws = Workspace(get_suite("beir/scifact"), data_dir, tmp_path_factory.mktemp("qs-cache"),
                   str(tiny_model_dir), progress=False)
    budget = dataclasses.replace(get_budget("smoke"), retrieve_k=100, teacher_steps=0)
    out = tmp_path_factory.mktemp("qs-grid")
    texts = ws.data.corpus.texts()
    doc_file = ws.base_encoder.path(texts, "doc", budget.eval_max_length)
    run_grid(ws, [("in-batch", {}), ("random", {})], [13], budget, out, zero_shot=True,
             log=io.StringIO(), setup=TrainingSetup("query-side"))
    return ws, out, doc_file


def test_query_side_encodes_the_corpus_once_and_leaves_documents_alone(query_side_grid):
    ws, out, doc_file = query_side_grid
    # zero-shot row, two runs: one corpus encoding (the base model's), none by a trained model
    assert ws.base_encoder.calls_by_kind["doc"] == 1
    before = np.load(doc_file)
    for name in ("in-batch", "random"):
        rec = json.loads((out / "records" / f"{name}-seed13.json").read_text())
        assert rec["track"] == "query-side" and rec["device"]["device"] == "cpu"
        assert rec["training"]["document_tower_fingerprint"] == ws.base_encoder.fingerprint
        assert rec["training"]["document_vectors_sha256"] == sha256_file(doc_file)
        assert rec["trained_model_fingerprint"] != ws.base_encoder.fingerprint
        assert rec["steps"] == 3 and rec["train_examples"] == 919
        # the zero-shot row encoded the corpus; the runs reused it and say so
        assert rec["base_encodings_computed"]["doc"] == 0
    np.testing.assert_array_equal(before, np.load(doc_file))
    assert ws.base_encoder.calls_by_kind["doc"] == 1


def test_query_side_training_never_writes_the_document_vectors(scifact, tiny_model_dir):
    from negbench.harness.retrieval.models import load_model
    from negbench.harness.training.pairs import training_pairs
    from negbench.harness.training.query_side import train_query_side
    from negbench.strategies.base import MiningContext
    from negbench.strategies.registry import get_sampler

    ctx = MiningContext(corpus=scifact.corpus, train=scifact.train, exclude=scifact.exclude,
                        seed=13, max_length=64, dense=lambda: None, bm25=lambda: None)
    rows = get_sampler("random")().mine(ctx)
    pairs = training_pairs(rows, scifact.corpus, scifact.train, 1, scifact.exclude)
    rng = np.random.default_rng(0)
    docs = rng.standard_normal((len(scifact.corpus), 32)).astype(np.float32)
    frozen = docs.copy()
    model = load_model(str(tiny_model_dir))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    budget = dataclasses.replace(get_budget("smoke"), steps=2)
    steps = train_query_side(model, pairs, docs, {d: i for i, d in enumerate(scifact.corpus.ids)},
                             {}, budget, 13, "cpu", "fp32", mask=True, progress=False)
    assert steps == 2
    np.testing.assert_array_equal(docs, frozen)
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_num_negatives_above_the_budget_is_refused_before_writing(irds_home, tmp_path,
                                                                  tiny_model_dir):
    import os
    import subprocess
    import sys

    out = tmp_path / "out"
    env = dict(os.environ, IR_DATASETS_HOME=str(irds_home), NEGBENCH_CACHE=str(tmp_path / "c"))
    proc = subprocess.run([sys.executable, "-m", "negbench.harness.cli", "run", "--suite",
                           "beir/scifact", "--samplers", "dense", "--param",
                           "dense.num_negatives=3", "--model", str(tiny_model_dir),
                           "--output", str(out)], env=env, capture_output=True, text=True,
                          check=False)
    assert proc.returncode != 0
    assert "num_negatives=3" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()
