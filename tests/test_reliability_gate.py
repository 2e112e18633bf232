"""Class 3 of issue 14: the regression gate fails closed. Nothing to compare, a non-finite
score, a parameter under which the gate cannot fail, zero-shot rows of another budget or
records of other data: exit 2 with one line (1 stays "a regression was found"; see
docs/reliability.md, "Fail-closed gate")."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from reliability_helpers import cli, copy_records, fails

RUN = Path(__file__).resolve().parents[1] / "results" / "legacy-16-steps" / "scifact"
ENV = dict(os.environ, OMP_NUM_THREADS="1")
FILES = ["in-batch-seed13.json", "in-batch-seed42.json", "zeroshot-bm25.json",
         "zeroshot-model.json"]


def _folder(tmp_path: Path, name: str, files: list[str], edit=None) -> Path:
    return copy_records(RUN, tmp_path / name, files, edit)


@pytest.fixture()
def gate(tmp_path):
    """(run folder, baseline path, env): a baseline written from committed SciFact records."""
    run = _folder(tmp_path, "run", FILES)
    baseline = tmp_path / "baseline.json"
    proc = cli(["regress", "--run", run, "--write-baseline", baseline], ENV)
    assert proc.returncode == 0, proc.stderr
    assert cli(["regress", "--run", run, "--baseline", baseline], ENV).returncode == 0
    return run, baseline


def _edit(path: Path, fn) -> None:
    doc = json.loads(path.read_text())
    fn(doc)
    path.write_text(json.dumps(doc))


def _nan_score(doc):
    scores = doc["systems"]["in-batch"]["per_seed"]["nDCG@10"][0]
    scores[next(iter(scores))] = math.nan


@pytest.mark.parametrize("edit, message", [
    (_nan_score, "has a non-finite nDCG@10 score"),
    (lambda d: d["systems"]["in-batch"]["metrics"].update({"R@100": math.inf}),
     "has a non-finite R@100 score"),
    (lambda d: d.update(systems={}), "systems is empty: the gate would check nothing"),
    (lambda d: d.update(measures=[]), "measures is empty"),
])
def test_a_baseline_that_checks_nothing_or_holds_nan_is_an_error(gate, edit, message):
    run, baseline = gate
    _edit(baseline, edit)
    fails(["regress", "--run", run, "--baseline", baseline], ENV, str(baseline), message)


@pytest.mark.parametrize("option, value", [
    ("--alpha", "0"), ("--alpha", "nan"), ("--alpha", "1"), ("--tolerance", "nan"),
    ("--tolerance", "-0.01"), ("--tolerance", "1"), ("--resamples", "0"),
])
def test_a_gate_parameter_under_which_nothing_can_fail_is_an_error(gate, option, value):
    run, baseline = gate
    fails(["regress", "--run", run, "--baseline", baseline, option, value], ENV, option)


def test_a_nan_in_the_run_names_its_record(gate, tmp_path):
    _, baseline = gate

    def nan(rec):
        if rec["name"] == "in-batch" and rec["seed"] == 13:
            rec["metrics"]["nDCG@10"] = math.nan
        return rec

    run = _folder(tmp_path, "nan-run", FILES, nan)
    fails(["regress", "--run", run, "--baseline", baseline], ENV,
          str(run / "records" / "in-batch-seed13.json"), "is not a finite number")


def test_zero_shot_baselines_are_not_compared_across_budgets(tmp_path):
    zero = ["zeroshot-bm25.json", "zeroshot-model.json"]
    base_run = _folder(tmp_path, "base", zero)
    baseline = tmp_path / "zs.json"
    assert cli(["regress", "--run", base_run, "--write-baseline", baseline], ENV).returncode == 0

    def shorter(rec):
        if rec["name"] != "BM25":
            rec["budget"]["eval_max_length"] = 64
        return rec

    fails(["regress", "--run", _folder(tmp_path, "short", zero, shorter), "--baseline",
           baseline], ENV, "differ in the budget of zero-shot", "eval_max_length")


def test_a_baseline_of_other_data_is_an_error(gate, tmp_path):
    _, baseline = gate
    _edit(baseline, lambda d: d.update(data_fingerprint="a" * 64))
    run = _folder(tmp_path, "other", FILES, lambda r: {**r, "data_fingerprint": "b" * 64})
    fails(["regress", "--run", run, "--baseline", baseline], ENV, "differ in data_fingerprint")
