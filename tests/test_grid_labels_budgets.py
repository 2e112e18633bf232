"""Issue 30, items 1 and 3: labelled grid entries (one sampler twice with other parameters in
one grid) and budget values as run options (``--lr``, ``--batch-size``, ...).

The config-hash rules on ``RunConfig``; the refusals through the CLI (before any write); one
tiny grid (``dense`` twice, 2 steps of the tiny model on SciFact cut to its judged documents)
for records, table and hashes; the comparability refusal naming the budget field."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from reliability_helpers import cli, env, fails

from negbench.harness.errors import NegbenchError
from negbench.harness.pipeline.runner import RunConfig
from negbench.harness.reporting.comparability import check_comparable
from negbench.harness.training.budget import get_budget, option_values, with_options

RECORDS = Path(__file__).resolve().parents[1] / "results" / "runs" / "scifact-query-side" / \
    "records"


def _cfg(budget, label: str = "") -> RunConfig:
    return RunConfig("beir/scifact", "dense", {"range_max": 200}, 13, budget, "m", label=label)


def test_a_label_names_the_row_but_not_the_function():
    smoke = get_budget("smoke")
    plain, labelled = _cfg(smoke), _cfg(smoke, "deep")
    assert labelled.key == "deep-seed13" and plain.key == "dense-seed13"
    assert labelled.config_hash() == plain.config_hash()


def test_budget_options_change_the_hash_and_stating_the_budget_does_not():
    smoke = get_budget("smoke")
    faster = with_options(smoke, {"lr": 3e-5, "batch_size": 4})
    assert (faster.learning_rate, faster.batch_size) == (3e-5, 4)
    assert faster.changed == ("batch_size", "learning_rate")
    assert _cfg(faster).config_hash() != _cfg(smoke).config_hash()
    # the resolved file states every value: the same budget, the same runs
    for name in ("smoke", "standard", "paper"):
        b = get_budget(name)
        same = with_options(b, {**option_values(b), "epochs": b.epochs and float(b.epochs)})
        assert same == b and _cfg(same).config_hash() == _cfg(b).config_hash()
    # steps replace epochs (and the other way round)
    assert with_options(get_budget("standard"), {"steps": 7}).epochs is None
    assert with_options(smoke, {"epochs": 2}).steps is None
    assert "set by run options: batch_size, learning_rate" in faster.describe()


@pytest.mark.parametrize(("values", "message"), [
    ({"lr": 0.0}, "--lr 0.0: must be a number > 0"),
    ({"lr": float("nan")}, "--lr nan: must be a number > 0"),
    ({"batch_size": 1}, "--batch-size 1: must be >= 2"),
    ({"warmup": 1.0}, "--warmup 1.0: is a ratio"),
    ({"query_length": 0}, "--query-length 0: must be >= 1"),
    ({"epochs": 2, "steps": 3}, "give one of them"),
])
def test_bad_budget_values_are_one_line(values, message):
    with pytest.raises(NegbenchError, match=message.replace("(", r"\(")):
        with_options(get_budget("smoke"), values)


def _run(suite, model, out, *extra) -> list:
    return ["run", "--suite", suite, "--seeds", "13", "--budget", "smoke", "--model", model,
            "--no-audit", "--quiet", "--steps", "2", "--output", out, *extra]


@pytest.mark.parametrize(("extra", "messages"), [
    (["--samplers", "dense", "--lr", "0"], ["--lr 0.0: must be a number > 0"]),
    (["--samplers", "dense", "--batch-size", "1"], ["--batch-size 1: must be >= 2"]),
    (["--samplers", "dense,random=dense,random"], ["two entries named 'random'"]),
    (["--samplers", "dense,deep=dense,deep=bm25"], ["two entries named 'deep'"]),
    (["--samplers", "dense,a/b=dense"], ["label 'a/b'", "letters, digits"]),
    (["--samplers", "dense,deep=dense", "--param", "wide.range_max=9"],
     ["--param 'wide.range_max=9'", "'wide' is not an entry of --samplers (dense, deep)"]),
])
def test_bad_labels_and_budget_values_are_refused_before_any_write(
        small, tiny_model_dir, irds_home, cache_dir, tmp_path, extra, messages):
    out = tmp_path / "out"
    fails(_run(small, tiny_model_dir, out, *extra), env(irds_home, cache_dir), *messages,
          output=out)


def test_labels_in_a_file_are_checked(tmp_path):
    from negbench.harness.experiment import validate

    base = {"suite": "s", "output": "o"}
    with pytest.raises(NegbenchError, match="two entries named 'dense'"):
        validate({**base, "samplers": ["dense", {"name": "random", "label": "dense"}]})
    exp = validate({**base, "samplers": ["dense", {"name": "dense", "label": "dense-deep",
                                                   "params": {"range_max": 200}},
                                         "wide=dense", {"name": "bm25", "label": "bm25"}]})
    assert [(e.sampler, e.label) for e in exp.grid()] == [
        ("dense", ""), ("dense", "dense-deep"), ("dense", "wide"), ("bm25", "")]


# -- one tiny grid: dense twice, under a budget changed by options --------------------------------
@pytest.fixture(scope="module")
def grid(small, tiny_model_dir, irds_home, cache_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("labels") / "grid"
    proc = cli(_run(small, tiny_model_dir, out, "--samplers", "dense,deep=dense", "--param",
                    "dense.range_max=20", "--param", "deep.range_min=20", "--param",
                    "deep.range_max=100", "--lr", "3e-5", "--batch-size", "4",
                    "--no-zero-shot"), env(irds_home, cache_dir))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def _records(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((out / "records").glob("*.json"))}


def test_one_sampler_twice_gives_two_rows(grid):
    recs = _records(grid)
    assert set(recs) == {"dense-seed13", "deep-seed13"}
    dense, deep = recs["dense-seed13"], recs["deep-seed13"]
    assert (deep["name"], deep["label"], deep["sampler"]["name"]) == ("deep", "deep", "dense")
    assert dense["name"] == "dense" and "label" not in dense
    assert (dense["sampler"]["params"]["range_max"], deep["sampler"]["params"]["range_max"]) == \
        (20, 100)
    assert dense["config_hash"] != deep["config_hash"]
    assert (grid / "negatives" / "deep-seed13.jsonl").is_file()
    rows = [line.split("|")[1].strip() for line in
            (grid / "table.md").read_text().splitlines()[2:] if line.startswith("|")]
    assert sorted(rows) == ["deep", "dense"]


def test_budget_options_are_recorded_hashed_and_stated(grid):
    rec = _records(grid)["deep-seed13"]
    assert (rec["budget"]["learning_rate"], rec["budget"]["batch_size"]) == (3e-5, 4)
    assert rec["budget"]["changed"] == ["batch_size", "learning_rate", "steps"]
    base = dataclasses.replace(get_budget("smoke"), steps=2, batch_size=4)
    same = RunConfig(**{**rec["config"], "budget": dataclasses.replace(base, learning_rate=3e-5)})
    assert same.config_hash() == rec["config_hash"]
    assert RunConfig(**{**rec["config"], "budget": base}).config_hash() != rec["config_hash"]
    assert "set by run options: batch_size, learning_rate, steps" in \
        (grid / "table.md").read_text()
    resolved = (grid / "experiment.resolved.yaml").read_text()
    assert "lr: 3.0e-05" in resolved and "batch_size: 4" in resolved
    assert "label: deep" in resolved


def test_comparability_names_the_differing_budget_field(tmp_path):
    recs = [json.loads((RECORDS / f).read_text())
            for f in ("in-batch-seed13.json", "in-batch-seed42.json")]
    recs[1]["budget"] = {**recs[1]["budget"], "learning_rate": 3e-5}
    with pytest.raises(NegbenchError) as e:
        check_comparable(recs)
    msg = str(e.value)
    assert "budget learning_rate differs (2e-05: 1, 3e-05: 1 records)" in msg, msg
    assert "batch_size" not in msg and "\n" not in msg
