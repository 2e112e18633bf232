"""Issue 30, item 2: experiment files with ``${...}`` interpolation, ``KEY=VALUE`` overrides
after the options and ``--multirun`` sweeps (OmegaConf, the way Hydra users write them).

Interpolation and overrides are checked on the prepared arguments (no run); the sweep runs
two real grids stopped after mining (``random`` on SciFact cut to its judged documents)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from reliability_helpers import cli, env, fails

from negbench.harness.cli import build_parser
from negbench.harness.experiment import prepare_run_args
from negbench.harness.overrides import slug, split_values, sweep


def _prepared(argv: list) -> object:
    argv = [str(a) for a in argv]
    args = build_parser().parse_args(argv)
    args.argv = argv
    return prepare_run_args(args)


def _file(tmp_path: Path, **keys) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump({"suite": "beir/scifact", "samplers": ["random"], **keys}))
    return path


def test_an_output_path_interpolates_other_keys(tmp_path):
    path = _file(tmp_path, budget="smoke", output=f"{tmp_path}/${{slug:${{suite}}}}-${{budget}}")
    assert _prepared(["run", "--config", path]).output == f"{tmp_path}/beir-scifact-smoke"
    # a key left out interpolates as its default; an option given changes what it resolves to
    path = _file(tmp_path, output=f"{tmp_path}/${{budget}}-${{fold_seed}}")
    assert _prepared(["run", "--config", path, "--budget", "standard"]).output == \
        f"{tmp_path}/standard-0"
    assert slug("beir/cqadupstack/android") == "beir-cqadupstack-android"


def test_key_value_overrides_after_the_options(tmp_path):
    path = _file(tmp_path, output=f"{tmp_path}/o-${{budget}}",
                 samplers=["random", {"name": "dense", "params": {"range_max": 50}}])
    args = _prepared(["run", "--config", path, "--no-audit", "budget=standard", "seeds=[13,42]",
                      "samplers.1.params.range_max=200", "lr=3e-5", "samplers.1.label=deep"])
    assert (args.budget, args.seeds, args.lr, args.no_audit) == ("standard", [13, 42], 3e-5, True)
    assert args.output == f"{tmp_path}/o-standard"
    assert [(e.sampler, e.label, e.params) for e in args.grid] == [
        ("random", "", {}), ("dense", "deep", {"range_max": 200})]
    # without a file: the options and overrides are the whole experiment
    args = _prepared(["run", "--suite", "beir/scifact", "--samplers", "dense,deep=dense",
                      "--param", "deep.range_max=9", f"output={tmp_path}/x", "batch_size=16"])
    assert args.output == f"{tmp_path}/x" and args.batch_size == 16
    assert args.grid[1].label == "deep" and args.grid[1].params == {"range_max": "9"}


def test_a_resolved_file_under_another_budget_takes_that_budgets_values(tmp_path):
    path = _file(tmp_path, output=f"{tmp_path}/o", budget="smoke", steps=3, epochs=None,
                 batch_size=8, lr=3e-5, max_steps=None)
    args = _prepared(["run", "--config", path, "--budget", "standard"])
    # smoke's own values go with it; the learning rate the file changed stays
    assert (args.steps, args.batch_size, args.lr) == (None, None, 3e-5)
    args = _prepared(["run", "--config", path, "epochs=2"])
    assert (args.epochs, args.steps) == (2, None)


@pytest.mark.parametrize(("extra", "message"), [
    (["output=${nope}/x"], ("output: cannot resolve the interpolation (Interpolation key "
                            "'nope' not found)")),
    (["output=r/${oops:1}"], "Unsupported interpolation type oops"),
    (["seed=[1]"], "override 'seed=[1]': unknown key 'seed'; did you mean 'seeds'?"),
    (["budget"], "override 'budget': expected KEY=VALUE"),
    (["seeds=[13,"], "override 'seeds=[13,': cannot read the value"),
    (["--budget", "smoke", "budget=standard"], "budget is also given as --budget"),
])
def test_bad_overrides_and_unresolved_interpolations_are_one_line(tmp_path, irds_home,
                                                                   cache_dir, extra, message):
    out = tmp_path / "out"
    path = _file(tmp_path, output=str(out))
    fails(["run", "--config", path, *extra], env(irds_home, cache_dir), message, output=out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.yaml"]  # nothing written


def test_an_unresolved_interpolation_on_the_command_line_is_never_a_folder(
        tmp_path, irds_home, cache_dir):
    fails(["run", "--suite", "beir/scifact", "--samplers", "random", "--output",
           f"{tmp_path}/${{nope}}"], env(irds_home, cache_dir), "Interpolation key 'nope'")
    assert not any(tmp_path.iterdir())


def test_sweep_values_split_like_hydra():
    assert split_values("13,42") == ["13", "42"]
    assert split_values("[13,42],[7]") == ["[13,42]", "[7]"]
    assert split_values("'a,b',c") == ["'a,b'", "c"]
    assert sweep(["a=1,2", "b=x,y", "c=[3,4]"]) == [
        ["a=1", "b=x", "c=[3,4]"], ["a=1", "b=y", "c=[3,4]"],
        ["a=2", "b=x", "c=[3,4]"], ["a=2", "b=y", "c=[3,4]"]]


def _sweep_run(small, model, *extra) -> list:
    return ["run", "--suite", small, "--samplers", "random", "--seeds", "13", "--model", model,
            "--no-audit", "--quiet", "--stop-after", "mine", "--multirun", *extra]


def test_a_sweep_whose_outputs_collide_is_refused_before_any_write(
        small, tiny_model_dir, irds_home, cache_dir, tmp_path):
    out = tmp_path / "same"
    fails(_sweep_run(small, tiny_model_dir, f"output={out}", "lr=1e-5,3e-5"),
          env(irds_home, cache_dir), "--multirun: lr=1e-5 and lr=3e-5 both write to",
          output=out)
    assert not out.exists()


def test_a_sweep_from_the_command_line_runs_one_grid_per_value(
        small, tiny_model_dir, irds_home, cache_dir, tmp_path):
    proc = cli(_sweep_run(small, tiny_model_dir, f"output={tmp_path}/lr-${{lr}}",
                          "lr=1e-5,3e-5"), env(irds_home, cache_dir))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lr-1e-05", "lr-3e-05"]
    for lr in (1e-5, 3e-5):
        out = tmp_path / f"lr-{lr:g}"
        assert (out / "negatives" / "random-seed13.jsonl").is_file()
        resolved = yaml.safe_load((out / "experiment.resolved.yaml").read_text())
        assert resolved["lr"] == lr and resolved["output"] == str(out)
        assert resolved["model"] == str(tiny_model_dir) and resolved["batch_size"] == 8
