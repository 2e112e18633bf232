"""The CI regression gate: the real smoke run against the committed baseline, and real drops."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from reliability_helpers import copy_records

from negbench.harness.io.trec_files import read_trec_run
from negbench.harness.reporting.regress import noisy_record

BASELINE = Path(__file__).resolve().parents[1] / "results" / "baselines" / "scifact-smoke.json"


def _regress(*args):
    cmd = [sys.executable, "-m", "negbench.harness.cli", "regress", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def test_smoke_run_passes_the_committed_baseline(smoke_run):
    proc = _regress("--baseline", BASELINE, "--run", smoke_run[0])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "FAIL" not in proc.stdout
    baseline = json.loads(BASELINE.read_text())
    assert set(baseline["systems"]) == {"BM25 (zero-shot)", "all-MiniLM-L6-v2 (zero-shot)",
                                        "in-batch", "dense"}
    n = 4 * len(baseline["measures"])
    assert f"{n} of {n} checks passed" in proc.stderr


@pytest.fixture(scope="module")
def smoke_baseline(smoke_run, tmp_path_factory):
    """A baseline written from this session's smoke run (independent of the committed file,
    which the first test checks)."""
    path = tmp_path_factory.mktemp("smoke-baseline") / "baseline.json"
    proc = _regress("--write-baseline", path, "--run", smoke_run[0])
    assert proc.returncode == 0, proc.stderr
    return path


@pytest.fixture(scope="module")
def degraded(smoke_run, scifact, tmp_path_factory):
    """The smoke run with the `dense` record re-evaluated after N(0, 0.05) score noise."""
    out = tmp_path_factory.mktemp("degraded")
    shutil.copytree(smoke_run[0] / "records", out / "records")
    p = out / "records" / "dense-seed13.json"
    run = read_trec_run(smoke_run[0] / "runs" / "dense-seed13.trec")
    rec = noisy_record(json.loads(p.read_text()), run, scifact.test.qrels, 0.05, 0)
    p.write_text(json.dumps(rec))
    return out, rec


def test_a_real_drop_fails_the_gate(smoke_run, smoke_baseline, degraded):
    out, rec = degraded
    base = json.loads((smoke_run[0] / "records" / "dense-seed13.json").read_text())
    assert base["metrics"]["nDCG@10"] - rec["metrics"]["nDCG@10"] > 0.05  # a real drop
    proc = _regress("--baseline", smoke_baseline, "--run", out)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines and all(ln.startswith("FAIL dense ") for ln in lines)
    assert any(ln.startswith("FAIL dense nDCG@10:") for ln in lines)


def test_drop_within_tolerance_or_not_significant_passes(smoke_baseline, degraded):
    out, _ = degraded
    for extra in (("--tolerance", "0.5"), ("--alpha", "1e-30")):
        proc = _regress("--baseline", smoke_baseline, "--run", out, *extra)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_baseline_round_trip_and_config_mismatch(smoke_run, tmp_path):
    mine = tmp_path / "b.json"
    assert _regress("--write-baseline", mine, "--run", smoke_run[0]).returncode == 0
    assert _regress("--baseline", mine, "--run", smoke_run[0]).returncode == 0
    doc = json.loads(mine.read_text())
    doc["budget"]["steps"] += 1
    mine.write_text(json.dumps(doc))
    proc = _regress("--baseline", mine, "--run", smoke_run[0])
    assert proc.returncode == 2 and "differ in budget" in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_a_baseline_of_another_precision_is_refused_unless_asked(smoke_run, tmp_path):
    """A run gated against a baseline of another precision is refused with one line naming
    the precisions; --mixed-precision lets the gate compare them."""
    mine = tmp_path / "b.json"
    assert _regress("--write-baseline", mine, "--run", smoke_run[0]).returncode == 0
    doc = json.loads(mine.read_text())
    ran = doc["precision"]["training"]  # the smoke run's (auto: bf16 on a bf16 CPU)
    assert doc["precision"] == {"training": ran, "encoding": ran}
    other = "fp32" if ran == "bf16" else "bf16"
    doc["precision"] = {"training": other, "encoding": other}
    mine.write_text(json.dumps(doc))
    proc = _regress("--baseline", mine, "--run", smoke_run[0])
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "differ in precision" in proc.stderr and "--mixed-precision" in proc.stderr
    proc = _regress("--baseline", mine, "--run", smoke_run[0], "--mixed-precision")
    assert proc.returncode == 0, proc.stdout + proc.stderr


RUN = Path(__file__).resolve().parents[1] / "results" / "legacy-16-steps" / "scifact"


def _copy(tmp_path, name: str, files: list[str], edit=None) -> Path:
    """A results folder with copies of committed SciFact records, optionally edited."""
    return copy_records(RUN, tmp_path / name, files, edit)


def _degrade(rec: dict) -> dict:
    """Every per-query score x 0.9 (nDCG@10 drops by ~0.066)."""
    per_query = {m: {q: 0.9 * v for q, v in s.items()} for m, s in rec["per_query"].items()}
    metrics = {m: sum(s.values()) / len(s) for m, s in per_query.items()}
    return {**rec, "per_query": per_query, "metrics": metrics}


@pytest.fixture()
def seeds_baseline(tmp_path) -> Path:
    """A schema-2 baseline of in-batch seeds 13 and 42 (+ zero-shot BM25), real records."""
    base = _copy(tmp_path, "base", ["in-batch-seed13.json", "in-batch-seed42.json",
                                    "zeroshot-bm25.json"])
    path = tmp_path / "baseline.json"
    assert _regress("--write-baseline", path, "--run", base).returncode == 0
    doc = json.loads(path.read_text())
    assert doc["schema"] == 2 and doc["track"] == "full"
    assert len(doc["systems"]["in-batch"]["per_seed"]["nDCG@10"]) == 2
    return path


def test_another_real_seed_passes_and_a_real_drop_fails(seeds_baseline, tmp_path):
    """Seed 87 of the same config passes against seeds 13+42; the same seed with every score
    10% lower fails, judged by the seed-aware test (one fresh seed borrows the baseline's seed
    variance)."""
    files = ["in-batch-seed87.json", "zeroshot-bm25.json"]
    ok = _regress("--baseline", seeds_baseline, "--run", _copy(tmp_path, "ok", files),
                  "--verbose")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "seed variance borrowed" in ok.stdout and "MDE" in ok.stdout

    def worse(rec):
        return _degrade(rec) if rec["kind"] == "trained" else rec

    bad = _regress("--baseline", seeds_baseline, "--run", _copy(tmp_path, "bad", files, worse))
    assert bad.returncode == 1, bad.stdout + bad.stderr
    lines = bad.stdout.splitlines()
    assert lines and all(ln.startswith("FAIL in-batch ") and "seed-aware" in ln for ln in lines)
    assert any(ln.startswith("FAIL in-batch nDCG@10:") for ln in lines)


def test_regress_refuses_other_tracks_and_mixed_runs(seeds_baseline, tmp_path):
    def short(rec):
        return {**rec, "track": "short"} if rec["kind"] == "trained" else rec

    other = _copy(tmp_path, "short", ["in-batch-seed87.json", "zeroshot-bm25.json"], short)
    proc = _regress("--baseline", seeds_baseline, "--run", other)
    assert proc.returncode == 2 and "differ in track: 'full' vs 'short'" in proc.stderr
    assert proc.stderr.count("\n") == 1
    mixed = _copy(tmp_path, "mixed", ["in-batch-seed87.json", "in-batch-seed13.json"])
    p = mixed / "records" / "in-batch-seed13.json"
    p.write_text(json.dumps(short(json.loads(p.read_text()))))
    proc = _regress("--baseline", seeds_baseline, "--run", mixed)
    assert proc.returncode == 2 and "track differs (full: 1, short: 1 records)" in proc.stderr
    assert proc.stderr.count("\n") == 1
