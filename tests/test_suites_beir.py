"""BEIR suites: staged ones, generic ``beir/<name>`` by ir_datasets id, and `negbench suites`."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from negbench.harness.errors import NegbenchError
from negbench.suites.loading import load_suite_data
from negbench.suites.registry import all_suites, get_suite


def test_generic_beir_suite_takes_splits_from_ir_datasets(irds_home):
    fiqa = get_suite("beir/fiqa")
    assert (fiqa.corpus, fiqa.train, fiqa.dev, fiqa.test) == \
        ("beir/fiqa", "beir/fiqa/train", "beir/fiqa/dev", "beir/fiqa/test")
    assert fiqa.data_status(None) == "ir_datasets download (needs network)"
    quora = get_suite("beir/quora")  # dev + test only: trains on dev
    assert quora.train == "beir/quora/dev" and quora.dev is None
    android = get_suite("beir/cqadupstack/android")
    assert android.test == "beir/cqadupstack/android" and android.train == ""


def test_generic_beir_errors(irds_home):
    with pytest.raises(NegbenchError, match="did you mean 'beir/fiqa'"):
        get_suite("beir/fiqaa")
    with pytest.raises(NegbenchError, match="names a split"):
        get_suite("beir/fiqa/test")


def test_staged_beir_suites_unchanged(scifact):
    assert get_suite("beir/scifact").staged == "beir-scifact"
    assert len(scifact.train.qrels) == 809 and len(scifact.test.qrels) == 300


def test_nfcorpus_dev_split_is_loaded(irds_home, data_dir):
    data = load_suite_data(get_suite("beir/nfcorpus"), data_dir)
    assert len(data.dev.qrels) == 324 and len(data.test.qrels) == 323
    assert max(r for j in data.test.qrels.values() for r in j.values()) == 2


def test_no_train_split_fails_on_use():
    from negbench.suites.suite_data import NoTrainSplit

    split = NoTrainSplit("suite 'x' has no training split")
    with pytest.raises(NegbenchError, match="no training split"):
        split.positives()


def test_suites_command_lists_every_suite_with_status():
    wide = dict(os.environ, COLUMNS="1000")  # a wide terminal: one line per suite
    proc = subprocess.run([sys.executable, "-m", "negbench.harness.cli", "suites"],
                          capture_output=True, text=True, check=False, env=wide)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    for name in all_suites():
        row = next(line for line in lines if line.startswith(f"| {name} "))
        assert any(s in row for s in ("present", "needs data", "needs network")), row
    assert "esco/tech " in proc.stdout and "msmarco-passage/trec-dl-hard" in proc.stdout
