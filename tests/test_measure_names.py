"""Measure names in the spellings users bring (ir_measures, trec_eval, MTEB, any case) read as
negbench's, on every command that names a measure; an unknown one is a one-line error with a
"did you mean" (the committed SciFact query-side records)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from negbench.harness.errors import NegbenchError
from negbench.harness.evaluation.measures import canonical, parse_measures, select_measures

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "results" / "runs" / "scifact-query-side"  # nDCG@10, RR@10, R@100, R@1000


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "negbench.harness.cli", *args],
                          capture_output=True, text=True, check=False)


@pytest.mark.parametrize("spellings, name", [
    (["ndcg@10", "nDCG@10", "NDCG@10", "ndcg_cut_10", "ndcg_cut.10", "ndcg_at_10"], "nDCG@10"),
    (["MRR@10", "mrr@10", "RR@10", "recip_rank@10", "mrr_at_10"], "RR@10"),
    (["recall@100", "R@100", "recall_100", "recall_at_100"], "R@100"),
    (["map", "AP", "MAP"], "AP"),
    (["map_cut_10", "map@10", "map_at_10"], "AP@10"),
    (["P@10", "precision@10", "P_10", "precision_at_10"], "P@10"),
    (["Rprec", "RP"], "RP"),
    (["R_cap@100", "RP@100"], "RP@100"),
    (["recip_rank", "MRR"], "RR"),
])
def test_spellings_read_as_negbench_names(spellings, name):
    assert {canonical(s) for s in spellings} == {name}


@pytest.mark.parametrize("text, message", [
    ("ndgc@10", r"unknown measure 'ndgc@10'; did you mean nDCG@10\? Known: nDCG, RR"),
    ("mrrr_at_10", r"did you mean RR@10\?"),
    ("success@10", r"unknown measure 'success@10'\. Known: "),
    ("ndcg@0", r"the cutoff '0' is not a whole number >= 1"),
])
def test_unknown_name_suggests_the_closest(text, message):
    with pytest.raises(NegbenchError, match=message):
        canonical(text)


def test_records_spelling_and_repeats():
    held = ["nDCG@10", "RR@10", "R@100", "R@1000"]
    assert select_measures(["MRR@10", "ndcg_cut_10", "recall_1000"], held) == \
        ["RR@10", "nDCG@10", "R@1000"]
    with pytest.raises(NegbenchError, match=r"'ndcg@20' \(nDCG@20\) is not in the records; "
                                            r"did you mean nDCG@10\? They hold nDCG@10, RR@10"):
        select_measures(["ndcg@20"], held)
    with pytest.raises(NegbenchError, match=r"measure RR@10 named twice \('mrr@10' and 'RR@10'"):
        select_measures(["mrr@10", "RR@10"], held)
    with pytest.raises(NegbenchError, match=r"measure nDCG@10 named twice"):
        parse_measures(["ndcg_cut_10", "nDCG@10"])


@pytest.mark.parametrize("given, shown", [("MRR@10", "RR@10"), ("ndcg_cut_10", "nDCG@10")])
def test_report_reads_other_spellings(given, shown, tmp_path):
    proc = cli("report", str(RUNS), "--measures", given, "--output", str(tmp_path),
               "--no-plots", "--resamples", "200")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((tmp_path / "report.json").read_text())["measures"] == [shown]
    assert f"| {shown}" in (tmp_path / "report.md").read_text()


@pytest.mark.parametrize("args", [
    ["report", str(RUNS), "--measures", "ndgc@10", "--no-plots"],
    ["plan", str(RUNS), "--measure", "ndgc@10", "--effect", "0.01"],
    ["decompose", str(RUNS), str(RUNS), "--measure", "ndgc@10"],
])
def test_unknown_measure_exits_2_with_a_suggestion(args, tmp_path):
    if args[0] == "report":
        args = [*args, "--output", str(tmp_path)]
    proc = cli(*args)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line == ("negbench: error: unknown measure 'ndgc@10'; did you mean nDCG@10? Known: "
                    "nDCG, RR, R, P, AP, RP, each with an optional @k, also as ir_measures, "
                    "trec_eval or MTEB write them (MRR@10, ndcg_cut_10, recall_100, map, P_10, "
                    "ndcg_at_10)")


def test_plan_and_regress_read_other_spellings(tmp_path):
    proc = cli("plan", str(RUNS), "--measure", "mrr_at_10", "--effect", "0.01",
               "--baseline", "random", "--queries", "1109")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "detect RR@10 differences" in proc.stdout
    base = tmp_path / "baseline.json"
    proc = cli("regress", "--run", str(RUNS), "--write-baseline", str(base), "--measures",
               "NDCG@10,recall@100")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(base.read_text())["measures"] == ["nDCG@10", "R@100"]
