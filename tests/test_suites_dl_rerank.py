"""TREC DL reranking suites on the real staged BM25 top-100 lists (rank_llm, DL 2019)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from reliability_helpers import cli, fails

from negbench.harness.errors import NegbenchError
from negbench.suites.loading import load_suite_data
from negbench.suites.registry import get_suite

DL19 = "msmarco-passage/trec-dl-2019/bm25-top100"
DL20 = "msmarco-passage/trec-dl-2020/bm25-top100"
LISTS = Path("msmarco-passage") / "rankllm-bm25-dl19"


@pytest.fixture(scope="module")
def dl19(irds_home, data_dir):
    return load_suite_data(get_suite(DL19), data_dir)


def _trec(path: Path) -> dict[str, list[tuple[str, float]]]:
    run: dict[str, list[tuple[str, float]]] = {}
    for line in path.read_text().splitlines():
        qid, _, did, _, score, _ = line.split()
        run.setdefault(qid, []).append((did, float(score)))
    return run


def _ndcg10(run: dict, qrels_path: Path) -> float:
    """trec_eval's ndcg_cut.10 (linear gain, ties by doc id descending), written out here."""
    qrels: dict[str, dict[str, int]] = {}
    for line in qrels_path.read_text().splitlines():
        qid, _, did, rel = line.split()
        qrels.setdefault(qid, {})[did] = int(rel)
    scores = []
    for qid, judged in qrels.items():
        ranked = sorted(run.get(qid, []), key=lambda h: (h[1], h[0]), reverse=True)[:10]
        dcg = sum(judged.get(d, 0) / math.log2(i + 2) for i, (d, _) in enumerate(ranked))
        ideal = sorted((r for r in judged.values() if r > 0), reverse=True)[:10]
        scores.append(dcg / sum(r / math.log2(i + 2) for i, r in enumerate(ideal)))
    return sum(scores) / len(scores)


def test_suite_loads_the_pools(dl19, data_dir):
    trec = _trec(data_dir / LISTS / "trec_results_dl19.txt")
    assert len(dl19.test.queries) == 43 and set(dl19.candidates) == set(dl19.test.queries)
    assert len(dl19.corpus) == 4297 == len({d for h in trec.values() for d, _ in h})
    for qid, hits in trec.items():  # each query's pool: its 100 candidates, in BM25 order
        assert dl19.pool(qid) == [d for d, _ in hits] and len(hits) == 100
    # the official qrels, not cut to the pools (the ideal ranking counts judged passages
    # outside them, as trec_eval on the run does)
    assert sum(len(j) for j in dl19.test.qrels.values()) == 9260
    first = json.loads((data_dir / LISTS / "retrieve_results_dl19.json").read_text())[0]["hits"][0]
    assert dl19.corpus.docs[first["docid"]].text == first["content"].strip()
    run = {q: [(d, 1.0) for d in dl19.corpus.ids] for q in list(trec)[:2]}
    assert {q: {d for d, _ in h} for q, h in dl19.restrict_run(run).items()} == \
        {q: set(dl19.pool(q)) for q in run}
    with pytest.raises(NegbenchError, match="evaluation-only"):
        dl19.train.positives()


def test_zero_shot_rows(dl19, data_dir, tmp_path, cli_env, tiny_model_dir):
    """BM25 = the first stage itself (trec_eval's 0.5058); the dense row reranks each pool."""
    out = tmp_path / "zs"
    proc = cli(["zero-shot", "--suite", DL19, "--model", tiny_model_dir, "--budget", "smoke",
                "--output", out, "--quiet"], cli_env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    bm25 = json.loads((out / "records" / "zeroshot-bm25.json").read_text())
    reference = _ndcg10(_trec(data_dir / LISTS / "trec_results_dl19.txt"),
                        data_dir / "msmarco-passage" / "qrels.dl19-passage.txt")
    assert reference == pytest.approx(0.5058, abs=1e-4)
    assert abs(bm25["metrics"]["nDCG@10"] - 0.506) <= 0.005
    assert bm25["metrics"]["nDCG@10"] == pytest.approx(reference, abs=1e-6)
    assert bm25["zero_shot"]["first_stage"] == f"{LISTS}/retrieve_results_dl19.json"
    model = _trec(out / "runs" / "zeroshot-model.trec")
    assert set(model) == set(dl19.test.queries)
    for qid, hits in model.items():
        assert {d for d, _ in hits} == set(dl19.pool(qid))
    assert "BM25 (zero-shot)" in proc.stdout and "43 queries" in proc.stdout


def test_dl20_lists_absent_is_one_line(tmp_path, cli_env):
    fails(["zero-shot", "--suite", DL20, "--data-root", tmp_path, "--output", tmp_path / "o"],
          cli_env, "place retrieve_results_dl20.json and trec_results_dl20.txt",
          f"in {tmp_path.resolve() / 'msmarco-passage' / 'rankllm-bm25-dl20'}/",
          output=tmp_path / "o")
    assert get_suite(DL20).data_status(tmp_path).startswith("needs data: place ")


def test_lists_of_the_wrong_year_are_refused(irds_home, data_dir, tmp_path):
    """DL-19 lists placed as the DL-20 files: one line, not a suite of 0 scores."""
    folder = tmp_path / "msmarco-passage"
    (folder / "rankllm-bm25-dl20").mkdir(parents=True)
    for f in (data_dir / "msmarco-passage").iterdir():  # the staged topics and qrels
        if not f.name.startswith("rankllm-"):
            (folder / f.name).symlink_to(f)
    for kind, name in (("retrieve_results", "json"), ("trec_results", "txt")):
        (folder / "rankllm-bm25-dl20" / f"{kind}_dl20.{name}").symlink_to(
            data_dir / LISTS / f"{kind}_dl19.{name}")
    with pytest.raises(NegbenchError, match="not judged in msmarco-passage/trec-dl-2020/judged"):
        load_suite_data(get_suite(DL20), tmp_path)
