"""Class 4 of issue 14: no value parses to something else. Every reader uses the strict grammar
of ``harness/parse.py`` (trec_eval/BEIR): ``1_0`` is not 10, null is not "None", a list is not
"['a']", ``R@0`` is not ``R``, and an id with whitespace never reaches a TREC file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from reliability_helpers import copy_folder, env, fails, small_scifact

from negbench.harness.errors import NegbenchError
from negbench.harness.trec_files import read_trec_qrels, read_trec_run


@pytest.fixture(scope="module")
def small(tmp_path_factory, data_dir) -> Path:
    return small_scifact(data_dir, tmp_path_factory.mktemp("beir") / "scifact-small")


def _append(path: Path, text: str) -> int:
    with open(path, "a", encoding="utf-8", newline="") as fh:
        fh.write(text)
    return len(path.read_bytes().splitlines())


CASES = {  # name: (file, appended line, expected message)
    "qrels-underscore": ("qrels/test.tsv", "1\t31715818\t1_0\r\n",
                         "relevance '1_0' is not an integer"),
    "qrels-huge": ("qrels/test.tsv", "1\t31715818\t99999999999999999999\r\n",
                   "relevance 99999999999999999999 is out of range"),
    "qrels-space-id": ("qrels/test.tsv", "1\t3171 5818\t1\r\n", "contains whitespace"),
    "query-null-text": ("queries.jsonl", '{"_id": "qn", "text": null}\n',
                        "query text must be a string, got null"),
    "query-list-text": ("queries.jsonl", '{"_id": "ql", "text": ["a"]}\n',
                        "query text must be a string, got a list"),
    "query-surrogate": ("queries.jsonl", '{"_id": "qs", "text": "bad \\ud800"}\n',
                        "lone surrogate"),
    "doc-null-id": ("corpus.jsonl", '{"_id": null, "text": "x"}\n',
                    "doc id must be a string, got null"),
    "doc-int-text": ("corpus.jsonl", '{"_id": "dx", "text": 5}\n',
                     "text must be a string, got a number"),
    "doc-space-id": ("corpus.jsonl", '{"_id": "d 1", "text": "x"}\n', "contains whitespace"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_value_outside_the_grammar_is_refused_with_file_and_line(case, small, tiny_model_dir,
                                                                  irds_home, cache_dir,
                                                                  tmp_path):
    rel, line, message = CASES[case]
    folder = copy_folder(small, tmp_path / "scifact-small")
    n = _append(folder / rel, line)
    out = tmp_path / "out"
    fails(["run", "--suite", folder, "--samplers", "random", "--model", tiny_model_dir,
           "--no-zero-shot", "--quiet", "--output", out], env(irds_home, cache_dir),
          f"{folder / rel}:{n}:", message, output=out)


def test_staged_qrels_are_read_strictly_too(data_dir, cache_dir, tmp_path):
    """ir_datasets itself would read ``1_0`` as 10: the staged files are checked first."""
    root = tmp_path / "data"
    shutil.copytree(data_dir / "beir-scifact", root / "beir-scifact")
    qrels = root / "beir-scifact" / "qrels" / "test.tsv"
    n = _append(qrels, "1\t31715818\t1_0\r\n")
    run = tmp_path / "r.trec"
    run.write_text("1 Q0 31715818 1 1.0 x\n")
    fails(["eval", "--suite", "beir/scifact", "--run", run, "--data-root", root],
          env(tmp_path / "irds", cache_dir), f"{qrels}:{n}:", "relevance '1_0' is not an integer")


@pytest.mark.parametrize("text, message", [
    ("1 Q0 31715818 1 1_0 x\n", "score '1_0' is not a number"),
    ("1 Q0 31715818 1 inf x\n", "score is inf"),
    ("1 Q0 31715818 1 nan x\n", "score is NaN"),
])
def test_run_scores_follow_the_trec_grammar(text, message, tmp_path, irds_home, cache_dir):
    run = tmp_path / "bad.trec"
    run.write_text(text)
    with pytest.raises(NegbenchError, match=message):
        read_trec_run(run)
    fails(["eval", "--suite", "beir/scifact", "--run", run], env(irds_home, cache_dir),
          f"{run}:1:", message)


def test_trec_qrels_relevance_follows_the_grammar(tmp_path):
    path = tmp_path / "q.txt"
    path.write_text("1 0 31715818 1\n1 0 42 1_0\n")
    with pytest.raises(NegbenchError, match=r"q.txt:2: relevance '1_0' is not an integer"):
        read_trec_qrels(path)


@pytest.mark.parametrize("argv, message", [
    (["eval", "--suite", "beir/scifact", "--measures", "R@0"], "unknown measure 'R@0'"),
    (["run", "--suite", "beir/scifact", "--samplers", "random", "--seeds", "1_0"],
     "--seeds: seed '1_0' is not an integer"),
    (["run", "--suite", "beir/scifact", "--samplers", "random", "--seeds", "13,13"],
     "give distinct integers"),
    (["run", "--suite", "beir/scifact", "--samplers", "random", "--param",
      "random.num_negatives=1_0"], "num_negatives='1_0' is not an integer"),
])
def test_options_follow_the_grammar(argv, message, tmp_path, irds_home, cache_dir):
    run = tmp_path / "r.trec"
    run.write_text("1 Q0 31715818 1 1.0 x\n")
    extra = ["--run", run] if argv[0] == "eval" else ["--output", tmp_path / "out"]
    fails(argv + extra, env(irds_home, cache_dir), message, output=tmp_path / "out")
