"""The CI regression gate: the real smoke run against the committed baseline, and real drops."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from negbench.harness.regress import noisy_record
from negbench.harness.trec_files import read_trec_run

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
def degraded(smoke_run, scifact, tmp_path_factory):
    """The smoke run with the `dense` record re-evaluated after N(0, 0.05) score noise."""
    out = tmp_path_factory.mktemp("degraded")
    shutil.copytree(smoke_run[0] / "records", out / "records")
    p = out / "records" / "dense-seed13.json"
    run = read_trec_run(smoke_run[0] / "runs" / "dense-seed13.trec")
    rec = noisy_record(json.loads(p.read_text()), run, scifact.test.qrels, 0.05, 0)
    p.write_text(json.dumps(rec))
    return out, rec


def test_a_real_drop_fails_the_gate(smoke_run, degraded):
    out, rec = degraded
    base = json.loads((smoke_run[0] / "records" / "dense-seed13.json").read_text())
    assert base["metrics"]["nDCG@10"] - rec["metrics"]["nDCG@10"] > 0.05  # a real drop
    proc = _regress("--baseline", BASELINE, "--run", out)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines and all(ln.startswith("FAIL dense ") for ln in lines)
    assert any(ln.startswith("FAIL dense nDCG@10:") for ln in lines)


def test_drop_within_tolerance_or_not_significant_passes(degraded):
    out, _ = degraded
    assert _regress("--baseline", BASELINE, "--run", out, "--tolerance", "0.5").returncode == 0
    assert _regress("--baseline", BASELINE, "--run", out, "--alpha", "1e-30").returncode == 0


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
