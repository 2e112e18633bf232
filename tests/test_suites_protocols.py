"""Evaluation protocols with the tiny model on real data: source bias (NFCorpus + Llama-2
rewrites) and interpolation vs extrapolation (SciFact)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from negbench.harness.data.collection import Corpus, Doc


@pytest.fixture(scope="module")
def nfcorpus(irds_home, data_dir):
    from negbench.suites.loading import load_suite_data
    from negbench.suites.registry import get_suite

    return load_suite_data(get_suite("beir/nfcorpus"), data_dir)


def test_source_bias_on_real_nfcorpus(nfcorpus, tiny_encoder, data_dir):
    from negbench.suites.source_bias import LLM_SUFFIX, load_rewrites, source_bias

    rewrites = load_rewrites(data_dir, nfcorpus.corpus)
    assert len(rewrites) == 3633 and all(d.endswith(LLM_SUFFIX) for d in rewrites.ids)
    res = source_bias(tiny_encoder, nfcorpus.corpus, rewrites, nfcorpus.test, max_length=64)
    pairs = sum(r >= 1 for j in nfcorpus.test.qrels.values() for r in j.values())
    assert res["relevant_pairs"] == pairs == 12334
    assert 0 < res["rewrite_outscores_human"] < pairs and res["ties"] < pairs
    assert res["delta_nDCG@10"] == pytest.approx(
        res["nDCG@10_mixed_human_relevant"] - res["nDCG@10_human_index"])
    # adding rewrites can only push human originals down the ranking
    assert res["nDCG@10_mixed_human_relevant"] <= res["nDCG@10_human_index"] + 1e-12

    # identical "rewrites": every pair ties, nothing outscores
    copies = Corpus({d + LLM_SUFFIX: Doc(d + LLM_SUFFIX, doc.title, doc.body)
                     for d, doc in nfcorpus.corpus.docs.items()})
    same = source_bias(tiny_encoder, nfcorpus.corpus, copies, nfcorpus.test, max_length=64)
    assert same["rewrite_outscores_human"] == 0 and same["ties"] == pairs


def test_source_bias_cli(tiny_model_dir, irds_home, cache_dir, tmp_path):
    env = dict(os.environ, IR_DATASETS_HOME=str(irds_home), NEGBENCH_CACHE=str(cache_dir))
    proc = subprocess.run([sys.executable, "-m", "negbench.harness.cli", "source-bias",
                           "--suite", "beir/nfcorpus", "--model", str(tiny_model_dir),
                           "--max-length", "64", "--quiet", "--output", str(tmp_path / "b.json")],
                          env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads((tmp_path / "b.json").read_text())
    assert res["relevant_pairs"] == 12334 and 0 <= res["rewrite_preference_rate"] <= 1
    bad = subprocess.run([sys.executable, "-m", "negbench.harness.cli", "source-bias",
                          "--suite", "beir/scifact", "--model", str(tiny_model_dir)],
                         env=env, capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "beir/nfcorpus only" in bad.stderr


def test_source_bias_of_kept_trained_models(tiny_model_dir, irds_home, cache_dir, tmp_path):
    """`run --keep-models` keeps the trained model; `source-bias --models-from` scores it and
    its human-index nDCG@10 is the one the run's record reports (same model, length, k)."""
    env = dict(os.environ, IR_DATASETS_HOME=str(irds_home), NEGBENCH_CACHE=str(cache_dir))
    out = tmp_path / "nf"
    cli = [sys.executable, "-m", "negbench.harness.cli"]
    # the full track: a query-side model is a query tower, not a document encoder
    run = subprocess.run([*cli, "run", "--suite", "beir/nfcorpus", "--samplers", "in-batch",
                          "--budget", "smoke", "--track", "full", "--model", str(tiny_model_dir),
                          "--no-zero-shot",
                          "--keep-models", "--quiet", "--output", str(out)],
                         env=env, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    assert (out / "models" / "in-batch-seed13" / "config.json").exists()
    assert not (out / "work").exists()
    bias = subprocess.run([*cli, "source-bias", "--model", str(tiny_model_dir), "--models-from",
                           str(out), "--max-length", "64", "--quiet"],
                          env=env, capture_output=True, text=True, check=False)
    assert bias.returncode == 0, bias.stderr[-2000:]
    rows = json.loads((out / "source_bias.json").read_text())
    assert [r["label"] for r in rows] == [str(tiny_model_dir), "in-batch-seed13"]
    rec = json.loads((out / "records" / "in-batch-seed13.json").read_text())
    assert rows[1]["model_fingerprint"] == rec["trained_model_fingerprint"]
    assert rows[0]["model_fingerprint"] != rows[1]["model_fingerprint"]
    assert abs(rows[1]["nDCG@10_human_index"] - rec["metrics"]["nDCG@10"]) < 1e-9
    assert "in-batch-seed13" in (out / "source_bias.md").read_text()
    empty = subprocess.run([*cli, "source-bias", "--models-from", str(tmp_path)],
                           env=env, capture_output=True, text=True, check=False)
    assert empty.returncode == 2 and "--keep-models" in empty.stderr


def test_interpolation_split_on_real_scifact(scifact, tiny_encoder):
    from negbench.harness.evaluation.conventions import PROFILES
    from negbench.harness.evaluation.evaluate import evaluate_run
    from negbench.harness.evaluation.measures import parse_measures
    from negbench.harness.retrieval.dense_search import search_run
    from negbench.suites.interpolation import interpolation_split, nearest_train_similarity

    qids = sorted(scifact.test.queries)
    q_emb = tiny_encoder.encode([scifact.test.queries[q] for q in qids], "query", 64)
    d_emb = tiny_encoder.encode(scifact.corpus.texts(), "doc", 64)
    run = search_run(qids, q_emb, scifact.corpus.ids, d_emb, 100)
    ev = evaluate_run(scifact.test.qrels, run, parse_measures(["nDCG@10", "R@100"]),
                      PROFILES["beir"])
    out = interpolation_split(scifact.train.queries, scifact.test.queries, tiny_encoder,
                              ev.per_query, max_length=64)
    inter, extra = out["interpolation"], out["extrapolation"]
    assert inter["num_queries"] + extra["num_queries"] == 300
    assert abs(inter["num_queries"] - extra["num_queries"]) <= 2  # median split
    assert inter["similarity_min"] > extra["similarity_max"]
    for m in ("nDCG@10", "R@100"):  # the parts recombine into the overall mean
        combined = (inter["metrics"][m] * inter["num_queries"] +
                    extra["metrics"][m] * extra["num_queries"]) / 300
        assert combined == pytest.approx(ev.means[m])
    # nearest-neighbour similarity agrees with brute force numpy
    sims = nearest_train_similarity(scifact.train.queries, scifact.test.queries, tiny_encoder, 64)
    tr = tiny_encoder.encode([scifact.train.queries[q] for q in sorted(scifact.train.queries)],
                             "query", 64)
    brute = (q_emb[:5] @ tr.T).max(axis=1)
    assert np.allclose([sims[q] for q in qids[:5]], brute, atol=1e-5)
    # a fixed threshold above every similarity sends every query to extrapolation
    allx = interpolation_split(scifact.train.queries, scifact.test.queries, tiny_encoder,
                               ev.per_query, max_length=64, threshold=1.5)
    assert allx["extrapolation"]["num_queries"] == 300
    assert allx["interpolation"]["num_queries"] == 0
