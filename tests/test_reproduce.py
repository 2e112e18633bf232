"""`negbench reproduce` on the real smoke run's zero-shot records."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from negbench.harness.reporting.reproduce import check_records, load_references, verdict

REFERENCE = Path(__file__).resolve().parents[1] / "harness" / "reporting" / "reference" / "published.yaml"


def _reproduce(folder, reference=REFERENCE):
    cmd = [sys.executable, "-m", "negbench.harness.cli", "reproduce", str(folder),
           "--reference", str(reference)]
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def test_reference_is_a_faithful_copy_of_the_shared_numbers(data_dir):
    shared = yaml.safe_load((data_dir.parent / "reference" / "published.yaml").read_text())
    ours = load_references(REFERENCE)
    for name, entry in ours["beir"].items():
        for dataset in ("scifact", "nfcorpus"):
            assert entry[dataset] == shared["beir"][name][dataset], (name, dataset)
    assert "Source:" in REFERENCE.read_text().split("beir:")[0]


def test_verdict_thresholds():
    assert verdict(0.67891, 0.6789) == "OK"
    assert verdict(0.6792, 0.6789) == "OKish"
    assert verdict(0.6799, 0.6789) == "FAIL"
    assert verdict(0.6799, 0.6789, tolerance=2e-3) == "OKish"


def test_smoke_run_bm25_ok_and_short_model_skipped(smoke_run):
    proc = _reproduce(smoke_run[0])
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    bm25 = [ln for ln in lines if "BM25 (zero-shot)" in ln]
    assert len(bm25) == 2 and all(ln.rstrip(" |").endswith("OK") for ln in bm25)
    model = [ln for ln in lines if "all-MiniLM-L6-v2 (zero-shot)" in ln]
    assert len(model) == 1 and "SKIP (eval length differs: 64 vs 256)" in model[0]


def test_wrong_expectation_fails_with_exit_1(smoke_run, tmp_path):
    rec = json.loads((smoke_run[0] / "records" / "zeroshot-bm25.json").read_text())
    got = rec["metrics"]["nDCG@10"]
    rr = rec["metrics"]["RR@10"]
    refs = {"beir": {"bm25-flat": {"source": "test", "system": "bm25",
                                   "scifact": {"nDCG@10": round(got + 0.01, 4),
                                               "RR@10": {"value": rr + 3e-4,
                                                         "tolerance": 1e-3},
                                               "R@100": rec["metrics"]["R@100"] + 3e-4}}}}
    ref = tmp_path / "ref.yaml"
    ref.write_text(yaml.safe_dump(refs))
    checks, _ = check_records([rec], load_references(ref))
    assert {c.measure: c.verdict for c in checks} == {"nDCG@10": "FAIL", "RR@10": "OKish",
                                                      "R@100": "OKish"}
    proc = _reproduce(smoke_run[0], ref)
    assert proc.returncode == 1
    assert "FAIL" in proc.stdout and "checks FAILED" in proc.stderr


@pytest.mark.parametrize("text", ["beir: [1, 2", "- just a list"])
def test_broken_reference_file_is_one_error_line(smoke_run, tmp_path, text):
    ref = tmp_path / "bad.yaml"
    ref.write_text(text)
    proc = _reproduce(smoke_run[0], ref)
    assert proc.returncode == 2 and proc.stderr.startswith("negbench: error:")
    assert proc.stderr.count("\n") == 1
