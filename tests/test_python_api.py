"""``import negbench``: version, run(config) -> Results, mine(), load_results(); a one-file
sampler loaded with ``--plugin`` / ``plugins:``; real SciFact, tiny model, smoke budget."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest

import negbench
import negbench.harness.api
from negbench.harness.retrieval.device import resolve_precision

PLUGIN = Path(__file__).resolve().parents[1] / "docs" / "examples" / "my_sampler.py"


@pytest.fixture(scope="module")
def api_run(tiny_model_dir, irds_home, cache_dir, tmp_path_factory, monkeypatch_module):
    from negbench.strategies import registry

    monkeypatch_module.setenv("NEGBENCH_CACHE", str(cache_dir))
    # the plugin registers `far-title` in this process: on a copy of the registry, given back
    # after this module, so later modules in the same worker see the built-in samplers only
    registry.available()
    monkeypatch_module.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    out = tmp_path_factory.mktemp("api-run")
    return negbench.run({"suite": "beir/scifact", "model": str(tiny_model_dir),
                         "samplers": ["in-batch", "far-title"], "plugins": [str(PLUGIN)],
                         "seeds": [13], "no_audit": True, "quiet": True}, output=str(out))


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_version_and_subpackages():
    import negbench.harness
    import negbench.strategies

    assert negbench.__version__ == version("negbench")
    assert Path(negbench.harness.__file__).parent.name == "harness"


def test_run_returns_results(api_run):
    assert isinstance(api_run, negbench.Results)
    assert "far-title" in api_run.table and "in-batch" in api_run.table
    assert [s["name"] for s in api_run.config["samplers"]] == ["in-batch", "far-title"]
    assert api_run.config["plugins"] == [str(PLUGIN)]
    assert {r["name"] for r in api_run.records()} >= {"in-batch", "far-title", "BM25"}


def test_load_results_one_row_per_run_and_measure(api_run):
    records = api_run.records()
    df = negbench.load_results(api_run.output)
    assert len(df) == sum(len(r["metrics"]) for r in records)
    row = df[(df.system == "far-title") & (df.measure == "nDCG@10")]
    rec = next(r for r in records if r["name"] == "far-title")
    assert row.value.item() == rec["metrics"]["nDCG@10"] and row.seed.item() == 13
    per_query = api_run.to_frame(per_query=True)
    assert len(per_query) == sum(len(s) for r in records for s in r["per_query"].values())
    q = per_query[(per_query.system == "far-title") & (per_query.measure == "nDCG@10")]
    assert q.value.mean() == pytest.approx(rec["metrics"]["nDCG@10"])


def test_load_results_provenance_columns_and_dtypes(api_run):
    records = {r["name"]: r for r in api_run.records()}
    df = negbench.load_results(api_run.output)
    assert list(df.columns) == list(negbench.harness.api.RESULT_COLUMNS)
    assert str(df.seed.dtype) == "Int64" and str(df.value.dtype) == "float64"
    assert all(str(df[c].dtype) == "string" for c in df.columns if c not in ("seed", "value"))
    rec = records["far-title"]
    row = df[(df.system == "far-title") & (df.measure == "nDCG@10")].iloc[0]
    assert row.seed == 13 and isinstance(row.seed, (int, np.integer))
    assert (row.device, row.device_name, row.precision) == (
        rec["device"]["device"], rec["device"]["name"], rec["device"]["precision"])
    auto = resolve_precision("auto", row.device)  # the run's --precision
    assert row.device in ("cpu", "cuda", "mps") and row.precision == auto
    assert row.encoding_precision == auto
    assert df[df.system == "BM25"].encoding_precision.isna().all()
    assert row.config_hash == rec["config_hash"] and len(row.config_hash) == 16
    assert (row["mode"], row.loss) == (rec["method"]["mode"], rec["method"]["loss"])
    assert row["mode"] in ("recipe", "controlled") and row.loss
    assert json.loads(row.sampler_params) == rec["sampler"]["params"]
    assert json.loads(row.loss_params) == rec["method"]["loss_params"]
    # a frame groups by the parameters; zero-shot rows have no seed, sampler or loss
    assert df.groupby(["system", "sampler_params"]).ngroups == df.system.nunique() - len(
        df[df.kind == "zero-shot"].system.unique())
    zero = df[df.kind == "zero-shot"]
    assert len(zero) and zero.seed.isna().all() and zero.loss.isna().all()
    assert zero.sampler_params.isna().all() and zero.config_hash.isna().all()
    per_query = api_run.to_frame(per_query=True)
    assert list(per_query.columns) == [*negbench.harness.api.RESULT_COLUMNS[:-1], "query_id",
                                       "value"]
    assert str(per_query.seed.dtype) == "Int64" and str(per_query.query_id.dtype) == "string"


def test_run_accepts_a_dataclass_and_a_yaml_path(api_run, tmp_path):
    @dataclasses.dataclass
    class Exp:
        suite: str = "beir/scifact"
        samplers: str = "in-batch,far-title"
        output: str = str(api_run.output)
        plugins: tuple = (str(PLUGIN),)
        model: str = api_run.config["model"]
        seeds: tuple = (13,)
        no_audit: bool = True
        quiet: bool = True

    again = negbench.run(Exp())  # every run finished: read back, nothing retrained
    assert again.table == api_run.table
    from_file = negbench.run(api_run.output / "experiment.resolved.yaml")
    assert from_file.config == api_run.config


def test_mine_returns_rows(tiny_model_dir, tmp_path, cache_dir, monkeypatch):
    monkeypatch.setenv("NEGBENCH_CACHE", str(cache_dir))
    rows = negbench.mine("beir/scifact", "random", tmp_path / "m", params={"num_negatives": 1},
                         model=str(tiny_model_dir), quiet=True)
    assert len(rows) == 919 and all(len(r["negative_ids"]) == 1 for r in rows)
    assert not (tmp_path / "m" / "records").exists()


def test_unknown_key_through_the_api_is_a_negbench_error(tmp_path):
    with pytest.raises(negbench.harness.errors.NegbenchError, match="unknown key 'seed'"):
        negbench.run({"suite": "beir/scifact", "samplers": ["random"], "seed": 1,
                      "output": str(tmp_path)})


def test_plugin_on_the_command_line():
    proc = subprocess.run([sys.executable, "-m", "negbench.harness.cli", "strategies",
                           "--plugin", str(PLUGIN)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "far-title" in proc.stdout, proc.stderr


def test_bad_plugin_is_one_line(tmp_path):
    bad = tmp_path / "empty_plugin.py"
    bad.write_text("X = 1\n")
    proc = subprocess.run([sys.executable, "-m", "negbench.harness.cli", "strategies",
                           "--plugin", str(bad)], capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "defines no Sampler subclass" in proc.stderr, proc.stderr
