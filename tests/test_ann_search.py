"""Approximate mining search (``--search ivf``) and exact search over fp16 storage: recall of the
IVF defaults against exact on the clustered synthetic corpus of ``benchmarks/ann_mining.py``
(50k vectors), shapes, exact scores, fp16 input, the option's parsing, config hash and record;
real faiss throughout."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from negbench.harness.errors import NegbenchError
from negbench.harness.retrieval import dense_search
from negbench.harness.retrieval.ann_search import (
    IvfParams,
    canonical_search,
    default_nlist,
    describe_search,
    ivf_index,
    ivf_search,
    parse_search,
)
from negbench.harness.retrieval.dense_search import exact_search, search_run, torch_exact_search

K = 200


def _bench():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "ann_mining.py"
    spec = importlib.util.spec_from_file_location("ann_mining", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus():
    bench = _bench()
    docs = bench.clustered_corpus(50_000)  # fp16, as the benchmark stores it
    return docs, bench.near_queries(docs, 300), bench


@pytest.fixture(scope="module")
def exact(corpus):
    docs, queries, _ = corpus
    return exact_search(queries, docs, K)


def test_ivf_defaults_recall_at_200_on_clustered_vectors(corpus, exact):
    docs, queries, bench = corpus
    scores, idx = ivf_search(queries, docs, K)
    assert scores.shape == idx.shape == (300, K)
    assert scores.dtype == np.float32 and idx.dtype == np.int64
    assert bench.recall(idx, exact[1]) >= 0.95
    assert ivf_index(docs).params == IvfParams(nlist=256, nprobe=64, refine=2, seed=0)


def test_ivf_scores_are_exact_inner_products_best_first(corpus):
    docs, queries, _ = corpus
    scores, idx = ivf_search(queries[:20], docs, 50)
    assert (idx >= 0).all() and all(len(set(row)) == 50 for row in idx)
    expected = np.einsum("qkd,qd->qk", docs[idx].astype(np.float32), queries[:20])
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-6)
    assert (np.diff(scores, axis=1) <= 0).all()


def test_ivf_probing_every_list_finds_the_exact_top_k(corpus, exact):
    docs, queries, bench = corpus
    scores, idx = ivf_search(queries[:50], docs, K, IvfParams(nprobe=10_000))
    assert bench.recall(idx, exact[1][:50]) >= 0.999
    np.testing.assert_allclose(scores[:, 0], exact[0][:50, 0], rtol=1e-5)


def test_fp16_exact_search_in_document_blocks_equals_fp32(corpus, monkeypatch):
    docs, queries, _ = corpus
    monkeypatch.setattr(dense_search, "DOC_BLOCK", 7_000)  # several blocks, a short last one
    monkeypatch.setattr(dense_search, "QUERY_CHUNK", 128)  # several query chunks
    s16, i16 = exact_search(queries[:300], docs[:20_000], 50)
    s32, i32 = exact_search(queries[:300], docs[:20_000].astype(np.float32), 50)
    assert (i16 == i32).all()
    np.testing.assert_array_equal(s16, s32)


def test_torch_search_merges_document_blocks(corpus):
    docs, queries, _ = corpus
    s, i = torch_exact_search(queries[:40], docs[:20_000], 30, "cpu", doc_block=6_000)
    s32, i32 = exact_search(queries[:40], docs[:20_000].astype(np.float32), 30)
    assert (i == i32).mean() > 0.999  # float rounding may swap near-ties
    np.testing.assert_allclose(s, s32, rtol=1e-5, atol=1e-6)


def test_search_run_with_ivf_gives_trec_ordered_hits(corpus):
    docs, queries, _ = corpus
    ids = [f"d{i}" for i in range(len(docs))]
    run = search_run(["a", "b"], queries[:2], ids, docs, 10, search="ivf:nprobe=32")
    exact_run = search_run(["a", "b"], queries[:2], ids, docs, 10)
    for q in ("a", "b"):
        assert len(run[q]) == 10 and run[q] == sorted(run[q], key=lambda h: -h[1])
        # the same top hit, its exact inner product up to float rounding (numpy's matmul
        # re-scores, faiss's kernel scores the exact run: last bits differ between CPUs)
        assert run[q][0][0] == exact_run[q][0][0]
        assert run[q][0][1] == pytest.approx(exact_run[q][0][1], rel=1e-6, abs=1e-6)


def test_small_corpus_and_k_beyond_it():
    rng = np.random.default_rng(0)
    docs = rng.standard_normal((300, 16)).astype(np.float16)
    scores, idx = ivf_search(rng.standard_normal((4, 16)), docs, 500)
    assert idx.shape == scores.shape == (4, 300)  # k capped at the corpus
    assert sorted(idx[0]) == list(range(300))  # 4 lists, all probed: every document


def test_parse_and_canonical_search():
    assert parse_search("exact") is None and canonical_search("exact") == "exact"
    assert parse_search("ivf") == IvfParams()
    assert canonical_search("ivf:nprobe=128") == "ivf:nlist=0,nprobe=128,refine=2,seed=0"
    assert canonical_search(canonical_search("ivf:nlist=64")) == canonical_search("ivf:nlist=64")
    for bad in ("hnsw", "ivf:nprobe", "ivf:nprobe=-1", "ivf:probes=3", "ivf:nprobe=0",
                "exact:nprobe=3", "ivf:refine=1.5"):
        with pytest.raises(NegbenchError):
            parse_search(bad)
    assert default_nlist(8_800_000) == 4096 and default_nlist(1_000_000) == 1024
    assert default_nlist(50_000) == 256 and default_nlist(100) == 1
    assert describe_search("exact", 10) == "exact"
    assert describe_search("ivf", 50_000).startswith("ivf:nlist=256,nprobe=64,refine=2,seed=0")
    with pytest.raises(NegbenchError, match="exceeds the corpus"):
        IvfParams(nlist=1000).resolved(500)


def test_run_config_hash_changes_only_for_ivf():
    from negbench.harness.pipeline.runner import RunConfig
    from negbench.harness.training.budget import get_budget

    base = RunConfig("beir/scifact", "dense", {}, 13, get_budget("smoke"), "m")
    ivf = RunConfig("beir/scifact", "dense", {}, 13, get_budget("smoke"), "m",
                    search=canonical_search("ivf"))
    assert "search" not in base.to_dict()  # exact runs keep the hashes they had
    assert ivf.to_dict()["search"] == "ivf:nlist=0,nprobe=64,refine=2,seed=0"
    assert ivf.config_hash() != base.config_hash()


def test_dense_mining_with_ivf_states_the_search(scifact, tiny_encoder):
    from negbench.strategies.base import MiningContext
    from negbench.strategies.registry import get_sampler

    def mine(search):
        ctx = MiningContext(corpus=scifact.corpus, train=scifact.train, exclude=scifact.exclude,
                            seed=13, max_length=64, dense=lambda: tiny_encoder,
                            bm25=lambda: None, search=search)
        rows = get_sampler("dense").from_dict({"sampling": "top"}).mine(ctx)
        return rows, ctx.extra["search"]

    exact_rows, exact_note = mine("exact")
    ivf_rows, ivf_note = mine(canonical_search("ivf:nlist=64,nprobe=64"))
    assert exact_note == "exact"
    assert ivf_note.startswith("ivf:nlist=64,nprobe=64,refine=2,seed=0 (faiss IVF64,SQ8")
    # every list probed: the IVF's candidates re-scored exactly give exact's negatives
    same = sum(a.negative_ids == b.negative_ids for a, b in zip(exact_rows, ivf_rows))
    assert same / len(exact_rows) >= 0.99


def test_run_search_ivf_reaches_the_mine_stage_and_its_facts(small, tiny_model_dir, cli_env,
                                                             tmp_path):
    """``negbench run --search ivf:...`` mines with the IVF (stated in the mine stage's facts,
    which become the record's ``mining`` block) under a config hash of its own; a bad spec
    is one error line before anything is written."""
    import json

    from reliability_helpers import cli, fails

    def run(out, *extra):
        return cli(["run", "--suite", small, "--samplers", "dense", "--model", tiny_model_dir,
                    "--no-zero-shot", "--quiet", "--stop-after", "mine", "--output", out,
                    *extra], cli_env)

    proc = run(tmp_path / "ivf", "--search", "ivf:nlist=16,nprobe=16")
    assert proc.returncode == 0, proc.stderr[-2000:]
    (manifest,) = (tmp_path / "ivf" / "work").glob("*/manifest.json")
    facts = json.loads(manifest.read_text())["stages"]["mine"]["facts"]
    assert facts["search"].startswith("ivf:nlist=16,nprobe=16,refine=2,seed=0 (faiss IVF16,SQ8")
    resolved = (tmp_path / "ivf" / "experiment.resolved.yaml").read_text()
    assert "search: ivf:nlist=16,nprobe=16" in resolved
    out = tmp_path / "bad"
    fails(["run", "--suite", small, "--samplers", "dense", "--model", tiny_model_dir,
           "--no-zero-shot", "--quiet", "--stop-after", "mine", "--output", out,
           "--search", "hnsw"], cli_env, "--search 'hnsw'", output=out)
