"""Class 4 of issue 14: no value parses to something else. Every reader uses the strict grammar
of ``harness/io/parse.py`` (trec_eval/BEIR): ``1_0`` is not 10, null is not "None", a list is not
"['a']", ``R@0`` is not ``R``, and an id with whitespace never reaches a TREC file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from reliability_helpers import copy_folder, env, fails

from negbench.harness.errors import NegbenchError
from negbench.harness.io.trec_files import read_trec_qrels, read_trec_run


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


@pytest.fixture(scope="module")
def esco_root(tmp_path_factory, data_dir) -> Path:
    """The staged ESCO folders, copied so a test can break one value."""
    root = tmp_path_factory.mktemp("esco")
    for name in ("esco-skill-extraction", "esco-taxonomy"):
        shutil.copytree(data_dir / name, root / name)
    return root


@pytest.mark.parametrize("file,old,new,message", [
    ("esco-taxonomy/skill_labels.tsv", "\n1\t", "\n1_0\t", "label_idx '1_0' is not an integer"),
    ("esco-skill-extraction/tech_test_annotations.csv", "\ndjango postgresql redis,",
     "\n ,", "sentence is empty"),
])
def test_esco_files_parse_strictly(esco_root, tmp_path, file, old, new, message):
    from negbench.suites.esco import _skills
    from negbench.suites.loading import load_suite_data
    from negbench.suites.registry import get_suite

    root = tmp_path / "data"
    for name in ("esco-skill-extraction", "esco-taxonomy"):
        (root / name).mkdir(parents=True)
        for f in (esco_root / name).iterdir():
            (root / name / f.name).symlink_to(f)
    target = root / file
    text = target.read_text(encoding="utf-8")
    assert old in text
    target.unlink()
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    _skills.cache_clear()
    with pytest.raises(NegbenchError, match=message) as err:
        load_suite_data(get_suite("esco/tech"), root)
    assert f"{target}:" in str(err.value)  # names the file and line
