"""`negbench report` on the real smoke run (plus a second, genuinely degraded seed)."""

from __future__ import annotations

import csv
import json
import shutil
import statistics
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats as sps

from negbench.harness.evaluation.records import seal
from negbench.harness.io.trec_files import read_trec_run
from negbench.harness.reporting.regress import noisy_record
from negbench.harness.reporting.stats import seed_test


def _report(folder, *extra, env=None):
    cmd = [sys.executable, "-m", "negbench.harness.cli", "report", str(folder), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)


@pytest.fixture(scope="module")
def results(smoke_run, scifact, tmp_path_factory):
    """The smoke records plus a second `dense` "seed" re-evaluated with score noise, so one
    system has two seeds (mean ± sd over seeds) and differs genuinely from the first."""
    out = tmp_path_factory.mktemp("report-results")
    shutil.copytree(smoke_run[0] / "records", out / "records")
    rec = json.loads((out / "records" / "dense-seed13.json").read_text())
    run = read_trec_run(smoke_run[0] / "runs" / "dense-seed13.trec")
    second = noisy_record(rec, run, scifact.test.qrels, 0.02, 1)
    second["seed"] = 14
    (out / "records" / "dense-seed14.json").write_text(json.dumps(second))
    return out


def test_report_files_tables_and_legend(results, tmp_path):
    proc = _report(results, "--output", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    for name in ("report.md", "report.tex", "report.csv", "report-comparisons.csv",
                 "report.json", "report-metrics.png", "report-perquery-diff.png",
                 "report-forest.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    md = (tmp_path / "report.md").read_text()
    assert md in proc.stdout + "\n"
    assert "paired t-test" in md and "Holm-corrected" in md and "profile `beir`" in md
    assert "seed-aware t-test" in md and "MDE" in md
    recs = [json.loads(p.read_text()) for p in (results / "records").glob("*seed*.json")]
    has_fn = any(isinstance(v := (r.get("false_negatives") or {}).get(k), (int, float)) and v
                 for r in recs for k in ("judged_share", "ce_above_positive_share"))
    assert (tmp_path / "report-fn-share.png").exists() == has_fn
    assert ("FN-share plot skipped" in md) == (not has_fn)
    tex = (tmp_path / "report.tex").read_text()
    assert "\\begin{tabular}" in tex and "Holm" in tex and "profile" in tex


def test_cells_are_seed_means_and_p_values_are_scipys(results, tmp_path):
    assert _report(results, "--output", str(tmp_path), "--no-plots").returncode == 0
    recs = [json.loads(p.read_text()) for p in sorted((results / "records").glob("dense-*"))]
    rows = {(r["system"], r["measure"]): r
            for r in csv.DictReader((tmp_path / "report.csv").open())}
    dense = rows[("dense", "nDCG@10")]
    vals = [r["metrics"]["nDCG@10"] for r in recs]
    assert float(dense["mean"]) == pytest.approx(statistics.mean(vals), abs=1e-12)
    assert float(dense["sd"]) == pytest.approx(statistics.stdev(vals), abs=1e-12)
    assert dense["seeds"] == "13 14" and dense["baseline"] == "in-batch"
    # secondary p: paired t-test on per-query scores averaged over the two seeds
    base = json.loads((results / "records" / "in-batch-seed13.json").read_text())
    qids = sorted(base["per_query"]["nDCG@10"])
    a = [statistics.mean(r["per_query"]["nDCG@10"][q] for r in recs) for q in qids]
    b = [base["per_query"]["nDCG@10"][q] for q in qids]
    assert float(dense["p_query"]) == pytest.approx(sps.ttest_rel(a, b).pvalue, abs=1e-9)
    # primary p: the seed-aware test on the seeds x queries matrices (in-batch has one seed
    # and borrows dense's seed variance), wider than the query-level test
    ya = np.array([[r["per_query"]["nDCG@10"][q] for q in qids] for r in recs])
    st = seed_test(ya, np.array([b]))
    assert dense["seed_variance"] == st.seed_variance == "borrowed"
    assert float(dense["p"]) == pytest.approx(st.p, abs=1e-12)
    assert float(dense["p"]) > float(dense["p_query"])
    # BM25 (zero-shot) vs in-batch (one seed): no seed variance to estimate -> paired t
    bm25 = rows[("BM25", "nDCG@10")]
    zs = json.loads((results / "records" / "zeroshot-bm25.json").read_text())
    x = [zs["per_query"]["nDCG@10"][q] for q in qids]
    assert bm25["seed_variance"] == "none"
    assert float(bm25["p"]) == pytest.approx(sps.ttest_rel(x, b).pvalue, abs=1e-9)
    doc = json.loads((tmp_path / "report.json").read_text())
    assert doc["conventions"]["profile"] == "beir" and doc["correction"]["method"] == "holm"
    fam = [c for c in doc["comparisons"] if c["measure"] == "nDCG@10"]
    assert len(fam) == 3  # BM25, base model, dense against in-batch
    assert all(c["p_adj"] >= c["p"] for c in fam)


def test_all_pairs_permutation_and_bonferroni(results, tmp_path):
    proc = _report(results, "--output", str(tmp_path), "--no-plots", "--all-pairs",
                   "--test", "permutation", "--correction", "bonferroni", "--measures",
                   "nDCG@10")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "report.json").read_text())
    assert len(doc["comparisons"]) == 6  # 4 systems, all pairs
    # two families: pairs of trained systems, and pairs with a zero-shot row
    for c in doc["comparisons"]:
        assert 1 <= c["family"] < 6
        assert c["p_adj"] == pytest.approx(min(1.0, c["family"] * c["p"]))
    assert sum(1.0 / c["family"] for c in doc["comparisons"]) == pytest.approx(2)
    md = (tmp_path / "report.md").read_text()
    assert "Fisher randomization" in md and "Bonferroni" in md
    # BM25 beats every smoke-trained system on SciFact by ~0.1 nDCG@10: letters appear
    assert "(a) BM25 (zero-shot)" in md and "^" in md.split("(a) BM25 (zero-shot)")[1][:80]


def test_fn_share_plot_when_records_carry_false_negatives(results, tmp_path):
    folder = tmp_path / "fn"
    shutil.copytree(results / "records", folder / "records")
    for i, p in enumerate(sorted((folder / "records").glob("*seed*.json"))):
        rec = json.loads(p.read_text())
        rec["false_negatives"] = {"judged_share": 0.01 * (i + 1),
                                  "ce_above_positive_share": 0.02 * (i + 1)}
        p.write_text(json.dumps(seal(rec)))  # as a run with these shares would write it
    assert _report(folder).returncode == 0
    assert (folder / "report-fn-share.png").stat().st_size > 0
    assert "FN-share plot skipped" not in (folder / "report.md").read_text()


def test_mixed_suites_are_one_error_line(results, tmp_path):
    shutil.copytree(results / "records", tmp_path / "records")
    p = tmp_path / "records" / "in-batch-seed13.json"
    rec = json.loads(p.read_text())
    rec["suite"] = "beir/nfcorpus"
    p.write_text(json.dumps(seal(rec)))  # as a run on NFCorpus would write it
    proc = _report(tmp_path, "--no-plots")
    assert proc.returncode == 2
    assert proc.stderr.startswith("negbench: error:") and proc.stderr.count("\n") == 1
    assert "suite differs" in proc.stderr and "beir/nfcorpus: 1" in proc.stderr


def test_systems_keeps_only_the_named_records(results, tmp_path):
    present = {json.loads(p.read_text())["name"] for p in (results / "records").glob("*.json")}
    assert {"in-batch", "dense"} <= present and len(present) > 2
    proc = _report(results, "--output", str(tmp_path), "--no-plots", "--systems", "in-batch,dense")
    assert proc.returncode == 0, proc.stderr
    systems = {r["system"] for r in csv.DictReader((tmp_path / "report.csv").open())}
    assert systems == {"in-batch", "dense"}
    bad = _report(results, "--output", str(tmp_path), "--no-plots", "--systems", "dense,nope")
    assert bad.returncode == 2 and "nope" in bad.stderr and "Traceback" not in bad.stderr
