"""``negbench export`` and ``from-file``: negatives out in the trainers' formats and back in,
bit for bit (real SciFact, tiny model, smoke budget)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from negbench.harness.errors import NegbenchError

FORMATS = ("st", "flagembedding", "tevatron")


def cli(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "negbench.harness.cli", *args], env=env,
                          capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def env(irds_home, cache_dir) -> dict:
    return dict(os.environ, IR_DATASETS_HOME=str(irds_home), NEGBENCH_CACHE=str(cache_dir))


def run_args(model: Path, out: Path, sampler: str = "bm25") -> list[str]:
    return ["run", "--suite", "beir/scifact", "--samplers", sampler, "--seeds", "13",
            "--budget", "smoke", "--no-audit", "--no-zero-shot", "--device", "cpu", "--quiet",
            "--model", str(model), "--output", str(out)]


@pytest.fixture(scope="module")
def bm25_run(tiny_model_dir, env, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bm25-run")
    proc = cli(run_args(tiny_model_dir, out), env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_reproduces_the_run(fmt, bm25_run, tiny_model_dir, env, tmp_path):
    exported = tmp_path / f"negatives.{fmt}"
    proc = cli(["export", str(bm25_run), "--format", fmt, "--output", str(exported)], env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = tmp_path / "again"
    proc = cli([*run_args(tiny_model_dir, out, "from-file"), "--param",
                f"from-file.path={exported}"], env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    a = json.loads((bm25_run / "records" / "bm25-seed13.json").read_text())
    b = json.loads((out / "records" / "from-file-seed13.json").read_text())
    assert b["mining"]["input_format"] == fmt
    assert b["negatives"]["sha256"] == a["negatives"]["sha256"]
    assert b["trained_model_fingerprint"] == a["trained_model_fingerprint"]
    assert b["metrics"] == a["metrics"] and b["per_query"] == a["per_query"]


def test_formats_look_as_their_trainers_expect(bm25_run, env, tmp_path):
    from datasets import load_from_disk

    for fmt in FORMATS:
        proc = cli(["export", str(bm25_run), "--format", fmt, "--output",
                    str(tmp_path / fmt)], env)
        assert proc.returncode == 0, proc.stderr[-2000:]
    ds = load_from_disk(str(tmp_path / "st"))
    assert ds.column_names == ["anchor", "positive", "negative_1"] and len(ds) == 919
    flag = json.loads((tmp_path / "flagembedding").read_text().splitlines()[0])
    assert set(flag) == {"query", "pos", "neg"} and len(flag["pos"]) == 1
    tev = json.loads((tmp_path / "tevatron").read_text().splitlines()[0])
    assert set(tev) == {"query_id", "query", "positive_passages", "negative_passages"}
    assert set(tev["positive_passages"][0]) == {"docid", "title", "text"}


def test_unknown_text_is_an_error_naming_the_line(scifact, tmp_path):
    from negbench.harness.io.negative_formats import detect_format, read_foreign

    q = min(scifact.train.positives())
    pos = scifact.corpus.docs[scifact.train.positives()[q][0]].text
    path = tmp_path / "flag.jsonl"
    path.write_text(json.dumps({"query": scifact.train.queries[q], "pos": [pos],
                                "neg": [scifact.corpus.docs[scifact.corpus.ids[0]].text]})
                    + "\n" + json.dumps({"query": scifact.train.queries[q], "pos": [pos],
                                         "neg": ["no such document"]}) + "\n")
    assert detect_format(path) == "flagembedding"
    with pytest.raises(NegbenchError, match=r"flag\.jsonl:2: negative text is not in the "
                                            r"corpus"):
        read_foreign(path, "flagembedding", scifact.corpus, scifact.train, scifact.exclude)


def test_export_needs_one_run(tmp_path, env):
    proc = cli(["export", str(tmp_path), "--format", "st", "--output", str(tmp_path / "x")],
               env)
    assert proc.returncode == 2 and "no records/ folder" in proc.stderr
