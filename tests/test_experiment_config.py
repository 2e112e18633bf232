"""Experiments as files: ``negbench run --config experiment.yaml`` on real SciFact with the
tiny model (smoke budget), explicit options over the file, one-line errors, resolved config."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from negbench.harness.cli import main
from negbench.harness.errors import NegbenchError
from negbench.harness.experiment import (
    RESOLVED_FILE,
    Experiment,
    explicit_options,
    merge,
    validate,
)

CLI = [sys.executable, "-m", "negbench.harness.cli"]


def _env(irds_home, cache_dir) -> dict:
    return dict(os.environ, IR_DATASETS_HOME=str(irds_home), NEGBENCH_CACHE=str(cache_dir),
                OMP_NUM_THREADS="1")


@pytest.fixture(scope="module")
def config_run(tiny_model_dir, irds_home, cache_dir, tmp_path_factory):
    """One grid from a file: in-batch and a mixture whose components carry parameters;
    ``--output`` and ``--seeds`` given on the command line override the file."""
    tmp = tmp_path_factory.mktemp("config-run")
    exp = {"suite": "beir/scifact", "model": str(tiny_model_dir), "budget": "smoke",
           "track": "query-side", "seeds": [1, 2, 3], "output": str(tmp / "not-used"),
           "no_zero_shot": True, "no_audit": True, "quiet": True,
           "samplers": ["in-batch", {"name": "mixture", "components": [
               {"sampler": "random", "weight": 0.5},
               {"sampler": "bm25", "weight": 0.5, "params": {"range_max": 50}}]}]}
    path = tmp / "experiment.yaml"
    path.write_text(yaml.safe_dump(exp))
    out = tmp / "out"
    env = _env(irds_home, cache_dir)
    proc = subprocess.run(CLI + ["run", "--config", str(path), "--seeds", "13", "--output",
                                 str(out)], env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, path, env, proc


def test_config_runs_the_grid_with_cli_overrides(config_run):
    out, path, _, proc = config_run
    assert not (path.parent / "not-used").exists()
    assert sorted(p.name for p in (out / "records").glob("*.json")) == [
        "in-batch-seed13.json", "mixture-seed13.json"]
    assert "mixture" in proc.stdout and "in-batch" in proc.stdout


def test_resolved_config_is_stored_and_reruns(config_run, tiny_model_dir, cache_dir, data_dir):
    out, _, env, _ = config_run
    resolved = yaml.safe_load((out / RESOLVED_FILE).read_text())
    assert resolved["seeds"] == [13] and resolved["output"] == str(out)
    assert resolved["track"] == "query-side" and resolved["budget"] == "smoke"
    # every value the run used, not null: model, data root, cache folder, the budget's values
    assert resolved["model"] == str(tiny_model_dir) and resolved["cache_dir"] == str(cache_dir)
    assert resolved["data_root"] == str(data_dir)
    assert (resolved["steps"], resolved["batch_size"], resolved["lr"]) == (3, 8, 2e-5)
    mix = next(s for s in resolved["samplers"] if s["name"] == "mixture")
    assert mix["params"]["components"] == "random:0.5,bm25[range_max=50]:0.5"
    assert set(resolved) == set(Experiment.model_fields)
    # the resolved file is itself an experiment: re-running it finds every run finished
    again = subprocess.run(CLI + ["run", "--config", str(out / RESOLVED_FILE), "--no-zero-shot"],
                           env=env, capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr[-2000:]


@pytest.mark.parametrize(("text", "message"), [
    ("suite: beir/scifact\nsamplers: [random]\noutput: o\nseed: [1]\n",
     "unknown key 'seed'; did you mean 'seeds'?"),
    (("suite: beir/scifact\noutput: o\nsamplers:\n - name: mixture\n   components:\n"
      "    - {sampler: random, weight: 1, parms: {}}\n"),
     "unknown key 'samplers.0.components.0.parms'"),
    ("suite: beir/scifact\noutput: o\nsamplers:\n - name: dense\n   components: []\n",
     "only a mixture has components"),
    ("suite: beir/scifact\noutput: o\nsamplers: [random]\nseeds: [1, 1]\n", "seeds must be distinct"),
    ("suite: beir/scifact\noutput: o\nsamplers: [random]\ntrack: both\n", "track"),
    ("samplers: [random]\noutput: o\n", "missing key 'suite'"),
    ("- just\n- a list\n", "expected a mapping"),
    ("suite: [unclosed\n", "not valid YAML"),
])
def test_bad_config_is_one_line_usage_error(tmp_path, capsys, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert main(["run", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert message in err and str(path) in err, err
    assert not (tmp_path / "o").exists()


def test_unknown_sampler_parameter_in_file_is_one_line(tmp_path):
    path = tmp_path / "e.yaml"
    path.write_text(yaml.safe_dump({"suite": "beir/scifact", "output": str(tmp_path / "o"),
                                    "samplers": [{"name": "dense", "params": {"rnage_max": 3}}]}))
    proc = subprocess.run(CLI + ["run", "--config", str(path)], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 2 and "rnage_max" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_explicit_options_win_even_when_equal_to_the_default():
    argv = ["run", "--config", "x.yaml", "--budget", "smoke", "--no-audit", "--param",
            "dense.range_max=7"]
    given = explicit_options(argv)
    assert given == {"config", "budget", "no_audit", "param"}
    file = {"suite": "beir/scifact", "output": "o", "budget": "standard",
            "samplers": [{"name": "dense", "params": {"range_min": 2}}]}
    merged = merge(file, {"budget": "smoke", "no_audit": True}, ["dense.range_max=7"])
    exp = validate(merged)
    assert exp.budget == "smoke" and exp.no_audit
    assert exp.sampler_params() == {"dense": {"range_min": 2, "range_max": "7"}}


def test_cli_samplers_keep_the_files_parameters():
    file = {"suite": "s", "output": "o", "samplers": {"dense": {"range_min": 2}, "random": {}}}
    exp = validate(merge(file, {"samplers": ["dense"]}, []))
    assert exp.sampler_params() == {"dense": {"range_min": 2}}


def test_every_run_option_has_a_key():
    from negbench.harness.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    dests = {a.dest for a in sub.choices["run"]._actions} - {
        "help", "config", "param", "task",  # an executor's task
        "overrides", "multirun"}  # KEY=VALUE overrides of the keys, and their sweep
    missing = {d for d in dests if d != "plugin"} - set(Experiment.model_fields)
    assert not missing, f"run options without an experiment key: {missing}"


def test_validate_reports_first_problem_as_negbench_error():
    with pytest.raises(NegbenchError, match="samplers"):
        validate({"suite": "s", "output": "o", "samplers": []})
