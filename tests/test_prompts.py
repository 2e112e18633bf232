"""Query/document prompts: read from the model's config, overridable, applied and recorded."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest


@pytest.fixture(scope="module")
def prompted_model_dir(tiny_model_dir, tmp_path_factory):
    """The tiny model with e5-style prompts in its config_sentence_transformers.json."""
    out = tmp_path_factory.mktemp("prompted") / "st"
    shutil.copytree(tiny_model_dir, out)
    cfg_path = out / "config_sentence_transformers.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["prompts"] = {"query": "query: ", "document": "passage: "}
    cfg_path.write_text(json.dumps(cfg))
    return out


def test_prompts_come_from_the_model_and_can_be_overridden(prompted_model_dir, tiny_model_dir):
    from negbench.harness.retrieval.prompts import Prompts, resolve_prompts

    assert resolve_prompts(str(prompted_model_dir)) == Prompts("query: ", "passage: ")
    assert resolve_prompts(str(prompted_model_dir), "q: ", "") == Prompts("q: ", "")
    assert resolve_prompts(str(tiny_model_dir)) == Prompts()
    assert resolve_prompts("all-MiniLM-L6-v2").to_dict() == {}


def test_a_prompt_changes_the_embeddings_as_sentence_transformers_does(tiny_model_dir,
                                                                        tmp_path):
    from negbench.harness.retrieval.encoder import CachedEncoder, SentenceTransformerEncoder
    from negbench.harness.retrieval.models import load_model
    from negbench.harness.retrieval.prompts import Prompts

    model = load_model(str(tiny_model_dir))
    texts = ["what causes scurvy", "vitamin c deficiency"]
    plain = CachedEncoder(SentenceTransformerEncoder(model, progress=False), tmp_path)
    prompted = CachedEncoder(SentenceTransformerEncoder(
        model, progress=False, prompts=Prompts("query: ", "passage: ")), tmp_path)
    a, b = plain.encode(texts, "query", 64), prompted.encode(texts, "query", 64)
    assert not np.allclose(a, b)
    st = model.encode(texts, prompt="query: ", normalize_embeddings=True)  # encode_query's way
    np.testing.assert_allclose(b, st, atol=1e-6)
    assert plain.path(texts, "query", 64) != prompted.path(texts, "query", 64)
    assert prompted.calls == 1


def test_config_hash_changes_only_with_a_prompt():
    from negbench.harness.pipeline.runner import RunConfig
    from negbench.harness.training.budget import get_budget

    base = RunConfig("beir/scifact", "bm25", {}, 13, get_budget("smoke"), "m")
    assert "prompts" not in base.to_dict()  # existing records keep their hashes
    with_prompt = RunConfig("beir/scifact", "bm25", {}, 13, get_budget("smoke"), "m",
                            prompts={"query": "query: "})
    assert with_prompt.config_hash() != base.config_hash()


def test_full_track_dataset_carries_the_prompts(scifact):
    from negbench.harness.retrieval.prompts import Prompts
    from negbench.harness.training.full import training_dataset
    from negbench.harness.training.pairs import training_pairs
    from negbench.strategies.base import NegativeRow

    q = min(scifact.train.positives())
    pos = scifact.train.positives()[q][0]
    neg = next(d for d in scifact.corpus.ids if d not in scifact.exclude.get(q, ()))
    pairs = training_pairs([NegativeRow(q, pos, (neg,))], scifact.corpus, scifact.train, 1,
                           scifact.exclude)
    row = training_dataset(pairs, Prompts("query: ", "passage: "))[0]
    assert row["anchor"] == "query: " + scifact.train.queries[q]
    assert row["positive"].startswith("passage: ")
    assert row["negative_1"] == "passage: " + scifact.corpus.docs[neg].text


def test_cli_run_uses_and_records_the_model_prompts(prompted_model_dir, irds_home, cache_dir,
                                                    tmp_path):
    """SciFact, tiny model with prompts in its config, smoke budget: the record carries the
    prompts and its config hash covers them; --query-prompt overrides the model's."""
    env = dict(os.environ, IR_DATASETS_HOME=str(irds_home), NEGBENCH_CACHE=str(cache_dir))
    base = [sys.executable, "-m", "negbench.harness.cli", "run", "--suite", "beir/scifact",
            "--samplers", "bm25", "--seeds", "13", "--budget", "smoke", "--no-audit",
            "--device", "cpu", "--quiet", "--model", str(prompted_model_dir)]
    proc = subprocess.run([*base, "--output", str(tmp_path / "a")], env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rec = json.loads((tmp_path / "a" / "records" / "bm25-seed13.json").read_text())
    assert rec["prompts"] == {"query": "query: ", "document": "passage: "}
    assert rec["config"]["prompts"] == rec["prompts"]
    zs = json.loads((tmp_path / "a" / "records" / "zeroshot-model.json").read_text())
    assert zs["prompts"] == rec["prompts"]

    proc = subprocess.run([*base, "--no-zero-shot", "--query-prompt", "", "--doc-prompt", "",
                           "--output", str(tmp_path / "b")], env=env, capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    plain = json.loads((tmp_path / "b" / "records" / "bm25-seed13.json").read_text())
    assert plain["prompts"] == {} and "prompts" not in plain["config"]
    assert plain["config_hash"] != rec["config_hash"]
    assert plain["metrics"] != rec["metrics"]  # same negatives, other texts encoded
    assert plain["negatives"]["sha256"] == rec["negatives"]["sha256"]
