"""Records are checked as they are read: a sealed record edited after it was written, a mean
that is not its per-query scores' mean, or a score outside its measure's range is refused in
one line naming the file by `report` and not reused (nor overwritten) by `run`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from reliability_helpers import cli, copy_records, fails

from negbench.harness.errors import NegbenchError
from negbench.harness.evaluation.records import INTEGRITY, read_record, seal
from negbench.harness.pipeline.grid import _zero_shot_record
from negbench.harness.pipeline.runner import RunConfig, is_done
from negbench.harness.training.budget import get_budget

RESULTS = Path(__file__).resolve().parents[1] / "results"
RUN = RESULTS / "runs" / "scifact-query-side"
FILES = ["random-seed13.json", "in-batch-seed13.json", "zeroshot-bm25.json"]
KEY = "random-seed13"


def _run_argv(suite: Path, out: Path, model: Path) -> list:
    return ["run", "--suite", suite, "--samplers", "random", "--seeds", "13", "--budget",
            "smoke", "--model", model, "--no-zero-shot", "--quiet", "--output", out]


def _report(folder: Path, tmp_path: Path) -> list:
    return ["report", folder, "--no-plots", "--output", tmp_path / "report"]


@pytest.fixture(scope="module")
def fresh(small, tiny_model_dir, irds_home, cache_dir, tmp_path_factory) -> Path:
    """A real smoke run (tiny model, real SciFact): its record is sealed by the writer."""
    from reliability_helpers import env

    out = tmp_path_factory.mktemp("fresh") / "out"
    proc = cli(_run_argv(small, out, tiny_model_dir), env(irds_home, cache_dir))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def _edit_mean(rec: dict, measure: str = "nDCG@10", delta: float = 0.1) -> dict:
    rec["metrics"][measure] += delta
    return rec


def test_the_writer_seals_and_the_reader_accepts_the_record(fresh):
    rec = read_record(fresh / "records" / f"{KEY}.json")
    assert set(rec[INTEGRITY]) == {"sha256", "covers"} and len(rec[INTEGRITY]["sha256"]) == 64


def test_an_edited_record_is_refused_by_report_and_not_reused_by_run(
        fresh, small, tiny_model_dir, cli_env, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(fresh, out)
    path = out / "records" / f"{KEY}.json"
    true = json.loads(path.read_text())
    path.write_text(json.dumps(_edit_mean(json.loads(path.read_text())), indent=1))
    edited = path.read_bytes()
    fails(_report(out, tmp_path), cli_env, str(path), "edited after it was written",
          "sha256 mismatch", output=tmp_path / "report")
    fails(_run_argv(small, out, tiny_model_dir), cli_env, str(path), "sha256 mismatch")
    assert path.read_bytes() == edited  # the evidence is kept, not silently recomputed
    path.write_text(json.dumps(true, indent=1))  # restored: reused again, as before
    proc = cli(_run_argv(small, out, tiny_model_dir), cli_env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(path.read_text()) == true


def test_grid_readers_refuse_an_edited_record(fresh, tmp_path):
    """Behind `run`'s preflight (executor tasks, the Python API): the grid's reuse checks
    read through the same checked reader."""
    out = copy_records(RUN, tmp_path / "out", ["zeroshot-bm25.json"], _edit_mean)
    (out / "records" / f"{KEY}.json").write_text(
        json.dumps(_edit_mean(json.loads((fresh / "records" / f"{KEY}.json").read_text()))))
    cfg = RunConfig("beir/scifact", "random", {}, 13, get_budget("smoke"), "m")
    with pytest.raises(NegbenchError, match=f"{KEY}.json: record was edited"):
        is_done(cfg, out, "0" * 64)
    with pytest.raises(NegbenchError, match="zeroshot-bm25.json: metrics.*is not the mean"):
        _zero_shot_record(out, "bm25")


def test_an_edited_mean_in_a_committed_record_is_refused(tmp_path, cli_env):
    def edit(rec):
        return _edit_mean(rec) if rec.get("seed") == 13 and rec["name"] == "random" else rec

    out = copy_records(RUN, tmp_path / "out", FILES, edit)
    fails(_report(out, tmp_path), cli_env, str(out / "records" / "random-seed13.json"),
          "metrics['nDCG@10']", "is not the mean of its 300 per-query scores",
          output=tmp_path / "report")
    fails(["regress", "--run", out, "--write-baseline", tmp_path / "b.json"], cli_env,
          "random-seed13.json", "is not the mean")


def test_a_score_outside_its_range_is_refused(tmp_path, cli_env):
    def edit(rec):
        if rec["name"] == "random":
            q = min(rec["per_query"]["nDCG@10"])
            old = rec["per_query"]["nDCG@10"][q]
            rec["per_query"]["nDCG@10"][q] = 7.5  # the mean moves with it: still consistent
            rec["metrics"]["nDCG@10"] += (7.5 - old) / len(rec["per_query"]["nDCG@10"])
        return rec

    out = copy_records(RUN, tmp_path / "out", FILES, edit)
    fails(_report(out, tmp_path), cli_env, "random-seed13.json", "= 7.5 is outside",
          "nDCG@10's range [0, 1]", output=tmp_path / "report")


def test_a_wrong_seal_is_refused_and_a_right_one_catches_any_edit(tmp_path, cli_env):
    def wrong(rec):
        sealed = seal(rec)
        sealed[INTEGRITY]["sha256"] = "0" * 64
        return sealed

    out = copy_records(RUN, tmp_path / "bad", ["random-seed13.json"], wrong)
    fails(_report(out, tmp_path), cli_env, "random-seed13.json", "sha256 mismatch")
    sealed = copy_records(RUN, tmp_path / "ok", ["random-seed13.json"], seal)
    assert read_record(sealed / "records" / "random-seed13.json")[INTEGRITY]
    # an edit no score check can see (provenance) is still caught by the seal
    moved = copy_records(RUN, tmp_path / "moved", ["random-seed13.json"],
                         lambda r: {**seal(r), "seed": 14})
    with pytest.raises(NegbenchError, match="sha256 mismatch"):
        read_record(moved / "records" / "random-seed13.json")


def test_every_committed_record_passes_the_checked_reader():
    paths = sorted(RESULTS.glob("**/records/*.json"))
    assert len(paths) > 300
    for p in paths:
        read_record(p)  # raises, naming the file, on the first one that fails
