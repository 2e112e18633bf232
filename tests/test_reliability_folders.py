"""Issue 25: an output folder belongs to one suite over one data (``harness/pipeline/folders.py``), and
no command writes over its own inputs (``preflight.not_an_input``). Real SciFact and NFCorpus,
cheap commands only (BM25 zero-shot rows, refusals, committed records)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from reliability_helpers import cli, copy_records, env, refused

from negbench.harness.errors import NegbenchError
from negbench.harness.pipeline.folders import OWNER_FILE, check_folder, claim_folder
from negbench.harness.pipeline.preflight import not_an_input

RUNS = Path(__file__).resolve().parents[1] / "results" / "runs"
SCIFACT = RUNS / "scifact-query-side"


def _zero_shot(suite: str, out: Path, *extra) -> list:
    return ["zero-shot", "--suite", suite, "--systems", "bm25", "--budget", "smoke", "--quiet",
            "--output", out, *extra]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def rows(irds_home, cache_dir, tmp_path_factory) -> Path:
    """SciFact's BM25 zero-shot row, written once; tests work on copies."""
    out = tmp_path_factory.mktemp("rows") / "scifact"
    proc = cli(_zero_shot("beir/scifact", out), env(irds_home, cache_dir))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def _owner(out: Path) -> dict:
    return json.loads((out / OWNER_FILE).read_text())


def _fingerprint(data) -> str:
    from negbench.harness.data.fingerprint import data_fingerprint

    return data_fingerprint(data)[:12]


# -- an output folder belongs to one suite over one data ---------------------------------------
def test_the_first_write_claims_the_folder(rows, scifact):
    from negbench.harness.data.fingerprint import data_fingerprint

    assert _owner(rows) == {"suite": "beir/scifact", "data_fingerprint":
                            data_fingerprint(scifact), "schema": 1}


def test_another_suite_into_the_same_output_is_refused_and_changes_nothing(
        rows, scifact, tiny_model_dir, irds_home, cache_dir, tmp_path):
    """The old code wrote NFCorpus's zeroshot-bm25 record, run file and table over SciFact's,
    exit 0."""
    out = shutil.copytree(rows, tmp_path / "out")
    before = _snapshot(out)
    e = env(irds_home, cache_dir)
    fp = _fingerprint(scifact)
    for argv in (_zero_shot("beir/nfcorpus", out),
                 ["run", "--suite", "beir/nfcorpus", "--samplers", "random", "--seeds", "13",
                  "--budget", "smoke", "--model", tiny_model_dir, "--no-audit", "--quiet",
                  "--output", out]):
        refused(argv, e, f"--output {out} holds runs of beir/scifact over data {fp}",
                 "this run is beir/nfcorpus over data ", "use another folder")
        assert _snapshot(out) == before  # nothing changed, nothing new (not even a lock)


def test_the_same_suite_over_other_data_isrefused(rows, scifact, data_dir, cache_dir,
                                                   tmp_path):
    """A copy of the staged SciFact with one test query's text edited, given by --data-root:
    the old code replaced the row computed on the staged data, exit 0."""
    root = tmp_path / "data"
    shutil.copytree(data_dir / "beir-scifact", root / "beir-scifact")
    qid = (root / "beir-scifact" / "qrels" / "test.tsv").read_text().splitlines()[1].split()[0]
    queries = root / "beir-scifact" / "queries.jsonl"
    lines = queries.read_text().splitlines(keepends=True)
    i = next(n for n, ln in enumerate(lines) if json.loads(ln)["_id"] == qid)
    q = json.loads(lines[i])
    lines[i] = json.dumps({**q, "text": q["text"] + " (edited)"}) + "\n"
    queries.write_text("".join(lines))
    out = shutil.copytree(rows, tmp_path / "out")
    before = _snapshot(out)
    fp = _fingerprint(scifact)
    err = refused(_zero_shot("beir/scifact", out, "--data-root", root),
                   env(tmp_path / "irds", cache_dir),  # its own ir_datasets cache
                   f"holds runs of beir/scifact over data {fp}",
                   "this run is beir/scifact over data ", "use another folder")
    assert err.count(fp) == 1  # the other data's fingerprint is another one
    assert _snapshot(out) == before


def test_a_legacy_folder_is_adopted(rows, scifact, irds_home, cache_dir, tmp_path):
    """No ownership file (written before it existed): adopted from its records, and claimed."""
    from negbench.harness.data.fingerprint import data_fingerprint

    out = shutil.copytree(rows, tmp_path / "out")
    (out / OWNER_FILE).unlink(missing_ok=True)
    proc = cli(_zero_shot("beir/scifact", out), env(irds_home, cache_dir))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _owner(out) == {"suite": "beir/scifact", "data_fingerprint":
                           data_fingerprint(scifact), "schema": 1}


def test_committed_folders_are_adopted_and_bound_to_their_records(tmp_path):
    """Every committed results/runs/* folder passes for its own suite and data (records
    without a fingerprint agree on the suite only) and refuses another suite, naming a
    record; the check writes nothing."""
    for folder in sorted(p for p in RUNS.iterdir() if (p / "records").is_dir()):
        rec = json.loads(next((folder / "records").glob("*.json")).read_text())
        before = _snapshot(folder)
        fp, spec = rec.get("data_fingerprint") or "0" * 64, rec.get("crossfit")
        check_folder(folder, rec["suite"], fp, crossfit=spec)
        with pytest.raises(NegbenchError, match=rf"holds runs of {rec['suite']} .*"
                                                rf"\({re.escape(str(folder))}/records/.*\.json\)"
                                                "; this run is beir/other"):
            check_folder(folder, "beir/other", "0" * 64, crossfit=spec)
        if spec is not None:  # a cross-fitted folder refuses the official split
            with pytest.raises(NegbenchError, match="do not mix"):
                check_folder(folder, rec["suite"], fp)
        assert _snapshot(folder) == before and not (folder / OWNER_FILE).exists()
    legacy = copy_records(RUNS / "nfcorpus-zeroshot", tmp_path / "nf", ["zeroshot-bm25.json"])
    claim_folder(legacy, "beir/nfcorpus", "f" * 64)  # no fingerprint: adopted with today's
    assert _owner(legacy) == {"suite": "beir/nfcorpus", "data_fingerprint": "f" * 64,
                              "schema": 1}
    with pytest.raises(NegbenchError, match="over data ffffffffffff; this run is beir/nfcorpus "
                                            "over data eeeeeeeeeeee"):
        check_folder(legacy, "beir/nfcorpus", "e" * 64)  # claimed: now bound to that data


def test_a_folder_whose_records_disagree_is_refused_naming_them(tmp_path):
    mixed = copy_records(SCIFACT, tmp_path / "mixed", ["random-seed13.json"])
    shutil.copy(RUNS / "nfcorpus-zeroshot" / "records" / "zeroshot-bm25.json",
                mixed / "records" / "zeroshot-bm25.json")
    with pytest.raises(NegbenchError, match=r"mixes suites: .*zeroshot-bm25.json is "
                                            r"beir/nfcorpus, .*random-seed13.json is beir/scifact"):
        check_folder(mixed, "beir/scifact", "0" * 64)
    other = copy_records(SCIFACT, tmp_path / "other", ["random-seed13.json", "dense-seed13.json"])
    path = other / "records" / "dense-seed13.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "data_fingerprint": "1" * 64}))
    with pytest.raises(NegbenchError, match=r"mixes data: .*random-seed13.json is over data "
                                            r"6ad4ba66fbd3, .*dense-seed13.json over data 1111"):
        check_folder(other, "beir/scifact", "6ad4ba66fbd3")


def test_a_claim_is_written_once_and_a_malformed_one_is_named(tmp_path):
    """An executor's task claims the folder its submitting process claimed: it passes and
    rewrites nothing."""
    out = tmp_path / "out"
    claim_folder(out, "beir/scifact", "a" * 64)
    stamp = (out / OWNER_FILE).stat().st_mtime_ns
    claim_folder(out, "beir/scifact", "a" * 64)
    assert (out / OWNER_FILE).stat().st_mtime_ns == stamp
    (out / OWNER_FILE).write_text("{}")
    with pytest.raises(NegbenchError, match=f"{out / OWNER_FILE}: not a negbench folder file"):
        check_folder(out, "beir/scifact", "a" * 64)


def test_source_bias_refuses_a_folder_of_another_suite(irds_home, cache_dir, tmp_path):
    """``--models-from`` a SciFact run folder: refused before any model loads (the old code
    went on to encode NFCorpus with SciFact's models)."""
    folder = copy_records(SCIFACT, tmp_path / "run", ["random-seed13.json"])
    (folder / "models" / "dense-seed13").mkdir(parents=True)
    (folder / "models" / "dense-seed13" / "config.json").write_text("{}")
    before = _snapshot(folder)
    refused(["source-bias", "--models-from", folder, "--quiet"], env(irds_home, cache_dir),
             f"--models-from {folder} holds runs of beir/scifact over data 6ad4ba66fbd3",
             "this run is beir/nfcorpus")
    assert _snapshot(folder) == before


# -- a command never writes over its inputs ----------------------------------------------------
@pytest.fixture()
def run_dir(scifact, tmp_path) -> Path:
    """A SciFact run folder: a committed trained record (SciFact's staged data) with a real
    negatives file of its training pairs, named with its sha256 by the record."""
    out = copy_records(SCIFACT, tmp_path / "run", ["random-seed13.json", "dense-seed13.json"])
    pairs = sorted((q, d) for q, docs in scifact.train.qrels.items() for d, r in docs.items()
                   if r >= 1)[:20]
    docs = sorted(scifact.corpus.docs)
    lines = [json.dumps({"query_id": q, "positive_id": d, "negative_ids":
                         [n for n in docs[:10] if n not in scifact.exclude.get(q, ())][:2]})
             + "\n" for q, d in pairs]
    neg = out / "negatives" / "random-seed13.jsonl"
    neg.parent.mkdir()
    neg.write_text("".join(lines))
    path = out / "records" / "random-seed13.json"
    rec = json.loads(path.read_text())
    rec["negatives"] = {**rec["negatives"], "rows": len(lines),
                        "sha256": hashlib.sha256(neg.read_bytes()).hexdigest()}
    path.write_text(json.dumps(rec))
    return out


def test_export_never_writes_over_the_run_it_reads(run_dir, irds_home, cache_dir, tmp_path):
    """The old code exported the negatives over the negatives file they were read from,
    exit 0."""
    before = _snapshot(run_dir)
    neg = run_dir / "negatives" / "random-seed13.jsonl"
    link = tmp_path / "elsewhere.jsonl"
    link.symlink_to(neg)
    e = env(irds_home, cache_dir)
    for output in (neg, link, run_dir / "records" / "new.jsonl"):
        refused(["export", run_dir, "--format", "tevatron", "--sampler", "random", "--seed",
                  "13", "--output", output], e,
                 f"{output}: --output is an input of this command", f"{run_dir}, which it "
                 "reads); writing it would destroy that input")
        assert _snapshot(run_dir) == before


def test_regress_never_writes_a_baseline_over_the_run_it_reads(run_dir, irds_home, cache_dir,
                                                               tmp_path):
    before = _snapshot(run_dir)
    record = run_dir / "records" / "random-seed13.json"
    link = tmp_path / "baseline.json"
    link.symlink_to(record)
    for output in (record, link):
        refused(["regress", "--run", run_dir, "--write-baseline", output],
                 env(irds_home, cache_dir), f"{output}: --write-baseline is an input of this "
                 "command", "would destroy that input")
        assert _snapshot(run_dir) == before


def test_report_writes_beside_the_records_never_over_them(run_dir, irds_home, cache_dir):
    before = _snapshot(run_dir)
    e = env(irds_home, cache_dir)
    refused(["report", run_dir, "--no-plots", "--prefix", "records/random-seed13"], e,
             f"{run_dir / 'records' / 'random-seed13.md'}: --output/--prefix is an input",
             f"inside {run_dir / 'records'}")
    refused(["leaderboard", run_dir, "--output", run_dir / "negatives"], e,
             "--output is an input of this command", f"inside {run_dir / 'negatives'}")
    assert _snapshot(run_dir) == before
    proc = cli(["report", run_dir, "--no-plots", "--resamples", "50"], e)  # intended: beside
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (run_dir / "report.md").is_file()
    assert all(_snapshot(run_dir)[k] == v for k, v in before.items())


def test_not_an_input_follows_links_and_paths_not_yet_written(tmp_path):
    run = tmp_path / "run"
    (run / "records").mkdir(parents=True)
    (run / "records" / "a.json").write_text("{}")
    trec = tmp_path / "r.trec"
    trec.write_text("1 Q0 d 1 1.0 x\n")
    alias = tmp_path / "alias"
    alias.symlink_to(run)
    os.link(trec, tmp_path / "hard.trec")
    for path in (run / "records" / "a.json", alias / "records" / "new" / "b.json", trec,
                 tmp_path / "hard.trec", run):
        with pytest.raises(NegbenchError, match="would destroy that input"):
            not_an_input(path, [None, run, trec], "--output")
    for path in (tmp_path / "out.json", tmp_path / "run-2" / "x.json", tmp_path):
        assert not_an_input(path, [None, run, trec], "--output") == path
