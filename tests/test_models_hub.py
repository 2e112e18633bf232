"""``--model`` as a Hugging Face model id, read from a real Hugging Face cache layout."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from negbench.harness.errors import NegbenchError

MODEL_ID = "negbench-test/tiny-bert"


def place_in_hf_cache(model_dir: Path, cache: Path, model_id: str) -> Path:
    """Lay ``model_dir`` out as huggingface_hub does: blobs/<sha256>, snapshots/<commit>/ of
    relative symlinks to them and refs/main naming the commit. Returns the snapshot folder."""
    repo = cache / ("models--" + model_id.replace("/", "--"))
    files = sorted(p for p in model_dir.rglob("*") if p.is_file())
    commit = hashlib.sha1(b"".join(p.read_bytes() for p in files)).hexdigest()
    snapshot = repo / "snapshots" / commit
    for p in files:
        data = p.read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = snapshot / p.relative_to(model_dir)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return snapshot


@pytest.fixture()
def hf_cache(tmp_path, tiny_model_dir, monkeypatch) -> Path:
    cache = tmp_path / "hf-hub"
    place_in_hf_cache(tiny_model_dir, cache, MODEL_ID)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


def test_model_id_loads_from_the_cache_offline(hf_cache, tiny_model_dir):
    from negbench.harness.retrieval.encoder import model_fingerprint
    from negbench.harness.retrieval.models import load_model, resolve_model

    path = resolve_model(MODEL_ID)
    assert path.parent == hf_cache / "models--negbench-test--tiny-bert" / "snapshots"
    assert (hf_cache / "models--negbench-test--tiny-bert" / "refs" / "main").read_text() \
        == path.name
    assert model_fingerprint(load_model(MODEL_ID)) == model_fingerprint(
        load_model(str(tiny_model_dir)))  # fingerprinted as a folder is


def test_missing_model_is_a_one_line_error_without_network(hf_cache):
    from negbench.harness.retrieval.models import resolve_model

    with pytest.raises(NegbenchError, match="HF_HUB_OFFLINE=0") as exc:
        resolve_model("negbench-test/not-there")
    assert "\n" not in str(exc.value) and "not-there" in str(exc.value)


def test_not_a_model_at_all(hf_cache):
    from negbench.harness.retrieval.models import resolve_model

    with pytest.raises(NegbenchError, match="neither"):
        resolve_model("no such folder")


def test_cli_zero_shot_with_a_model_id(hf_cache, tiny_model_dir, irds_home, cache_dir,
                                       tmp_path):
    """The CLI resolves the id, records it and the same weights' fingerprint."""
    from negbench.harness.retrieval.encoder import model_fingerprint
    from negbench.harness.retrieval.models import load_model

    out = tmp_path / "out"
    env = dict(os.environ, IR_DATASETS_HOME=str(irds_home), NEGBENCH_CACHE=str(cache_dir))
    proc = subprocess.run([sys.executable, "-m", "negbench.harness.cli", "zero-shot",
                           "--suite", "beir/scifact", "--budget", "smoke", "--systems", "model",
                           "--model", MODEL_ID, "--device", "cpu", "--quiet",
                           "--output", str(out)], env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rec = json.loads((out / "records" / "zeroshot-model.json").read_text())
    assert rec["model"] == MODEL_ID
    assert rec["zero_shot"]["fingerprint"] == model_fingerprint(load_model(str(tiny_model_dir)))

    missing = subprocess.run([sys.executable, "-m", "negbench.harness.cli", "zero-shot",
                              "--suite", "beir/scifact", "--systems", "model", "--model",
                              "negbench-test/absent", "--output", str(tmp_path / "o2")],
                             env=env, capture_output=True, text=True, check=False)
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1 and "HF_HUB_OFFLINE=0" in missing.stderr
    assert not (tmp_path / "o2" / "records").exists()
