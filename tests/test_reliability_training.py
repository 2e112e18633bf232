"""Class 2 of issue 14: no model that trained on nothing reported as a sampler. Parameters that
filter everything are refused when parsed; a sampler whose filters kept nothing, a training
split without a relevant pair and a partial negatives file are refused before training
(docs/reliability.md, "Training-set guard")."""

from __future__ import annotations

import json

import pytest
from reliability_helpers import cli, copy_folder, fails, record

from negbench.harness.errors import NegbenchError
from negbench.strategies.base import NegativeRow, training_pairs


def _run(suite, out, model, sampler: str, *params: str) -> list:
    argv = ["run", "--suite", suite, "--samplers", sampler, "--seeds", "13", "--budget", "smoke",
            "--model", model, "--no-audit", "--no-zero-shot", "--quiet", "--output", out]
    for p in params:
        argv += ["--param", p]
    return argv


def test_a_sampler_whose_filters_keep_nothing_does_not_train(small, tiny_model_dir, cli_env,
                                                            tmp_path):
    """max_score below every cosine: every pair would get random fallback negatives, a random
    run recorded as `dense` (the old code trained it and wrote the record)."""
    out = tmp_path / "out"
    fails(_run(small, out, tiny_model_dir, "dense", "dense.max_score=-5"), cli_env,
          "sampler 'dense': its filters kept no candidate for any of the 919 training pairs",
          output=out)


@pytest.mark.parametrize("param, message", [
    ("dense.num_negatives=0", "num_negatives must be >= 1, got 0"),
    ("dense.max_score=nan", "max_score='nan' is not a finite number"),
    ("dense.min_score=inf", "min_score='inf' is not a finite number"),
    ("margin.relative_margin=1", "relative_margin must be in [0, 1), got 1.0"),
    ("dense.min_score=0.9", None),  # with max_score below: checked together, see below
])
def test_parameters_that_filter_everything_are_refused_before_anything_runs(
        param, message, small, tiny_model_dir, cli_env, tmp_path):
    out = tmp_path / "out"
    sampler = param.split(".")[0]
    params = [param] + (["dense.max_score=0.1"] if message is None else [])
    fails(_run(small, out, tiny_model_dir, sampler, *params), cli_env,
          message or "min_score 0.9 > max_score 0.1: no candidate can pass", output=out)


def test_training_qrels_without_a_relevant_pair_are_refused(small, tiny_model_dir, cli_env,
                                                           tmp_path):
    folder = copy_folder(small, tmp_path / "zero" / "scifact-small")
    qrels = folder / "qrels" / "train.tsv"
    lines = qrels.read_text().splitlines()
    qrels.write_text("\n".join([lines[0]] + [ln.rsplit("\t", 1)[0] + "\t0"
                                             for ln in lines[1:]]) + "\n")
    out = tmp_path / "out"
    fails(_run(folder, out, tiny_model_dir, "random"), cli_env, f"{qrels}: no training pair",
          output=out)


def test_a_partial_negatives_file_says_so_or_is_accepted_explicitly(small, tiny_model_dir,
                                                                   cli_env, scifact, tmp_path):
    pairs = training_pairs(scifact.train)[:2]
    ids = sorted(json.loads(ln)["_id"] for ln in (small / "corpus.jsonl").read_text().splitlines())
    other = next(d for d in ids if all(d not in scifact.exclude[q] for q, _ in pairs))
    path = tmp_path / "negs.jsonl"
    path.write_text("".join(json.dumps({"query_id": q, "positive_id": p, "negative_ids": [other]})
                            + "\n" for q, p in pairs))
    out = tmp_path / "out"
    fails(_run(small, out, tiny_model_dir, "from-file", f"from-file.path={path}"), cli_env,
          f"{path}: covers 2 of 919 training pairs", "from-file.allow_partial=true", output=out)
    proc = cli(_run(small, out, tiny_model_dir, "from-file", f"from-file.path={path}",
                    "from-file.allow_partial=true"), cli_env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rec = record(out, "from-file-seed13")
    assert rec["sampler"]["params"]["allow_partial"] is True
    assert rec["mining"]["fallback_pairs"] == 917 and rec["train_examples"] == 919


def test_the_guard_refuses_rows_that_miss_pairs_or_carry_no_negative():
    from negbench.harness.training.mined import check_mined

    pairs = [("q1", "d1"), ("q2", "d2")]
    full = [NegativeRow("q1", "d1", ("x",)), NegativeRow("q2", "d2", ("y",))]
    check_mined("s", True, full, pairs, 1)
    with pytest.raises(NegbenchError, match=r"filled 1 of 2 training pairs"):
        check_mined("s", True, full[:1], pairs, 0)
    with pytest.raises(NegbenchError, match="no training pairs"):
        check_mined("s", True, [], [], 0)
    empty = [NegativeRow(q, p, ()) for q, p in pairs]
    with pytest.raises(NegbenchError, match="no negative for any"):
        check_mined("s", True, empty, pairs, 0)
    check_mined("in-batch", False, empty, pairs, 0)
    with pytest.raises(NegbenchError, match="kept no candidate"):
        check_mined("s", True, full, pairs, 2)
