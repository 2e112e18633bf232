"""Sequential seeds end to end: a grid that adds seed groups and stops each comparison once
decided (``run --seed-groups/--target-mde``), on SciFact cut to its judged documents with the
tiny model (2 steps: the point is the bookkeeping, not the scores)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from reliability_helpers import cli, env


def _run(small, out, model, *extra) -> list:
    return ["run", "--suite", str(small), "--samplers", "random,in-batch", "--seeds", "13,42",
            "--budget", "smoke", "--model", str(model), "--no-audit", "--quiet", "--steps",
            "2", "--no-zero-shot", "--output", str(out), *extra]


@pytest.fixture(scope="module")
def grid(small, tiny_model_dir, irds_home, cache_dir, tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("sequential") / "grid"
    proc = cli(_run(small, out, tiny_model_dir, "--seed-groups", "2,3", "--baseline", "random",
                    "--target-mde", "0.0001"), env(irds_home, cache_dir))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc.stdout


def test_each_look_runs_the_open_samplers_and_the_file_says_why_it_stopped(grid):
    out, stdout = grid
    doc = json.loads((out / "sequential.json").read_text())
    assert doc["looks"] == [2, 3] and doc["seeds"] == [13, 42, 10000]
    assert sum(doc["levels"]) == pytest.approx(0.05)
    final = doc["final"]["in-batch"]
    assert final["status"] in ("separated", "stopped at max seeds")
    # the sampler got seeds up to the look that decided it, the baseline up to the last look
    seeds_run = sorted(json.loads(p.read_text())["seed"]
                       for p in (out / "records").glob("in-batch-seed*.json"))
    assert seeds_run == doc["seeds"][:final["seeds"]]
    last = doc["history"][-1]
    assert len(doc["history"]) == (1 if final["status"] == "separated" else 2)
    assert final["look"] == last["look"]
    assert "in-batch vs random" in stdout and "look" in stdout


def test_the_report_states_each_verdicts_seeds_and_why(grid, irds_home, cache_dir, tmp_path):
    out, _ = grid
    proc = cli(["report", str(out), "--output", str(tmp_path), "--no-plots"],
               env(irds_home, cache_dir))
    assert proc.returncode == 0, proc.stderr[-2000:]
    md = (tmp_path / "report.md").read_text()
    assert "Sequential seeds (O'Brien-Fleming-like (Lan-DeMets) error spending" in md
    assert "in-batch vs random:" in md


def test_sequential_seeds_refuse_a_shard_before_writing(small, tiny_model_dir, irds_home,
                                                        cache_dir, tmp_path):
    out = tmp_path / "refused"
    proc = cli(_run(small, out, tiny_model_dir, "--target-mde", "0.01", "--shard", "0/2"),
               env(irds_home, cache_dir))
    assert proc.returncode == 2
    assert "--shard does not finish the grid here" in proc.stderr
    assert not out.exists()
    proc = cli(_run(small, out, tiny_model_dir, "--target-mde", "0.01", "--baseline", "dense"),
               env(irds_home, cache_dir))
    assert proc.returncode == 2 and "must be one of --samplers" in proc.stderr


def test_sequential_seeds_run_in_worker_processes(small, tiny_model_dir, irds_home, cache_dir,
                                                  tmp_path):
    """With ``--workers 2`` each look's runs are tasks in worker processes that read the
    experiment file: they must find the look's seeds there (10000 is added by the rule, not
    given) and not take themselves for a sequential grid."""
    out = tmp_path / "workers"
    proc = cli(_run(small, out, tiny_model_dir, "--seed-groups", "2,3", "--baseline", "random",
                    "--target-mde", "0.0001", "--workers", "2"), env(irds_home, cache_dir))
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads((out / "sequential.json").read_text())
    assert doc["seeds"] == [13, 42, 10000]
    seeds_run = sorted(json.loads(p.read_text())["seed"]
                       for p in (out / "records").glob("random-seed*.json"))
    assert seeds_run == [13, 42, 10000]  # the baseline runs every look
    assert (out / "logs" / "worker-1.log").exists()  # the runs were tasks, not in-process
