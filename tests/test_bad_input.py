"""Bad input never yields a number: each case is one error line naming the file (and line),
a non-zero exit, no traceback, and nothing written to --output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from negbench.harness.errors import NegbenchError
from negbench.harness.io.negatives import read_negatives
from negbench.harness.io.trec_files import check_run_against_qrels, read_trec_qrels, read_trec_run
from negbench.suites.definition import parse_suites

CLI = [sys.executable, "-m", "negbench.harness.cli"]


def _env(irds_home, cache_dir) -> dict:
    return dict(os.environ, IR_DATASETS_HOME=str(irds_home), NEGBENCH_CACHE=str(cache_dir),
                OMP_NUM_THREADS="1")


def _fails(argv, env, names: str, message: str, output: Path | None = None) -> str:
    """Run the CLI; assert the one-line failure contract; return stderr."""
    proc = subprocess.run(CLI + argv, env=env, capture_output=True, text=True, check=False)
    err = proc.stderr
    assert proc.returncode != 0, proc.stdout[-500:]
    assert "Traceback" not in err, err[-2000:]
    assert len(err.strip().splitlines()) == 1, err[-2000:]
    assert names in err, err
    assert message in err, err
    if output is not None:
        assert not output.exists(), sorted(output.rglob("*"))
    return err


def _append(path: Path, text: str | bytes) -> int:
    """Append a line; return its line number."""
    data = text.encode() if isinstance(text, str) else text
    with open(path, "ab") as fh:
        fh.write(data)
    return len(path.read_bytes().splitlines())


@pytest.fixture(scope="module")
def beir_small(small) -> Path:
    """Real SciFact as a local BEIR folder, corpus cut to the judged docs (fast to load)."""
    return small


QRELS = "qrels/test.tsv"
CASES = {  # name: (file, appended bytes, expected message)
    "qrels-columns": (QRELS, "1\t31715818\r\n", "expected 3 tab-separated columns, got 2"),
    "qrels-score": (QRELS, "1\t31715818\thigh\r\n", "relevance 'high' is not an integer"),
    "qrels-unknown-doc": (QRELS, "1\t999999999\t1\r\n", "doc id '999999999' that is not in"),
    "qrels-unknown-query": (QRELS, "nope\t31715818\t1\r\n", "query id 'nope' that is not in"),
    "qrels-judged-twice": (QRELS, "1\t31715818\t2\r\n", "judges doc '31715818' twice"),
    "corpus-duplicate-id": ("corpus.jsonl", None, "duplicate doc id"),
    "corpus-empty-text": ("corpus.jsonl", '{"_id": "e1", "title": " ", "text": ""}\n',
                          "document 'e1' has empty text"),
    "corpus-not-utf8": ("corpus.jsonl", b'{"_id": "x", "text": "caf\xe9"}\n', "not valid UTF-8"),
    "queries-empty-text": ("queries.jsonl", '{"_id": "q-empty", "text": "  "}\n',
                           "query 'q-empty' has empty text"),
    "queries-bad-json": ("queries.jsonl", '{"_id": "q2", "text": \n', "invalid JSON"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_run_on_a_bad_beir_folder(case, beir_small, tmp_path, tiny_model_dir, irds_home,
                                  cache_dir):
    folder = tmp_path / "data"
    shutil.copytree(beir_small, folder)
    rel, text, message = CASES[case]
    path = folder / rel
    if text is None:  # repeat the first document
        text = path.read_bytes().splitlines(keepends=True)[0]
    line = _append(path, text)
    out = tmp_path / "out"
    _fails(["run", "--suite", str(folder), "--samplers", "random", "--seeds", "13",
            "--model", str(tiny_model_dir), "--no-zero-shot", "--quiet", "--output", str(out)],
           _env(irds_home, cache_dir), f"{path}:{line}:", message, out)


def test_run_on_a_qrels_file_with_a_bom(beir_small, tmp_path, tiny_model_dir, irds_home,
                                        cache_dir):
    folder = tmp_path / "data"
    shutil.copytree(beir_small, folder)
    qrels = folder / QRELS
    qrels.write_bytes(b"\xef\xbb\xbf" + qrels.read_bytes())
    out = tmp_path / "out"
    _fails(["run", "--suite", str(folder), "--samplers", "random", "--model",
            str(tiny_model_dir), "--output", str(out)], _env(irds_home, cache_dir),
           f"{qrels}:1:", "byte-order mark", out)


def test_missing_data_folder_says_how_to_get_it(tmp_path, tiny_model_dir, cache_dir):
    out = tmp_path / "out"
    env = _env(tmp_path / "fresh-irds", cache_dir)
    _fails(["run", "--suite", "beir/scifact", "--samplers", "random", "--model",
            str(tiny_model_dir), "--data-root", str(tmp_path / "nowhere"), "--output", str(out)],
           env, str(tmp_path / "nowhere"), "--data-root", out)
    empty = tmp_path / "empty-root"
    empty.mkdir()
    _fails(["run", "--suite", "beir/scifact", "--samplers", "random", "--model",
            str(tiny_model_dir), "--data-root", str(empty), "--output", str(out)],
           env, str(empty / "beir-scifact"), "set $NEGBENCH_DATA or --data-root", out)


@pytest.mark.parametrize("negative, message", [
    ("positive", "is a judged positive of query"),
    ("unknown", "unknown negative doc id 'no-such-doc'"),
])
def test_run_with_a_bad_negatives_file(negative, message, scifact, tmp_path, tiny_model_dir,
                                       irds_home, cache_dir):
    from negbench.strategies.base import training_pairs

    (q1, p1), (q2, p2) = training_pairs(scifact.train)[:2]
    other = next(d for d in scifact.corpus.ids if d not in scifact.exclude.get(q1, ()))
    bad = p2 if negative == "positive" else "no-such-doc"
    path = tmp_path / "negs.jsonl"
    path.write_text(json.dumps({"query_id": q1, "positive_id": p1, "negative_ids": [other]})
                    + "\n" + json.dumps({"query_id": q2, "positive_id": p2,
                                         "negative_ids": [bad]}) + "\n")
    out = tmp_path / "out"
    _fails(["run", "--suite", "beir/scifact", "--samplers", "from-file", "--param",
            f"from-file.path={path}", "--model", str(tiny_model_dir), "--no-zero-shot",
            "--quiet", "--output", str(out)], _env(irds_home, cache_dir), f"{path}:2:",
           message, out)


@pytest.mark.parametrize("text, message", [
    ('{"query_id": "1", "positive_id": "2"', "expected a JSON object"),
    ('{"query_id": "1", "positive_id": "2", "negative_ids": "abc"}', "expected a JSON object"),
    ('{"query_id": "1", "positive_id": "31715818", "negative_ids": []}\n' * 2, "listed twice"),
])
def test_malformed_negatives_lines(text, message, tmp_path):
    path = tmp_path / "n.jsonl"
    path.write_text(text + "\n")
    with pytest.raises(NegbenchError, match=message) as exc:
        read_negatives(path)
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)


# -- TREC runs and qrels: the readers directly, then through `negbench eval`

RUN_CASES = {
    "columns": ("1 Q0 31715818 1 0.5\n", "expected 6 columns, got 5"),
    "score": ("1 Q0 31715818 1 high run\n", "score 'high' is not a number"),
    "nan": ("1 Q0 31715818 1 nan run\n", "score is NaN"),
    "twice": ("1 Q0 31715818 1 0.5 run\n1 Q0 31715818 2 0.4 run\n", "appears twice"),
    "bom": ("\ufeff1 Q0 31715818 1 0.5 run\n", "byte-order mark"),  # joined files
}


@pytest.mark.parametrize("case", sorted(RUN_CASES))
def test_bad_run_file(case, tmp_path, irds_home, data_dir, cache_dir):
    text, message = RUN_CASES[case]
    path = tmp_path / "bad.trec"
    path.write_text("3 Q0 4983 1 0.9 run\n" + text, encoding="utf-8")
    line = len(path.read_bytes().splitlines())  # the last line is the bad one
    with pytest.raises(NegbenchError, match=message) as exc:
        read_trec_run(path)
    assert f"{path}:{line}:" in str(exc.value)
    if case in ("columns", "score"):  # and once through the CLI
        _fails(["eval", "--suite", "beir/scifact", "--run", str(path), "--data-root",
                str(data_dir)], _env(irds_home, cache_dir), f"{path}:{line}:", message)


@pytest.mark.parametrize("text, message", [
    ("1 0 31715818\n", "expected 4 columns, got 3"),
    ("1 0 31715818 yes\n", "relevance 'yes' is not an integer"),
    ("1 0 31715818 1\n1 0 31715818 0\n", "judges doc '31715818' twice"),
])
def test_bad_trec_qrels(text, message, tmp_path):
    path = tmp_path / "q.txt"
    path.write_text(text)
    with pytest.raises(NegbenchError, match=message) as exc:
        read_trec_qrels(path)
    assert f"{path}:" in str(exc.value)


def test_run_without_common_queries(tmp_path, irds_home, data_dir, cache_dir, scifact):
    path = tmp_path / "other.trec"
    path.write_text("no-such-query Q0 4983 1 0.9 run\n")
    with pytest.raises(NegbenchError, match="no query in common") as exc:
        check_run_against_qrels(read_trec_run(path), scifact.test.qrels, path, "test.tsv")
    assert str(path) in str(exc.value)
    _fails(["eval", "--suite", "beir/scifact", "--run", str(path), "--data-root",
            str(data_dir)], _env(irds_home, cache_dir), "no query in common", str(path))


def test_crlf_run_scores_like_lf(tmp_path, irds_home, data_dir, cache_dir, scifact):
    """CRLF is fine: the same run with CRLF line ends gives the same numbers."""
    lines = [f"{q} Q0 {d} 1 1.0 run" for q, judged in sorted(scifact.test.qrels.items())[:50]
             for d in list(judged)[:1]]
    lf, crlf = tmp_path / "lf.trec", tmp_path / "crlf.trec"
    lf.write_bytes(("\n".join(lines) + "\n").encode())
    crlf.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    assert read_trec_run(crlf) == read_trec_run(lf)
    outs = [subprocess.run(CLI + ["eval", "--suite", "beir/scifact", "--run", str(p),
                                  "--data-root", str(data_dir)], env=_env(irds_home, cache_dir),
                           capture_output=True, text=True, check=True).stdout for p in (lf, crlf)]
    assert outs[0] == outs[1] and "nDCG@10" in outs[0]


def test_suite_file_with_unknown_key(tmp_path):
    path = tmp_path / "suites.yaml"
    path.write_text("- name: x\n  loader: irds\n  corpus: a\n  train: b\n  test: c\n"
                    "  measure: [nDCG@10]\n")
    with pytest.raises(NegbenchError, match=r"unknown key\(s\) \['measure'\]") as exc:
        parse_suites(path)
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)


def test_suite_file_is_safe_yaml(tmp_path):
    """A YAML tag that would construct a Python object is refused, not executed."""
    path = tmp_path / "evil.yaml"
    path.write_text("- !!python/object/apply:os.system ['touch pwned']\n")
    with pytest.raises(NegbenchError, match="invalid YAML"):
        parse_suites(path)
    assert not (tmp_path / "pwned").exists()


def test_first_line_gives_one_line_of_any_library_error():
    from negbench.harness.errors import first_line

    assert first_line(ValueError("\n\n  bad value at 3\nTraceback detail")) == "bad value at 3"
    assert first_line(KeyError()) == "KeyError"
    assert first_line(RuntimeError("x" * 500), limit=40) == "x" * 40
