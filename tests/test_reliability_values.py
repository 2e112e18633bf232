"""Issue 25, causes 7 and 9: no odd value is taken silently, every message names what is wrong,
and no result is dropped without a word. Real SciFact (the ``small`` BEIR folder), the tiny
model and the committed results folders."""

from __future__ import annotations

import json
import os
from html.parser import HTMLParser
from pathlib import Path

import pytest
from reliability_helpers import cli, copy_folder, copy_records, fails

RUNS = Path(__file__).resolve().parents[1] / "results" / "runs"
LEGACY = Path(__file__).resolve().parents[1] / "results" / "legacy-16-steps" / "scifact"


def _run(folder: Path, model: Path, out: Path, *extra) -> list:
    return ["run", "--suite", folder, "--samplers", "random", "--model", model,
            "--no-zero-shot", "--quiet", "--stop-after", "mine", "--output", out, *extra]


def _config(tmp_path: Path, small: Path, model: Path, body: str) -> Path:
    path = tmp_path / "experiment.yaml"
    path.write_text(f"suite: {small}\nsamplers: [random]\nmodel: {model}\noutput: "
                    f"{tmp_path / 'out'}\nno_zero_shot: true\nstop_after: mine\n{body}")
    return path


# --- values taken silently -------------------------------------------------------------------

@pytest.mark.parametrize("body", ["seeds: [true]\n", "seeds: true\n", "seeds: [1, false]\n"])
def test_a_yaml_boolean_is_not_a_seed(body, small, tiny_model_dir, cli_env, tmp_path):
    path = _config(tmp_path, small, tiny_model_dir, body)
    fails(["run", "--config", path], cli_env, f"--config {path}", "seeds",
          output=tmp_path / "out")


def test_a_yaml_key_given_twice_is_refused_with_its_line(small, tiny_model_dir, cli_env,
                                                        tmp_path):
    path = _config(tmp_path, small, tiny_model_dir, "seeds: [13]\nseeds: [42]\n")
    line = path.read_text().splitlines().index("seeds: [42]") + 1
    fails(["run", "--config", path], cli_env, f"--config {path}:{line}:",
          "key 'seeds' given twice", output=tmp_path / "out")


def test_yaml_merge_keys_may_still_override(tmp_path):
    from negbench.harness.experiment import load_file

    path = tmp_path / "e.yaml"
    path.write_text("base: &b {budget: smoke, quiet: true}\nrun:\n  <<: *b\n  budget: standard\n")
    assert load_file(path)["run"] == {"budget": "standard", "quiet": True}


def test_an_empty_shard_is_refused(small, tiny_model_dir, cli_env, tmp_path):
    out = tmp_path / "out"
    fails(_run(small, tiny_model_dir, out, "--shard", ""), cli_env, "--shard ''", "I/N",
          output=out)


def test_collection_is_refused_on_a_suite_without_one(small, tiny_model_dir, cli_env, tmp_path):
    out = tmp_path / "out"
    fails(_run(small, tiny_model_dir, out, "--collection", small / "corpus.jsonl"), cli_env,
          "--collection", "has no collection to choose", output=out)


def test_a_sampler_listed_twice_is_refused_like_in_a_config(small, tiny_model_dir, cli_env,
                                                           tmp_path):
    out = tmp_path / "out"
    argv = _run(small, tiny_model_dir, out)
    argv[argv.index("random")] = "random,random"
    fails(argv, cli_env, "--samplers 'random,random'", "'random' listed twice", output=out)


def test_measures_naming_nothing_are_refused(small, cli_env, tmp_path):
    run = tmp_path / "r.trec"
    run.write_text("1 Q0 31715818 1 1.0 x\n")
    fails(["eval", "--suite", small, "--run", run, "--measures", ","], cli_env,
          "--measures ','", "no measure named")
    out = tmp_path / "report"
    fails(["report", RUNS / "scifact-query-side-h100", "--measures", " , ", "--output", out],
          cli_env, "--measures ' , '", "no measure named", output=out)
    fails(["report", RUNS / "scifact-query-side-h100", "--measures", "nDCG@10,nDCG@10",
           "--output", out], cli_env, "'nDCG@10' listed twice", output=out)


# --- regress: what does not change a run is not a difference; a difference is named -------------

def _regress_pair(tmp_path: Path, edit) -> tuple[Path, Path]:
    files = ["in-batch-seed13.json", "in-batch-seed42.json", "zeroshot-bm25.json"]
    base = copy_records(LEGACY, tmp_path / "base", files)
    fresh = copy_records(LEGACY, tmp_path / "fresh", files,
                         lambda r: edit(r) if r["kind"] == "trained" else r)
    path = tmp_path / "baseline.json"
    assert cli(["regress", "--write-baseline", path, "--run", base], os.environ).returncode == 0
    return path, fresh


def _budget(**changes):
    return lambda r: {**r, "budget": {**r["budget"], **changes}}


def test_regress_ignores_teacher_steps(tmp_path):
    """The audit's teacher reads a run; it does not change it (not in the config hash)."""
    baseline, fresh = _regress_pair(tmp_path, _budget(teacher_steps=0))  # the records: 150
    proc = cli(["regress", "--baseline", baseline, "--run", fresh], os.environ)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(baseline.read_text())  # a baseline written before: teacher_steps kept
    doc["budget"]["teacher_steps"] = 150
    baseline.write_text(json.dumps(doc))
    proc = cli(["regress", "--baseline", baseline, "--run", fresh], os.environ)
    assert proc.returncode == 0, proc.stderr


def test_regress_names_the_differing_budget_key(tmp_path):
    baseline, fresh = _regress_pair(tmp_path, lambda r: _budget(
        batch_size=r["budget"]["batch_size"] * 2)(r))
    err = fails(["regress", "--baseline", baseline, "--run", fresh], os.environ,
                "differ in budget", "batch_size")
    assert "learning_rate" not in err and "{" not in err, err


# --- paths of the wrong kind, and a duplicate key inside one JSON line -----------------------

def _loop(tmp_path: Path) -> Path:
    a, b = tmp_path / "loop-a", tmp_path / "loop-b"
    a.symlink_to(b)
    b.symlink_to(a)
    return a


def test_suite_path_of_the_wrong_kind_says_what_it_is(small, tiny_model_dir, cli_env, tmp_path):
    out = tmp_path / "out"
    fails(_run(small / "corpus.jsonl", tiny_model_dir, out), cli_env,
          f"{small / 'corpus.jsonl'} is a file, not a BEIR folder", output=out)
    loop = _loop(tmp_path)
    fails(_run(loop, tiny_model_dir, out), cli_env, f"{loop}", "symlink loop", output=out)


@pytest.mark.parametrize("part", ["corpus.jsonl", "queries.jsonl", "qrels/test.tsv"])
def test_a_folder_where_a_file_belongs_is_named(part, small, tiny_model_dir, cli_env, tmp_path):
    folder = copy_folder(small, tmp_path / "scifact-small")
    (folder / part).unlink()
    (folder / part).mkdir()
    out = tmp_path / "out"
    fails(_run(folder, tiny_model_dir, out), cli_env,
          f"{folder / part} is a folder, not a file", output=out)


def test_a_symlink_loop_where_a_file_belongs_is_named(small, tiny_model_dir, cli_env, tmp_path):
    folder = copy_folder(small, tmp_path / "scifact-small")
    (folder / "queries.jsonl").unlink()
    (folder / "queries.jsonl").symlink_to(folder / "queries.jsonl")
    out = tmp_path / "out"
    fails(_run(folder, tiny_model_dir, out), cli_env, f"{folder / 'queries.jsonl'}",
          "symlink loop", output=out)


def test_a_duplicate_id_key_in_one_corpus_line_is_blamed_on_that_line(small, tiny_model_dir,
                                                                     cli_env, tmp_path):
    folder = copy_folder(small, tmp_path / "scifact-small")
    corpus = folder / "corpus.jsonl"
    lines = corpus.read_text(encoding="utf-8").splitlines(keepends=True)
    doc = json.loads(lines[4])  # a judged doc: json keeps the last _id, its qrels dangle
    rest = json.dumps({"_id": "elsewhere", **{k: v for k, v in doc.items() if k != "_id"}})
    lines[4] = f'{{"_id": {json.dumps(doc["_id"])}, {rest[1:]}\n'
    corpus.write_text("".join(lines), encoding="utf-8")
    out = tmp_path / "out"
    fails(_run(folder, tiny_model_dir, out), cli_env, f"{corpus}:5:", "'_id' given twice",
          output=out)


# --- the leaderboard drops no folder --------------------------------------------------------

class _Sections(HTMLParser):
    """Per <section>: its attributes and the record files behind each row's provenance."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.sections.append({**a, "files": set(), "rows": set(), "devices": set()})
        elif tag == "tr" and "data-kind" in a and a["data-kind"] == "trained":
            self.sections[-1]["devices"].add(a["data-device"])
        elif tag == "td" and a.get("class") == "sys":
            prov = json.loads(a["title"])
            self.sections[-1]["rows"].add(prov["system"])
            self.sections[-1]["files"].update(str(Path(f).parent.parent)
                                              for f in prov["records"])


def _leaderboard(folders: list[Path], out: Path) -> list[dict]:
    proc = cli(["leaderboard", *folders, "--output", out, "--resamples", "50"], os.environ)
    assert proc.returncode == 0, proc.stderr[-2000:]
    page = _Sections()
    page.feed((out / "index.html").read_text(encoding="utf-8"))
    return page.sections


def _trained(folder: Path) -> set[str]:
    return {json.loads(p.read_text())["name"] for p in (folder / "records").glob("*.json")
            if json.loads(p.read_text())["kind"] == "trained"}


def test_cpu_and_h100_runs_of_one_comparison_both_reach_the_leaderboard(tmp_path):
    cpu, h100 = RUNS / "scifact-query-side", RUNS / "scifact-query-side-h100"
    sections = _leaderboard([cpu, h100], tmp_path / "site")
    by_folder = {s["data-device"]: s for s in sections}
    assert len(sections) == 2 and set(by_folder) == {"cpu", "NVIDIA H100 80GB HBM3"}
    for device, folder in (("cpu", cpu), ("NVIDIA H100 80GB HBM3", h100)):
        s = by_folder[device]
        assert s["files"] == {str(folder)}, s["files"]  # its zero-shot rows are its own too
        assert _trained(folder) <= s["rows"] and s["devices"] == {device}


def test_a_folder_of_zero_shot_rows_only_reaches_the_leaderboard(tmp_path):
    zs, trained = RUNS / "nfcorpus-zeroshot", RUNS / "nfcorpus-query-side-h100"
    sections = _leaderboard([trained, zs], tmp_path / "site")
    assert any(s["files"] == {str(zs)} for s in sections), sections
    assert any(str(trained) in s["files"] for s in sections)


def test_two_folders_holding_the_same_runs_are_refused_naming_both(tmp_path):
    files = ["dense-seed13.json", "dense-seed42.json", "zeroshot-bm25.json"]
    a = copy_records(RUNS / "scifact-query-side-h100", tmp_path / "a", files)
    b = copy_records(RUNS / "scifact-query-side-h100", tmp_path / "b", files)
    fails(["leaderboard", a, b, "--output", tmp_path / "site"], os.environ, str(a), str(b),
          "dense seed 13", output=tmp_path / "site")
