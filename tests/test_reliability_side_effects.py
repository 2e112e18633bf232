"""Classes 5 and 6 of issue 14: everything a command needs is validated before it writes
anything (``harness/pipeline/preflight.py``), and every bad input is one line naming the file (and
line) with exit 2, never a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from reliability_helpers import cli, env, fails

RUNS = Path(__file__).resolve().parents[1] / "results" / "runs"


def _run(suite, out, model, sampler="random", *params: str) -> list:
    argv = ["run", "--suite", suite, "--samplers", sampler, "--seeds", "13", "--budget", "smoke",
            "--model", model, "--quiet", "--output", out]
    for p in params:
        argv += ["--param", p]
    return argv


# -- class 5: validation before side effects --------------------------------------------------
@pytest.mark.parametrize("params, message", [
    (["dense.range_min=50"], "need 0 <= range_min < range_max, got 50, 30"),
    (["dense.relative_margin=-0.5"], "relative_margin must be in [0, 1)"),
    (["from-file.path=/no/such/negs.jsonl"], "/no/such/negs.jsonl: negatives file not found"),
    (["taxonomy.parents_file=/no/such.tsv"], "/no/such.tsv: parents file not found"),
    (["mixture.components=dense:nan"], "needs NAME:WEIGHT"),
])
def test_a_parameter_error_leaves_the_output_folder_empty(params, message, small,
                                                         tiny_model_dir, cli_env, tmp_path):
    """Zero-shot rows on (the default): the old code wrote them, then failed while mining."""
    out = tmp_path / "out"
    out.mkdir()
    sampler = params[0].split(".")[0]
    fails(_run(small, out, tiny_model_dir, sampler, *params), cli_env, message, output=out)
    assert not any(out.iterdir())


def test_taxonomy_on_a_suite_without_a_taxonomy_is_refused_first(small, tiny_model_dir, cli_env,
                                                                 tmp_path):
    out = tmp_path / "out"
    fails(_run(small, out, tiny_model_dir, "taxonomy"), cli_env,
          "taxonomy needs a parent map: the suite provides none", output=out)


def test_output_and_cache_paths_are_checked_before_anything(small, tiny_model_dir, cli_env,
                                                            tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    fails(_run(small, blocker, tiny_model_dir), cli_env, f"{blocker}: --output is a file")
    fails(_run(small, blocker / "out", tiny_model_dir), cli_env, f"{blocker / 'out'}",
          "cannot be created")
    out = tmp_path / "out"
    fails([*_run(small, out, tiny_model_dir), "--cache-dir", blocker], cli_env,
          f"{blocker}: the cache folder", output=out)
    fails(["run", "--suite", "beir/scifact", "--samplers", "random", "--model", tiny_model_dir,
           "--output", out], dict(cli_env, IR_DATASETS_HOME=str(blocker)),
          "the ir_datasets cache ($IR_DATASETS_HOME) is a file", output=out)


def test_eval_output_equal_to_its_run_keeps_the_run(tmp_path, irds_home, cache_dir):
    run = tmp_path / "r.trec"
    run.write_text("1 Q0 31715818 1 1.0 x\n")
    before = run.read_bytes()
    fails(["eval", "--suite", "beir/scifact", "--run", run, "--output", run],
          env(irds_home, cache_dir), "would destroy that input")
    assert run.read_bytes() == before


# -- class 6: one line, never a traceback -----------------------------------------------------
def _records(tmp_path: Path, bad: str | bytes) -> Path:
    out = tmp_path / "res"
    (out / "records").mkdir(parents=True)
    src = RUNS.parent / "legacy-16-steps" / "scifact" / "records" / "in-batch-seed13.json"
    (out / "records" / src.name).write_bytes(src.read_bytes())
    path = out / "records" / "broken.json"
    path.write_bytes(bad.encode() if isinstance(bad, str) else bad)
    return out


@pytest.mark.parametrize("bad, message", [
    ("{", "not a record: invalid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"kind": "trained"}', "name must be a string"),
    (b"\xff\xfe", "not valid UTF-8"),
])
def test_a_malformed_record_is_named_by_report_regress_and_run(bad, message, small,
                                                              tiny_model_dir, cli_env, tmp_path):
    out = _records(tmp_path, bad)
    broken = str(out / "records" / "broken.json")
    fails(["report", out, "--no-plots"], cli_env, broken, message)
    fails(["regress", "--run", out, "--write-baseline", tmp_path / "b.json"], cli_env, broken)
    fails(_run(small, out, tiny_model_dir), cli_env, broken, message)
    assert not (out / "runs").exists()


def test_report_resamples_and_alpha_are_checked(tmp_path, cli_env):
    out = RUNS.parent / "legacy-16-steps" / "scifact"
    fails(["report", out, "--resamples", "0", "--output", tmp_path / "rep"], cli_env,
          "--resamples must be >= 1", output=tmp_path / "rep")
    fails(["report", out, "--alpha", "nan", "--output", tmp_path / "rep"], cli_env,
          "--alpha must be in (0, 1)", output=tmp_path / "rep")


@pytest.mark.parametrize("yaml_text, line, message", [
    ("beir: 5\n", 1, "collection 'beir' must be a mapping"),
    ("beir:\n  bm25-flat: 0.6\n", 2, "reference 'bm25-flat' must be a mapping"),
    ("beir:\n  bm25-flat:\n    system: bm25\n    scifact: 0.67\n", 4,
     "bm25-flat.scifact must map measures to numbers"),
    ("beir:\n  bm25-flat:\n    system: bm25\n    scifact: {nDCG@10: .nan}\n", 4,
     "bm25-flat.scifact.nDCG@10 must be a finite number"),
])
def test_a_scalar_entry_in_the_reference_yaml_names_its_line(yaml_text, line, message, tmp_path,
                                                             cli_env):
    ref = tmp_path / "ref.yaml"
    ref.write_text(yaml_text)
    fails(["reproduce", RUNS / "nfcorpus-zeroshot", "--reference", ref], cli_env,
          f"{ref}:{line}:", message)


def test_a_negatives_file_that_is_not_utf8_names_its_line(small, tiny_model_dir, cli_env,
                                                         tmp_path):
    path = tmp_path / "negs.jsonl"
    path.write_bytes(b'{"query_id": "1", "positive_id": "31715818", "negative_ids": ["caf\xe9"]}\n')
    out = tmp_path / "out"
    fails(_run(small, out, tiny_model_dir, "from-file", f"from-file.path={path}"), cli_env,
          f"{path}:1: not valid UTF-8", output=out)


def test_an_entry_point_that_is_not_a_sampler_is_listed(tmp_path, cli_env):
    (tmp_path / "fakeplug.py").write_text("class NotASampler:\n    pass\n")
    dist = tmp_path / "fakeplug-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplug\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[negbench.strategies]\nnot-a-sampler = fakeplug:NotASampler\n")
    e = dict(cli_env, PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH",
                                                                                 "")]))
    proc = cli(["strategies"], e)
    assert proc.returncode == 0, proc.stderr
    assert ("entry point 'not-a-sampler' not registered: fakeplug:NotASampler is not a "
            "negbench Sampler subclass") in proc.stdout
