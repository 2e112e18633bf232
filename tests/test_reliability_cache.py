"""Class 8 of issue 25: cache keys that miss what changes a vector. The model fingerprint (and so
every embedding-cache key, and the records' ``base_model_fingerprint``) covers the weights, the
module list and its configs (pooling, normalisation), the tokenizer and the default prompt; the
cache key adds the kind, maximum length and prompt; provenance (where a folder was saved) is
left out. A CLS-pooled copy of mean-pooled weights is another model: its own vectors, its own
records, not comparable (docs/reliability.md, "Cache keys and batches")."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from reliability_helpers import cli, record

from negbench.harness.errors import NegbenchError
from negbench.harness.io.digest import sha256_file
from negbench.harness.reporting.comparability import check_comparable
from negbench.harness.retrieval.encoder import (
    FINGERPRINT_SCHEME,
    CachedEncoder,
    SentenceTransformerEncoder,
    model_fingerprint,
)
from negbench.harness.retrieval.models import load_model
from negbench.harness.retrieval.prompts import Prompts

RUN = Path(__file__).resolve().parents[1] / "results" / "runs" / "scifact-query-side"


def _edit(src: Path, dst: Path, name: str, change) -> Path:
    """A copy of the model folder ``src`` with the JSON file ``name`` passed through
    ``change``."""
    shutil.copytree(src, dst)
    path = dst / name
    path.write_text(json.dumps(change(json.loads(path.read_text())), indent=2))
    return dst


@pytest.fixture(scope="module")
def pooled(tiny_model_dir, tmp_path_factory) -> dict[str, Path]:
    """The tiny model (mean pooling) and a copy whose 1_Pooling/config.json says CLS."""
    cls = _edit(tiny_model_dir, tmp_path_factory.mktemp("cls") / "model", "1_Pooling/config.json",
                lambda c: {**c, "pooling_mode": "cls"})
    return {"mean": tiny_model_dir, "cls": cls}


def _fp(folder: Path) -> str:
    return model_fingerprint(load_model(str(folder)))


def _cached(folder: Path, cache: Path, prompts: Prompts | None = None) -> CachedEncoder:
    return CachedEncoder(SentenceTransformerEncoder(load_model(str(folder)), progress=False,
                                                    prompts=prompts), cache)


def test_pooling_changes_the_fingerprint_and_every_cache_key(pooled, scifact):
    mean, cls = (_cached(pooled[k], Path("unused")) for k in ("mean", "cls"))
    assert mean.fingerprint.startswith(FINGERPRINT_SCHEME) and cls.fingerprint != mean.fingerprint
    texts = scifact.corpus.texts()[:10]
    assert cls.key(texts, "doc", 64) != mean.key(texts, "doc", 64)


def test_the_cache_serves_each_pooling_its_own_vectors(pooled, scifact, tmp_path):
    """Mean-pooled vectors cached first; the CLS copy through the same cache gets its true
    vectors (the old key, weights only, served it the mean vectors)."""
    texts = scifact.corpus.texts()[:40]
    mean = _cached(pooled["mean"], tmp_path)
    mean_vecs = mean.encode(texts, "doc", 64)
    cls = _cached(pooled["cls"], tmp_path)
    got = cls.encode(texts, "doc", 64)
    true = cls.inner.encode(texts, "doc", 64)
    assert cls.calls_by_kind["doc"] == 1  # computed, not read from the mean model's file
    np.testing.assert_allclose(got, true, atol=1e-6)
    assert float(np.mean(np.sum(got * mean_vecs, axis=1))) < 0.99
    np.testing.assert_array_equal(_cached(pooled["cls"], tmp_path).encode(texts, "doc", 64), got)


@pytest.mark.parametrize("what, name, change", [
    ("normalize removed", "modules.json", lambda mods: [m for m in mods if m["name"] != "2"]),
    ("lower-casing off", "tokenizer_config.json", lambda c: {**c, "do_lower_case": False}),
    ("a default prompt", "config_sentence_transformers.json",
     lambda c: {**c, "prompts": {"query": "query: "}, "default_prompt_name": "query"}),
])
def test_what_changes_an_embedding_changes_the_fingerprint(what, name, change, tiny_model_dir,
                                                           tmp_path, scifact):
    """Each edit changes what the model computes (or, for Normalize, would without the
    encoder's own normalising) and so the fingerprint; the edit really is seen by the model."""
    edited = load_model(str(_edit(tiny_model_dir, tmp_path / "m", name, change)))
    base = load_model(str(tiny_model_dir))
    assert model_fingerprint(edited) != model_fingerprint(base), what
    text = "Hello WORLD: " + scifact.corpus.texts()[0][:200]
    raw = [m.encode([text], normalize_embeddings=False) for m in (base, edited)]
    assert not np.allclose(*raw, atol=1e-6), what


def test_adding_normalize_changes_the_fingerprint(tiny_model_dir, tmp_path):
    from sentence_transformers.sentence_transformer.modules import Normalize

    plain = _edit(tiny_model_dir, tmp_path / "plain", "modules.json",
                  lambda mods: [m for m in mods if m["name"] != "2"])
    model = load_model(str(plain))
    before = model_fingerprint(model)
    model.append(Normalize())
    assert model_fingerprint(model) != before


def test_the_same_model_saved_twice_has_one_fingerprint(tiny_model_dir, tmp_path):
    """Where a folder was saved (and by which library version) is not what it computes."""
    for folder in ("a", "b"):
        load_model(str(tiny_model_dir)).save(str(tmp_path / folder))
    assert _fp(tmp_path / "a") == _fp(tmp_path / "b") == _fp(tiny_model_dir)


def test_the_cache_key_covers_kind_length_and_prompt(tiny_model_dir, tmp_path):
    texts = ["a claim about cells"]
    plain = _cached(tiny_model_dir, tmp_path)
    prompted = _cached(tiny_model_dir, tmp_path, Prompts("query: ", ""))
    keys = {plain.key(texts, "query", 64), plain.key(texts, "query", 128),
            plain.key(texts, "doc", 64), prompted.key(texts, "query", 64)}
    assert len(keys) == 4
    assert prompted.key(texts, "doc", 64) == plain.key(texts, "doc", 64)  # no document prompt


def test_records_of_two_base_models_are_not_comparable():
    """Two trained records of one model name whose base models differ (a folder edited in
    place: pooling, tokenizer, weights) are refused; records written before the fingerprint
    covered more than the weights are compared by name only."""
    recs = [json.loads((RUN / "records" / f).read_text())
            for f in ("random-seed13.json", "random-seed42.json")]
    recs[0]["base_model_fingerprint"] = FINGERPRINT_SCHEME + "a" * 64
    recs[1]["base_model_fingerprint"] = FINGERPRINT_SCHEME + "b" * 64
    with pytest.raises(NegbenchError, match="base model differs"):
        check_comparable(recs)
    recs[1]["base_model_fingerprint"] = "b" * 64  # a legacy, weights-only fingerprint
    check_comparable(recs)


def test_a_run_records_and_trains_on_its_own_model(pooled, small, cli_env, tmp_path):
    """The mean model's corpus vectors are in the shared cache; a query-side run of the CLS copy
    records the CLS fingerprint and trains against its own document vectors."""
    from negbench.harness.pipeline.workspace import Workspace
    from negbench.suites.registry import get_suite

    cache = Path(cli_env["NEGBENCH_CACHE"])
    ws = Workspace(get_suite(str(small)), cache_dir=cache, model=str(pooled["mean"]),
                   progress=False)
    texts = ws.data.corpus.texts()
    ws.base_encoder.encode(texts, "doc", 64)  # the smoke budget's eval length
    mean_file = ws.base_encoder.path(texts, "doc", 64)
    out = tmp_path / "out"
    proc = cli(["run", "--suite", small, "--samplers", "in-batch", "--seeds", "13", "--budget",
                "smoke", "--model", pooled["cls"], "--no-audit", "--no-zero-shot", "--quiet",
                "--output", out], cli_env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rec = record(out, "in-batch-seed13")
    assert rec["base_model_fingerprint"] == _fp(pooled["cls"]) != ws.base_encoder.fingerprint
    assert rec["training"]["document_tower_fingerprint"] == rec["base_model_fingerprint"]
    assert rec["training"]["document_vectors_sha256"] != sha256_file(mean_file)
