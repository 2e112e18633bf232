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
    assert list(flag) == ["query", "pos", "neg", "pos_scores", "neg_scores", "prompt", "type"]
    assert len(flag["pos_scores"]) == len(flag["pos"]) and flag["prompt"] == ""
    tev = json.loads((tmp_path / "tevatron").read_text().splitlines()[0])
    assert set(tev) == {"query_id", "query", "positive_passages", "negative_passages"}
    assert set(tev["positive_passages"][0]) == {"docid", "title", "text"}


@pytest.fixture(scope="module")
def prompted_run(tiny_model_dir, env, tmp_path_factory) -> Path:
    """dense, its two top-ranked negatives per pair (pairs of a query share them), with a
    query prompt."""
    out = tmp_path_factory.mktemp("dense-run")
    proc = cli([*run_args(tiny_model_dir, out, "dense"), "--param", "dense.sampling=top",
                "--param", "dense.num_negatives=2", "--num-negatives", "2",
                "--query-prompt", "query: "], env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def test_flagembedding_carries_scores_and_prompt_per_query(prompted_run, scifact,
                                                           tiny_model_dir, env, tmp_path,
                                                           monkeypatch):
    """FlagEmbedding's fine-tuning lines (negbench.export, the Python API): one per query, the
    run's query prompt, and the miner's scores (dense: the base model's dot products, with the
    prompt, at the budget's eval length), the negatives' in rank order."""
    import negbench
    from negbench.harness.io.negatives import read_negatives
    from negbench.harness.retrieval.models import load_model

    monkeypatch.setenv("NEGBENCH_CACHE", env["NEGBENCH_CACHE"])
    path = tmp_path / "flag.jsonl"
    assert negbench.export(prompted_run, "flagembedding", path, device="cpu") == 919
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    rows = read_negatives(prompted_run / "negatives" / "dense-seed13.jsonl")
    assert len(lines) == len({r.query_id for r in rows}) < len(rows)  # grouped per query
    assert max(len(line["pos"]) for line in lines) > 1
    for line in lines:
        assert line["prompt"] == "query: " and line["type"] == "normal"
        assert len(line["pos_scores"]) == len(line["pos"]) and len(line["neg"]) == 2
        assert line["neg_scores"] == sorted(line["neg_scores"], reverse=True)
    model = load_model(str(tiny_model_dir))
    model.max_seq_length = json.loads(next((prompted_run / "records").glob("*.json"))
                                      .read_text())["budget"]["eval_max_length"]
    for line in lines[:3]:
        q, *docs = model.encode(["query: " + line["query"], *line["pos"], *line["neg"]],
                                normalize_embeddings=True)
        assert docs @ q == pytest.approx(line["pos_scores"] + line["neg_scores"], abs=1e-4)


def test_flagembedding_round_trips_through_from_file(prompted_run, scifact_ctx, env, tmp_path):
    from negbench.harness.io.negatives import read_negatives
    from negbench.strategies.registry import get_sampler

    path = tmp_path / "flag.jsonl"
    proc = cli(["export", str(prompted_run), "--format", "flagembedding", "--output",
                str(path), "--device", "cpu"], env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    sampler = get_sampler("from-file").from_dict({"path": str(path), "num_negatives": 2})
    mined = sampler.mine(scifact_ctx)
    assert scifact_ctx.extra["input_format"] == "flagembedding"
    rows = read_negatives(prompted_run / "negatives" / "dense-seed13.jsonl")
    assert sorted(mined, key=lambda r: (r.query_id, r.positive_id)) == rows


def test_scores_none_and_a_missing_teacher(prompted_run, env, tmp_path):
    path = tmp_path / "flag.jsonl"
    proc = cli(["export", str(prompted_run), "--format", "flagembedding", "--output",
                str(path), "--scores", "none"], env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert set(json.loads(path.read_text().splitlines()[0])) == {"query", "pos", "neg",
                                                                 "prompt", "type"}
    proc = cli(["export", str(prompted_run), "--format", "flagembedding", "--output",
                str(tmp_path / "t.jsonl"), "--scores", "teacher"], env)
    assert proc.returncode == 2
    assert "--scores teacher: dense mined without a cross-encoder teacher" in proc.stderr


def test_scores_of_a_teacher_sampler_are_its_teachers(scifact, tiny_model_dir, data_dir,
                                                      tmp_path):
    """A sampler that mined with a cross-encoder teacher (denoised) exports that teacher's
    scores of each (query, document), aligned with pos and neg."""
    from negbench.harness.io.negatives import NegativeRow
    from negbench.harness.pipeline.exporting import pair_scores, run_workspace

    params = {"ce_base": str(tiny_model_dir), "ce_steps": 2, "ce_folds": 1}
    rec = {"name": "denoised", "suite": "beir/scifact", "seed": 13, "model": str(tiny_model_dir),
           "prompts": {}, "budget": {"eval_max_length": 64}, "mining": {"teacher": "harness"},
           "config": {"sampler": "denoised", "params": params}}
    qids = sorted(scifact.train.positives())[:3]
    rows = [NegativeRow(q, scifact.train.positives()[q][0], tuple(scifact.corpus.ids[i:i + 2]))
            for i, q in enumerate(qids)]
    cache_dir = tmp_path / "cache"  # its own: the teacher's scores are the one file there
    ws = run_workspace(rec, data_dir, cache_dir, "cpu")
    scores, source = pair_scores(rows, rec, ws)
    assert source == "teacher"
    (cache,) = (cache_dir / "ce-scores").glob("*.json")  # the teacher's (query, doc) scores
    teacher = json.loads(cache.read_text())
    for r in rows:
        pos, negs = scores[(r.query_id, r.positive_id)]
        assert [pos, *negs] == [round(teacher[f"{r.query_id}\t{d}"], 6)
                                for d in (r.positive_id, *r.negative_ids)]
    model, source = pair_scores(rows, rec, ws, "model")
    assert source == "model" and model != scores


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
