"""Issue 29, item 1: cross-fitted evaluation (``negbench run --folds K``) on real SciFact.

The fold assignment and fold data on the staged SciFact; the folder rules through the CLI
(refusals only, cheap); one tiny cross-fitted grid (K=2, one seed, ``random``, 2 steps of the
tiny model on SciFact cut to its judged documents) for records, table, report and leaderboard.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from reliability_helpers import cli, env, refused

from negbench.harness.data.crossfit import (
    CrossFit,
    assign_folds,
    assignment_sha256,
    fold_data,
    labelled,
)
from negbench.harness.errors import NegbenchError
from negbench.suites.suite_data import NoTrainSplit

SCIFACT_RECORDS = Path(__file__).resolve().parents[1] / "results" / "runs" / \
    "scifact-query-side" / "records"


def _labelled_ids(data) -> set[str]:
    return {q for sp in (data.train, data.test) for q, j in sp.qrels.items()
            if any(r >= 1 for r in j.values())}


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# -- the fold assignment -------------------------------------------------------------------------
@pytest.mark.parametrize("k", [2, 5, 10])
def test_folds_partition_every_labelled_query_with_balanced_sizes(scifact, k):
    cf = CrossFit.of(scifact, k, 0)
    folds = [set(f) for f in cf.folds]
    assert len(folds) == k
    assert sum(len(f) for f in folds) == len(set().union(*folds))  # no query in two folds
    assert set().union(*folds) == _labelled_ids(scifact)
    assert len(set().union(*folds)) == 809 + 300 == 1109  # the staged SciFact: no overlap
    sizes = [len(f) for f in folds]
    assert max(sizes) - min(sizes) <= 1


def test_same_seed_same_assignment_another_seed_another(scifact):
    a, b, c = (CrossFit.of(scifact, 5, s) for s in (0, 0, 1))
    assert a.folds == b.folds and a.sha256 == b.sha256
    assert a.folds != c.folds and a.sha256 != c.sha256
    assert a.sha256 == assignment_sha256([list(f) for f in a.folds])
    ids = sorted(_labelled_ids(scifact))
    assert assign_folds(ids, 3, 7) == assign_folds(list(reversed(ids)) + ids[:5], 3, 7)


def test_queries_of_one_text_share_a_fold(scifact):
    """SciFact repeats four claims under two ids each (two pairs straddle train and test):
    each pair lands in one fold, so no fold trains on its own test claims."""
    from negbench.harness.pipeline.preflight import data_checks

    pool = labelled(scifact)
    by_text: dict[str, list[str]] = {}
    for q, t in pool.queries.items():
        by_text.setdefault(" ".join(t.split()), []).append(q)
    pairs = [qs for qs in by_text.values() if len(qs) > 1]
    assert len(pairs) == 4
    assert data_checks(scifact)["train_test_overlap"] == 2  # the official split
    for seed in (0, 1):
        cf = CrossFit.of(scifact, 5, seed)
        fold_of = {q: i for i, f in enumerate(cf.folds) for q in f}
        assert all(len({fold_of[q] for q in qs}) == 1 for qs in pairs)
        assert all(data_checks(cf.data(scifact, i))["train_test_overlap"] == 0
                   for i in range(5))


def test_bad_k_and_a_suite_without_training_split_are_one_line_errors(scifact):
    n = len(_labelled_ids(scifact))
    for k in (1, 0, n + 1):
        with pytest.raises(NegbenchError, match=r"^--folds .*: expected an integer from 2") \
                as err:
            CrossFit.of(scifact, k, 0)
        assert "\n" not in str(err.value)
    assert len(CrossFit.of(scifact, n, 0).folds) == n  # K = number of queries is allowed
    eval_only = dataclasses.replace(
        scifact, train=NoTrainSplit("suite 'irds:beir/scifact/test' has no training split"))
    with pytest.raises(NegbenchError, match="has no training split") as err:
        CrossFit.of(eval_only, 5, 0)
    assert "\n" not in str(err.value) and "--folds" in str(err.value)


def test_an_id_in_both_splits_is_one_query(scifact):
    """A test query that also sits in the training qrels (another judged doc) is one query:
    in one fold, with both judgements."""
    qid = min(scifact.test.qrels)
    extra = next(d for d in scifact.corpus.ids if d not in scifact.test.qrels[qid])
    train = dataclasses.replace(
        scifact.train, queries={**scifact.train.queries, qid: scifact.test.queries[qid]},
        qrels={**scifact.train.qrels, qid: {extra: 1}})
    both = dataclasses.replace(scifact, train=train)
    pool = labelled(both)
    assert len(pool.queries) == 1109
    assert pool.qrels[qid] == {**scifact.test.qrels[qid], extra: 1}
    cf = CrossFit.of(both, 4, 0)
    assert sum(qid in f for f in cf.folds) == 1
    other = dataclasses.replace(
        both, train=dataclasses.replace(train, queries={**train.queries, qid: "another text"}))
    with pytest.raises(NegbenchError, match="two different texts"):
        labelled(other)


def test_fold_data_train_and_test_are_disjoint_and_qrels_go_with_their_query(scifact):
    cf = CrossFit.of(scifact, 5, 0)
    pool = labelled(scifact)
    folds = [list(f) for f in cf.folds]
    seen: set[str] = set()
    for i in range(5):
        d = fold_data(scifact, folds, i)
        assert set(d.test.queries) == set(d.test.qrels) == set(folds[i])
        assert not set(d.train.qrels) & set(d.test.qrels)
        assert not set(d.train.queries) & set(d.test.queries)
        assert set(d.train.qrels) | set(d.test.qrels) == set(pool.qrels)
        for split in (d.train, d.test):  # every judgement of a query, and only in its split
            assert all(split.qrels[q] == pool.qrels[q] for q in split.qrels)
        assert d.corpus is scifact.corpus and d.exclude is scifact.exclude
        assert d.test.name == f"crossfit-5-fold{i}"
        seen |= set(d.test.qrels)
    assert seen == set(pool.qrels)  # every labelled query is a test query exactly once
    pooled = fold_data(scifact, folds, None)
    assert set(pooled.test.qrels) == set(pool.qrels)
    assert isinstance(pooled.train, NoTrainSplit)


def test_run_configs_key_and_hash_by_fold_and_official_hashes_stay(scifact, data_dir,
                                                                 cache_dir):
    """Official-split configs hash as before (no ``fold`` key); cross-fitted ones are
    seed x fold x sampler, keyed ``-foldI``; each fold's view has its own training data
    (hence its own teacher cache key) and the folder's data fingerprint."""
    from negbench.harness.data.fingerprint import data_fingerprint, split_fingerprint
    from negbench.harness.pipeline.grid import TrainingSetup, grid_configs
    from negbench.harness.pipeline.workspace import Workspace
    from negbench.harness.training.budget import get_budget
    from negbench.suites.registry import get_suite

    ws = Workspace(get_suite("beir/scifact"), data_dir, cache_dir, progress=False)
    budget, setup = get_budget("smoke"), TrainingSetup()
    official = grid_configs(ws, [("random", {}), ("dense", {})], [13], budget, setup)
    assert [c.key for c in official] == ["random-seed13", "dense-seed13"]
    assert "fold" not in official[0].to_dict()
    ws.cross_fit(3, 0)
    crossed = grid_configs(ws, [("random", {}), ("dense", {})], [13, 42], budget, setup)
    assert [c.key for c in crossed[:7]] == [
        "random-seed13-fold0", "dense-seed13-fold0", "random-seed13-fold1",
        "dense-seed13-fold1", "random-seed13-fold2", "dense-seed13-fold2",
        "random-seed42-fold0"]
    assert crossed[0].to_dict()["fold"] == {"k": 3, "index": 0, "seed": 0,
                                            "assignment_sha256": ws.crossfit.sha256}
    assert len({c.config_hash() for c in crossed}) == len(crossed) == 12
    assert official[0].config_hash() not in {c.config_hash() for c in crossed}
    views = [ws.view(i) for i in range(3)]
    assert ws.view(0) is views[0] and ws.view(None).data.test.qrels.keys() == \
        labelled(ws.data).qrels.keys()
    assert len({split_fingerprint(v.data.train) for v in views}) == 3
    assert {v.data_fingerprint for v in views} == {data_fingerprint(ws.data)}
    assert all(v.split_name == "crossfit-3" and v.crossfit_info()["fold"] == i
               for i, v in enumerate(views))


# -- output folders ------------------------------------------------------------------------------
def _folds_run(suite, out, model, *extra) -> list:
    return ["run", "--suite", suite, "--samplers", "random", "--seeds", "13", "--budget",
            "smoke", "--model", model, "--no-audit", "--quiet", "--steps", "2",
            "--output", out, *extra]


def test_a_folder_of_official_records_refuses_a_folds_run_before_writing(
        scifact, tiny_model_dir, irds_home, cache_dir, tmp_path):
    from negbench.harness.data.fingerprint import data_fingerprint
    from negbench.harness.pipeline.folders import claim_folder

    e = env(irds_home, cache_dir)
    legacy = tmp_path / "legacy"  # official records, no ownership file (adopted from them)
    (legacy / "records").mkdir(parents=True)
    shutil.copy(SCIFACT_RECORDS / "zeroshot-bm25.json", legacy / "records")
    claimed = tmp_path / "claimed"  # an official folder claimed by its ownership file
    claim_folder(claimed, "beir/scifact", data_fingerprint(scifact))
    for out in (legacy, claimed):
        before = _snapshot(out)
        refused(_folds_run("beir/scifact", out, tiny_model_dir, "--folds", "2"), e,
                 f"--output {out} holds runs on the official split",
                 "this run is on cross-fitted (2 folds, fold seed 0, assignment ",
                 "use another folder")
        assert _snapshot(out) == before  # nothing written, not even a lock


def test_bad_fold_options_are_one_line_errors(tiny_model_dir, irds_home, cache_dir, tmp_path):
    e = env(irds_home, cache_dir)
    out = tmp_path / "out"
    refused(_folds_run("beir/scifact", out, tiny_model_dir, "--folds", "1"), e,
             "--folds 1: expected an integer from 2 to the number of labelled queries (1109)")
    refused(_folds_run("beir/scifact", out, tiny_model_dir, "--fold-seed", "3"), e,
             "--fold-seed", "give --folds K")
    refused(_folds_run("irds:beir/scifact/test", out, tiny_model_dir, "--folds", "5"), e,
             "--folds", "has no training split")
    assert not out.exists()


# -- one tiny cross-fitted grid ------------------------------------------------------------------
@pytest.fixture(scope="module")
def grid(small, tiny_model_dir, irds_home, cache_dir, tmp_path_factory) -> Path:
    """K=2 folds, seed 13, sampler random, 2 steps of the tiny model, with the zero-shot rows,
    on SciFact cut to its judged documents."""
    out = tmp_path_factory.mktemp("crossfit") / "grid"
    proc = cli(_folds_run(small, out, tiny_model_dir, "--folds", "2"),
               env(irds_home, cache_dir))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def _records(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((out / "records").glob("*.json"))}


def test_a_cross_fitted_grid_writes_fold_records_and_a_table_that_says_so(grid, small):
    from negbench.suites.loading import load_suite_data
    from negbench.suites.registry import get_suite

    data = load_suite_data(get_suite(str(small)))
    cf = CrossFit.of(data, 2, 0)
    recs = _records(grid)
    assert set(recs) == {"random-seed13-fold0", "random-seed13-fold1", "zeroshot-bm25",
                         "zeroshot-model"}
    for i in (0, 1):
        r = recs[f"random-seed13-fold{i}"]
        assert r["split"] == "crossfit-2"
        assert r["crossfit"] == {"folds": 2, "fold": i, "seed": 0,
                                 "assignment_sha256": cf.sha256}
        assert r["config"]["fold"]["index"] == i
        assert set(r["per_query"]["nDCG@10"]) == set(cf.folds[i]) and r["num_queries"] == \
            len(cf.folds[i])
        assert r["negatives"]["file"] == f"negatives/random-seed13-fold{i}.jsonl"
        assert r["data_checks"]["train_test_overlap"] == 0
    assert recs["random-seed13-fold0"]["negatives"]["sha256"] != \
        recs["random-seed13-fold1"]["negatives"]["sha256"]  # mined per fold
    # one corpus encoding (content-addressed by model and texts) serves every fold
    docs = {recs[f"random-seed13-fold{i}"]["training"]["document_vectors_sha256"]
            for i in (0, 1)}
    assert len(docs) == 1 and recs["random-seed13-fold1"]["base_encodings_computed"]["doc"] == 0
    for z in ("zeroshot-bm25", "zeroshot-model"):  # scored once over every labelled query
        assert recs[z]["split"] == "crossfit-2" and recs[z]["crossfit"]["fold"] is None
        assert recs[z]["num_queries"] == 1109
    owner = json.loads((grid / "negbench-folder.json").read_text())
    assert owner["crossfit"] == cf.spec()
    table = (grid / "table.md").read_text()
    assert "split `crossfit-2`, 1109 queries" in table
    assert ("Cross-fitted: 2 folds over all 1,109 labelled queries (train ∪ test), fold seed "
            "0; not comparable to official-split numbers.") in table
    assert sum(line.startswith("| random ") for line in table.splitlines()) == 1


def test_the_same_command_resumes_and_other_splits_arerefused(grid, small, tiny_model_dir,
                                                              irds_home, cache_dir, tmp_path):
    out = shutil.copytree(grid, tmp_path / "grid")
    e = env(irds_home, cache_dir)
    proc = cli([a for a in _folds_run(small, out, tiny_model_dir, "--folds", "2")
                if a != "--quiet"], e)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "2 of 2 runs already finished" in proc.stderr
    before = _snapshot(out)
    refused(_folds_run(small, out, tiny_model_dir), e,
             "holds runs on cross-fitted (2 folds, fold seed 0", "this run is on the official "
             "split")
    refused(_folds_run(small, out, tiny_model_dir, "--folds", "3"), e,
             "this run is on cross-fitted (3 folds, fold seed 0")
    refused(_folds_run(small, out, tiny_model_dir, "--folds", "2", "--fold-seed", "1"), e,
             "this run is on cross-fitted (2 folds, fold seed 1")
    assert _snapshot(out) == before


def test_report_merges_folds_per_seed_and_refuses_a_missing_fold(grid, irds_home, cache_dir,
                                                                 tmp_path):
    from negbench.harness.evaluation.records import read_records
    from negbench.harness.reporting.crossfit import fold_queries
    from negbench.harness.reporting.report import build_report

    records = read_records(grid)
    rep = build_report(records, ["nDCG@10"], n_resamples=200)
    random = rep.system("random")
    parts = [r["per_query"]["nDCG@10"] for r in records if r["kind"] == "trained"]
    (scores,) = random.seed_scores("nDCG@10")  # one seed: the union of its two folds
    assert scores == {**parts[0], **parts[1]} and len(scores) == 1109
    assert random.seeds == [13] and random.summaries["nDCG@10"].n == 1
    assert rep.num_queries == 1109 and rep.split == "crossfit-2"
    assert [len(f) for f in fold_queries(records)] == [555, 554]
    assert all(c.folds == 2 for c in rep.comparisons)  # queries nested in the 2 folds
    assert any(n.startswith("Cross-fitted: 2 folds over all 1,109") for n in rep.notes)

    gap = shutil.copytree(grid, tmp_path / "gap")
    (gap / "records" / "random-seed13-fold1.json").unlink()
    with pytest.raises(NegbenchError, match=r"random seed 13: cross-fitted fold\(s\) 1 of 2 "
                                            "missing"):
        build_report(read_records(gap), ["nDCG@10"], n_resamples=200)
    refused(["report", gap, "--no-plots", "--output", tmp_path / "rep"],
             env(irds_home, cache_dir), "random seed 13: cross-fitted fold(s) 1 of 2 missing")
    proc = cli(["report", grid, "--no-plots", "--resamples", "200", "--output",
                tmp_path / "rep"], env(irds_home, cache_dir))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Cross-fitted: 2 folds over all 1,109 labelled queries" in \
        (tmp_path / "rep" / "report.md").read_text()


def test_the_leaderboard_keeps_cross_fitted_and_official_records_apart(grid):
    from negbench.harness.evaluation.records import read_records
    from negbench.harness.reporting.comparability import check_comparable
    from negbench.harness.reporting.leaderboard import groups

    crossed = read_records(grid)
    official = []
    for r in crossed:  # the same rows as if run on the official split
        o = {k: v for k, v in r.items() if k != "crossfit"}
        official.append({**o, "split": "beir-folder:small/test", "_folder": "official"})
    for r in crossed:
        r["_folder"] = "crossfit"
    keys = groups(crossed + official)
    trained = [k for k in keys if k[1] != "zero-shot"]
    assert len(trained) == 2
    assert sum("cross-fitted 2 folds" in k[4] for k in trained) == 1
    for k in trained:  # each section holds one kind, with its own zero-shot rows
        assert len({r.get("_folder") for r in keys[k]}) == 1
    with pytest.raises(NegbenchError, match="fold assignment differs"):
        check_comparable(crossed + official)
