"""MS MARCO passage suites on the real staged queries/qrels (passages: a SYNTHETIC fixture)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from negbench.harness.errors import NegbenchError
from negbench.harness.evaluation.conventions import PROFILES
from negbench.harness.evaluation.evaluate import evaluate_run
from negbench.harness.evaluation.measures import parse_measures
from negbench.suites.loading import load_test_qrels
from negbench.suites.registry import get_suite

FIXTURE = Path(__file__).parent / "fixtures" / "msmarco_synthetic"


@pytest.fixture(scope="module")
def dev_small(irds_home, data_dir):
    return load_test_qrels(get_suite("msmarco-passage/dev/small"), data_dir)


@pytest.fixture(scope="module")
def dl19(irds_home, data_dir):
    return load_test_qrels(get_suite("msmarco-passage/trec-dl-2019"), data_dir)


def _perfect(qrels, qids, min_rel=1):
    return {q: [(d, float(r)) for d, r in sorted(qrels[q].items(), key=lambda x: -x[1])
                if r >= min_rel] for q in qids}


def test_dev_small_perfect_and_half_runs(dev_small):
    qrels = dev_small.qrels
    assert len(qrels) == 6980 and sum(len(j) for j in qrels.values()) == 7437
    m = parse_measures(["RR@10", "R@1000"])
    full = evaluate_run(qrels, _perfect(qrels, qrels), m, PROFILES["msmarco"])
    assert full.means == {"RR@10": 1.0, "R@1000": 1.0}
    half = sorted(qrels)[: len(qrels) // 2]
    ev = evaluate_run(qrels, _perfect(qrels, half), m, PROFILES["msmarco"])
    assert ev.num_queries == 6980 and ev.num_missing == 6980 - len(half)
    assert ev.means["RR@10"] == pytest.approx(len(half) / 6980)


def test_dl19_graded_ideal_run_and_recall_threshold(dl19):
    qrels = dl19.qrels
    m = parse_measures(["nDCG@10", "R@1000"])
    ideal = evaluate_run(qrels, _perfect(qrels, qrels), m, PROFILES["trec-dl"])
    assert ideal.num_queries == 43 and ideal.means["nDCG@10"] == pytest.approx(1.0)
    # a run holding only the grade-1 passages: relevant at rel >= 1, not at rel >= 2
    ones = {q: [(d, 1.0) for d, r in j.items() if r == 1] for q, j in qrels.items()}
    ones = {q: h for q, h in ones.items() if h}
    dl = evaluate_run(qrels, ones, m, PROFILES["trec-dl"]).means["R@1000"]
    marco = evaluate_run(qrels, ones, m, PROFILES["msmarco"]).means["R@1000"]
    assert dl == 0.0 and 0.0 < marco < 1.0


def test_eval_cli_on_real_qrels(dev_small, irds_home, tmp_path):
    half = sorted(dev_small.qrels)[:100]
    run = tmp_path / "run.trec"
    run.write_text("".join(f"{q} Q0 {d} 1 1.0 test\n" for q in half
                           for d in list(dev_small.qrels[q])[:1]))
    env = dict(os.environ, IR_DATASETS_HOME=str(irds_home))
    proc = subprocess.run([sys.executable, "-m", "negbench.harness.cli", "eval", "--suite",
                           "msmarco-passage/dev/small", "--run", str(run),
                           "--output", str(tmp_path / "ev.json")],
                          env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "6,880 absent from the run scored 0" in proc.stdout
    import json

    ev = json.loads((tmp_path / "ev.json").read_text())
    assert ev["metrics"]["RR@10"] == pytest.approx(100 / 6980)
    assert ev["conventions"]["profile"] == "msmarco"


def test_synthetic_collection_path(irds_home, data_dir):
    from negbench.suites.msmarco import load_msmarco

    suite = get_suite("msmarco-passage/dev/small").with_collection(FIXTURE / "collection.tsv")
    with pytest.raises(NegbenchError, match="lacks 7,422 of 7,433 relevant passages"):
        load_msmarco(suite, data_dir)
    data = load_msmarco(suite, data_dir, allow_partial=True)
    assert len(data.corpus) == 11 + 14 and len(data.test.queries) == 6980
    assert data.corpus.docs["7067032"].text.startswith("SYNTHETIC")
    assert data.train.source.endswith("qrels.train.tsv") and len(data.train.qrels) == 14
    assert data.info["relevant_passages_missing"] == 7422


def test_run_collection_option_reaches_the_loader(irds_home, tmp_path):
    env = dict(os.environ, IR_DATASETS_HOME=str(irds_home))
    proc = subprocess.run([sys.executable, "-m", "negbench.harness.cli", "run", "--suite",
                           "msmarco-passage/dev/small", "--samplers", "in-batch",
                           "--collection", str(FIXTURE / "collection.tsv"),
                           "--output", str(tmp_path / "out")],
                          env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith("(8,841,823 passages)")
    assert "collection lacks 7,422" in proc.stderr and "Traceback" not in proc.stderr
