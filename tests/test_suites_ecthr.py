"""ECtHR-PCR loader, temporal split and candidate pool on the SYNTHETIC fixture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from negbench.harness.errors import NegbenchError
from negbench.suites.loading import load_suite_data
from negbench.suites.registry import get_suite

FIXTURE = Path(__file__).parent / "fixtures" / "ecthr_synthetic" / "echr_pcr_synthetic.json"


@pytest.fixture(scope="module")
def data():
    return load_suite_data(get_suite("ecthr-pcr").with_collection(FIXTURE))


def test_temporal_splits_and_relevance(data):
    raw = {k: v for k, v in json.loads(FIXTURE.read_text()).items() if not k.startswith("_")}
    assert len(data.corpus) == len(raw) == 10
    assert set(data.train.qrels) == {"10003/10", "10004/11"}
    assert set(data.dev.qrels) == {"10005/13", "10006/14"}
    assert set(data.test.qrels) == {"10007/15", "90001/18", "90002/19"}
    # later (90002/19) and unknown (99999/99) citations are not relevant
    assert set(data.test.qrels["90001/18"]) == {"10003/10", "10005/13"}
    # every relevant case is strictly earlier than its query, in every split
    for split in (data.train, data.dev, data.test):
        for q, judged in split.qrels.items():
            assert all(data.doc_dates[d] < data.query_dates[q] for d in judged)
    assert data.doc_dates["10005/13"] == "2016-07-14"  # dd/mm/yyyy read
    # query = facts only; document = facts + law
    assert data.test.queries["90002/19"] == " ".join(raw["90002/19"]["facts"])
    assert raw["90002/19"]["law"][0] in data.corpus.docs["90002/19"].text
    assert data.info["queries_without_prior_citations"] == 3


def test_candidate_pool_only_earlier_cases(data):
    assert data.pool("10003/10") == ["10001/08", "10002/09"]
    run = {"10007/15": [(d, 1.0) for d in data.corpus.ids]}
    kept = [d for d, _ in data.restrict_run(run)["10007/15"]]
    assert kept == data.pool("10007/15")
    assert "10007/15" not in kept and "90001/18" not in kept and "10004/11" in kept


def test_split_dates_are_suite_params():
    import dataclasses

    suite = get_suite("ecthr-pcr").with_collection(FIXTURE)
    later = dataclasses.replace(suite, params={**suite.params, "train_before": "2017-01-01",
                                               "dev_before": "2018-01-01"})
    d = load_suite_data(later)
    assert set(d.train.qrels) == {"10003/10", "10004/11", "10005/13", "10006/14"}
    assert d.dev.qrels.keys() == {"10007/15"}


def test_missing_data_is_one_line_error(monkeypatch, tmp_path):
    monkeypatch.delenv("NEGBENCH_ECTHR", raising=False)
    suite = get_suite("ecthr-pcr")
    assert suite.data_status(None).startswith("needs data: echr_pcr_dataset.json")
    with pytest.raises(NegbenchError, match="NEGBENCH_ECTHR"):
        load_suite_data(suite)
    monkeypatch.setenv("NEGBENCH_ECTHR", str(FIXTURE))
    assert suite.data_status(None) == "present"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"1/20": {"date": "2020-01-01", "facts": ["x"], "law": []}}))
    with pytest.raises(NegbenchError, match=r"case 1/20: missing field\(s\) \['citations'\]"):
        load_suite_data(suite.with_collection(bad))
