"""bf16 on the CPU (issue 31): detection, ``--precision bf16`` where the CPU has native bf16,
autocast in encoding and both training loops, cache keys and records per precision, and the
comparability check that keeps fp32 and bf16 records apart (real SciFact, tiny model)."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from negbench.harness.errors import NegbenchError
from negbench.harness.pipeline.grid import TrainingSetup, grid_configs, run_grid
from negbench.harness.pipeline.workspace import Workspace
from negbench.harness.reporting.comparability import check_comparable
from negbench.harness.retrieval import device as device_mod
from negbench.harness.retrieval.device import (
    CPU_BF16_FLAGS,
    cpu_bf16_features,
    cpu_bf16_supported,
    encoding_precision,
    resolve_precision,
)
from negbench.harness.retrieval.encoder import (
    CachedEncoder,
    SentenceTransformerEncoder,
    texts_fingerprint,
)
from negbench.harness.retrieval.models import load_model
from negbench.harness.training.budget import get_budget
from negbench.suites.registry import get_suite

RECORDS = Path(__file__).resolve().parents[1] / "results" / "runs" / "scifact-query-side" / \
    "records"


def _linear_dtypes(model) -> list:
    """Record the output dtype of the model's first Linear layer on every forward."""
    seen: list = []
    first = next(m for m in model.modules() if isinstance(m, torch.nn.Linear))
    first.register_forward_hook(lambda mod, inp, out: seen.append(out.dtype))
    return seen


# -- detection and --precision ---------------------------------------------------------------
def test_bf16_accepted_on_the_cpu_iff_it_has_native_bf16(monkeypatch):
    if cpu_bf16_supported():
        assert resolve_precision("bf16", "cpu") == "bf16"
    with pytest.raises(NegbenchError, match="needs a CUDA device"):
        resolve_precision("fp16", "cpu")  # fp16 stays refused on the CPU
    assert resolve_precision("auto", "cpu") == ("bf16" if cpu_bf16_supported() else "fp32")
    monkeypatch.setattr(device_mod, "cpu_bf16_features", lambda: ())
    assert not cpu_bf16_supported()
    with pytest.raises(NegbenchError) as e:
        resolve_precision("bf16", "cpu")
    assert "AVX-512 BF16 or AMX-BF16" in str(e.value) and "\n" not in str(e.value)
    assert resolve_precision("auto", "cpu") == "fp32"


def test_auto_picks_bf16_on_the_cpu_only_where_switched_on(monkeypatch):
    monkeypatch.setattr(device_mod, "cpu_bf16_features", lambda: ("avx512_bf16",))
    monkeypatch.setattr(device_mod, "AUTO_CPU_BF16", False)
    assert resolve_precision("auto", "cpu") == "fp32"
    monkeypatch.setattr(device_mod, "AUTO_CPU_BF16", True)
    expected = "bf16" if torch.backends.mkldnn.is_available() else "fp32"
    assert resolve_precision("auto", "cpu") == expected
    monkeypatch.setattr(device_mod, "cpu_bf16_features", lambda: ())
    assert resolve_precision("auto", "cpu") == "fp32"


def test_detection_agrees_with_the_cpu_flags(monkeypatch):
    """Without torch's probes the features come from /proc/cpuinfo's flags line."""
    try:
        flags = next(line.split(":", 1)[1].split()
                     for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("flags"))
    except (OSError, StopIteration):
        pytest.skip("no /proc/cpuinfo flags here")
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported", raising=False)
    assert cpu_bf16_features() == tuple(f for f in CPU_BF16_FLAGS if f in flags)


def test_encodings_are_bf16_only_on_a_bf16_cpu_run():
    assert encoding_precision("bf16", "cpu") == "bf16"
    assert encoding_precision("fp32", "cpu") == "fp32"
    assert encoding_precision("bf16", "cuda") == "fp32"  # GPU encodings stay as they were


# -- encoding and its cache ------------------------------------------------------------------
def test_bf16_encoding_is_close_to_fp32_but_not_identical(tiny_model_dir, scifact):
    model = load_model(str(tiny_model_dir))
    texts = scifact.corpus.texts()[:64]
    fp32 = SentenceTransformerEncoder(model, progress=False).encode(texts, "doc", 64)
    seen = _linear_dtypes(model)
    bf16 = SentenceTransformerEncoder(model, progress=False, precision="bf16").encode(
        texts, "doc", 64)
    assert torch.bfloat16 in seen  # autocast reached the model's matrix products
    assert bf16.dtype == np.float32 and bf16.shape == fp32.shape
    assert not np.array_equal(bf16, fp32)
    assert np.abs((bf16 * fp32).sum(axis=1) - 1).max() < 1e-3  # cosine to fp32
    np.testing.assert_allclose(np.linalg.norm(bf16, axis=1), 1, atol=1e-4)


def test_cache_keys_differ_by_precision_and_fp32_keys_are_unchanged(tiny_model_dir, scifact,
                                                                     tmp_path):
    model = load_model(str(tiny_model_dir))
    fp32 = CachedEncoder(SentenceTransformerEncoder(model, progress=False), tmp_path)
    bf16 = CachedEncoder(SentenceTransformerEncoder(model, progress=False, precision="bf16"),
                         tmp_path)
    texts = scifact.corpus.texts()[:16]
    assert fp32.key(texts, "doc", 64) != bf16.key(texts, "doc", 64)
    old = hashlib.sha256(f"{fp32.fingerprint}|doc|64|{texts_fingerprint(texts)}".encode())
    assert fp32.key(texts, "doc", 64) == old.hexdigest()[:32]  # caches written before
    a = fp32.encode(texts, "doc", 64)
    b = bf16.encode(texts, "doc", 64)  # one cache folder: fp32's file is not served to bf16
    assert fp32.calls == 1 and bf16.calls == 1 and not np.array_equal(a, b)
    np.testing.assert_array_equal(bf16.encode(texts, "doc", 64), b)
    assert bf16.calls == 1


# -- training --------------------------------------------------------------------------------
def _pairs(scifact):
    from negbench.harness.training.pairs import training_pairs
    from negbench.strategies.base import MiningContext
    from negbench.strategies.registry import get_sampler

    ctx = MiningContext(corpus=scifact.corpus, train=scifact.train, exclude=scifact.exclude,
                        seed=13, max_length=64, dense=lambda: None, bm25=lambda: None)
    rows = get_sampler("random")().mine(ctx)
    return training_pairs(rows, scifact.corpus, scifact.train, 1, scifact.exclude)


def test_query_side_training_autocasts_to_bf16_on_the_cpu(scifact, tiny_model_dir):
    from negbench.harness.training.query_side import train_query_side

    pairs = _pairs(scifact)
    docs = np.random.default_rng(0).standard_normal((len(scifact.corpus), 32)).astype(np.float32)
    drow = {d: i for i, d in enumerate(scifact.corpus.ids)}
    budget = dataclasses.replace(get_budget("smoke"), steps=2)
    trained = {}
    for precision in ("fp32", "bf16"):
        torch.manual_seed(0)
        model = load_model(str(tiny_model_dir))
        seen = _linear_dtypes(model)
        assert train_query_side(model, pairs, docs, drow, {}, budget, 13, "cpu", precision,
                                mask=False, progress=False) == 2
        assert set(seen) == {torch.bfloat16 if precision == "bf16" else torch.float32}
        trained[precision] = model.state_dict()
    assert all(v.dtype == torch.float32 for v in trained["bf16"].values()
               if v.is_floating_point())  # autocast: the weights stay fp32
    assert any(not torch.equal(trained["fp32"][k], v) for k, v in trained["bf16"].items())


def test_full_training_autocasts_to_bf16_on_the_cpu(scifact, tiny_model_dir, tmp_path):
    """The HF Trainer's bf16=True with use_cpu: accelerate's CPU autocast."""
    from negbench.harness.training.full import train_full

    model = load_model(str(tiny_model_dir))
    seen = _linear_dtypes(model)
    budget = dataclasses.replace(get_budget("smoke"), steps=1)
    assert train_full(model, _pairs(scifact), budget, 13, tmp_path / "trainer", "cpu", "bf16",
                      mask=False, progress=False) == 1
    assert torch.bfloat16 in seen


@pytest.fixture(scope="module")
def bf16_grid(irds_home, data_dir, tiny_model_dir, tmp_path_factory):
    ws = Workspace(get_suite("beir/scifact"), data_dir, tmp_path_factory.mktemp("bf16-cache"),
                   str(tiny_model_dir), progress=False, precision="bf16")
    budget = dataclasses.replace(get_budget("smoke"), retrieve_k=100, teacher_steps=0)
    out = tmp_path_factory.mktemp("bf16-grid")
    run_grid(ws, [("random", {})], [13], budget, out, zero_shot=True, log=io.StringIO(),
             setup=TrainingSetup("query-side", "bf16"))
    return ws, out, budget


def test_a_bf16_cpu_run_records_its_precision(bf16_grid, data_dir, tiny_model_dir):
    ws, out, budget = bf16_grid
    rec = json.loads((out / "records" / "random-seed13.json").read_text())
    assert rec["device"]["device"] == "cpu"
    assert rec["device"]["precision"] == "bf16" and rec["device"]["encoding_precision"] == "bf16"
    assert rec["config"]["precision"] == "bf16"
    zero = json.loads((out / "records" / "zeroshot-model.json").read_text())
    assert zero["device"]["precision"] == zero["device"]["encoding_precision"] == "bf16"
    fp32 = Workspace(get_suite("beir/scifact"), data_dir, ws.cache_dir, str(tiny_model_dir),
                     progress=False)
    texts = ws.data.corpus.texts()
    assert fp32.base_encoder.path(texts, "doc", 64) != ws.base_encoder.path(texts, "doc", 64)
    assert ws.base_encoder.path(texts, "doc", 64).exists()
    (cfg_bf16,) = grid_configs(ws, [("random", {})], [13], budget,
                               TrainingSetup("query-side", "bf16"))
    (cfg_fp32,) = grid_configs(fp32, [("random", {})], [13], budget, TrainingSetup("query-side"))
    assert cfg_bf16.config_hash() == rec["config_hash"] != cfg_fp32.config_hash()
    with pytest.raises(ValueError, match="precision"):  # a workspace encoding in fp32
        grid_configs(fp32, [("random", {})], [13], budget, TrainingSetup("query-side", "bf16"))


# -- comparability ---------------------------------------------------------------------------
def _records(*names: str) -> list[dict]:
    return [json.loads((RECORDS / f"{n}.json").read_text()) for n in names]


def _bf16(rec: dict) -> dict:
    rec = copy.deepcopy(rec)
    rec["device"] = {**rec.get("device", {}), "precision": "bf16", "encoding_precision": "bf16"}
    return rec


def test_comparability_keeps_fp32_and_bf16_apart_unless_asked():
    a, b = _records("random-seed13", "random-seed42")
    check_comparable([a, b])  # committed fp32 records (no encoding_precision: fp32)
    with pytest.raises(NegbenchError) as e:
        check_comparable([a, _bf16(b)])
    msg = str(e.value)
    assert "precision differs (bf16: 1, fp32: 1 records)" in msg and "--mixed-precision" in msg
    assert "\n" not in msg
    check_comparable([a, _bf16(b)], mixed_precision=True)
    (zero,) = _records("zeroshot-model")
    with pytest.raises(NegbenchError, match="encoding precision differs"):
        check_comparable([a, _bf16(zero)])  # a zero-shot row encoded in bf16
    legacy = copy.deepcopy(a)
    legacy.pop("device")  # records before devices: fp32
    check_comparable([legacy, b])


def test_report_with_mixed_precision_says_so():
    from negbench.harness.reporting.report import build_report

    recs = _records("in-batch-seed13", "in-batch-seed42", "random-seed13", "random-seed42")
    recs[3] = _bf16(recs[3])
    with pytest.raises(NegbenchError, match="precision differs"):
        build_report(copy.deepcopy(recs), ["nDCG@10"], n_resamples=20)
    rep = build_report(copy.deepcopy(recs), ["nDCG@10"], n_resamples=20, mixed_precision=True)
    assert any(n.startswith("Mixed precisions (--mixed-precision): precision differs")
               for n in rep.notes)


def test_leaderboard_puts_fp32_and_bf16_in_two_sections():
    from negbench.harness.reporting.leaderboard import groups

    fp32 = _records("random-seed13", "zeroshot-model")
    bf16 = [_bf16(r) for r in fp32]
    for r in fp32:
        r["_folder"] = "fp32"
    for r in bf16:
        r["_folder"] = "bf16"
    grouped = groups(fp32 + bf16)
    trained = {k[5]: v for k, v in grouped.items() if k[1] != "zero-shot"}
    assert set(trained) == {"cpu", "cpu bf16"}
    for label, recs in trained.items():
        assert {r["_folder"] for r in recs} == {"bf16" if "bf16" in label else "fp32"}


# -- a folder keeps one precision (negbench run) ------------------------------------------------
def test_run_keeps_the_precision_of_the_runs_in_its_folder(cli_env, tmp_path):
    """``auto`` resumes or extends a folder in its runs' precision (fp32 grids begun before
    bf16 became the CPU's default stay fp32); an explicit other precision is one line, exit 2,
    before anything is written."""
    import argparse
    import subprocess
    import sys

    from reliability_helpers import copy_records

    from negbench.harness.commands.run import _device_and_precision

    src = Path(__file__).resolve().parents[1] / "results" / "runs" / "scifact-query-side"
    out = copy_records(src, tmp_path / "fp32", ["random-seed13.json", "dense-seed13.json"])
    before = sorted(p.name for p in out.rglob("*"))
    args = argparse.Namespace(precision="auto", output=str(out), device="cpu")
    assert _device_and_precision(args, False) == ("cpu", "fp32")
    fresh = argparse.Namespace(precision="auto", output=str(tmp_path / "new"), device="cpu")
    assert _device_and_precision(fresh, False)[1] == resolve_precision("auto", "cpu")
    proc = subprocess.run([sys.executable, "-m", "negbench.harness.cli", "run", "--suite",
                           "beir/scifact", "--samplers", "random", "--precision", "bf16",
                           "--output", str(out)], env=cli_env, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "holds fp32 runs" in proc.stderr and "--precision fp32" in proc.stderr
    assert sorted(p.name for p in out.rglob("*")) == before


def test_a_folders_precision_this_machine_lacks_is_named_as_the_folders(monkeypatch, tmp_path):
    """A bf16 grid resumed with ``auto`` on a CPU without native bf16: the error says the
    precision comes from the folder's runs (the user never typed --precision bf16)."""
    import argparse

    from negbench.harness.commands.run import _device_and_precision
    from negbench.harness.evaluation.records import seal

    monkeypatch.setattr(device_mod, "cpu_bf16_features", lambda: ())
    (tmp_path / "records").mkdir()
    rec = seal({k: v for k, v in _bf16(_records("random-seed13")[0]).items()
                if k != "integrity"})
    (tmp_path / "records" / "random-seed13.json").write_text(json.dumps(rec))
    args = argparse.Namespace(precision="auto", output=str(tmp_path), device="cpu")
    with pytest.raises(NegbenchError) as e:
        _device_and_precision(args, False)
    msg = str(e.value)
    assert msg.startswith(f"{tmp_path} holds bf16 runs (auto keeps a folder's precision)")
    assert "AVX-512 BF16" in msg and "--precision bf16" not in msg and "\n" not in msg
