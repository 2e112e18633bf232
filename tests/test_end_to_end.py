"""End-to-end on real SciFact with the real all-MiniLM-L6-v2 and the ``smoke`` budget."""

from __future__ import annotations

import hashlib
import json
import subprocess

REFERENCE_BM25 = {"nDCG@10": 0.6789, "R@100": 0.9253}  # pyserini 2CR, BEIR flat


# `smoke_run` (the real smoke pipeline, once per session) lives in conftest.py.


def test_bm25_reproduces_pyserini(smoke_run):
    out = smoke_run[0]
    rec = json.loads((out / "records" / "zeroshot-bm25.json").read_text())
    for m, ref in REFERENCE_BM25.items():
        assert abs(rec["metrics"][m] - ref) <= 0.005, (m, rec["metrics"][m])


def test_records_carry_provenance(smoke_run):
    out = smoke_run[0]
    rec = json.loads((out / "records" / "dense-seed13.json").read_text())
    assert rec["suite"] == "beir/scifact" and rec["split"] == "beir/scifact/test"
    assert rec["seed"] == 13 and rec["budget"]["name"] == "smoke"
    assert rec["budget"]["train_max_length"] and rec["budget"]["eval_max_length"]
    assert rec["conventions"]["profile"] == "beir"
    assert {"mine", "train", "encode", "retrieve", "evaluate"} <= set(rec["timings_s"])
    assert rec["peak_rss_mb"] > 0 and rec["versions"]["torch"].startswith("2.13.0")
    neg = out / rec["negatives"]["file"]
    assert hashlib.sha256(neg.read_bytes()).hexdigest() == rec["negatives"]["sha256"]
    assert len(rec["per_query"]["nDCG@10"]) == 300
    base = json.loads((out / "records" / "zeroshot-model.json").read_text())
    assert base["kind"] == "zero-shot" and base["zero_shot"]["model"] == "all-MiniLM-L6-v2"
    fn = rec["false_negatives"]
    assert fn["negatives"] == 919 and fn["judged_share"] == 0.0
    # no audit teacher on smoke (one trained in its minutes ranks at chance), and it says so
    assert fn["teacher"] is None and fn["ce_above_positive_share"] is None
    assert "false-negative audit: no cross-encoder teacher on budget 'smoke'" in \
        smoke_run[3].stderr
    # training changed the model
    assert rec["trained_model_fingerprint"] != rec["base_model_fingerprint"]


def test_table_lists_reference_rows_and_samplers(smoke_run):
    out, _, _, proc = smoke_run
    table = (out / "table.md").read_text()
    for row in ("BM25 (zero-shot)", "all-MiniLM-L6-v2 (zero-shot)", "| in-batch", "| dense"):
        assert row in table
    assert "nDCG@10" in table and "R@1000" in table and "Conventions" in table
    assert table.strip() in proc.stdout


def test_rerun_skips_finished_runs(smoke_run):
    out, cmd, env, _ = smoke_run
    before = {p.name: p.stat().st_mtime_ns for p in (out / "records").iterdir()}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    assert "2 of 2 runs already finished" in proc.stderr
    after = {p.name: p.stat().st_mtime_ns for p in (out / "records").iterdir()}
    assert before == after
