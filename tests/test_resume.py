"""Resume: a run killed at any point and started again ends with the results of an
uninterrupted run, reusing the stages it had finished."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from negbench.harness.pipeline.runner import (
    CRASH_ENV,
    STAGES,
    InjectedCrash,
    RunConfig,
    execute_run,
)
from negbench.harness.pipeline.workspace import Workspace
from negbench.harness.training.budget import get_budget
from negbench.suites.registry import get_suite

KEY = "random-seed13"


def _env(irds_home, cache) -> dict:
    env = dict(os.environ, IR_DATASETS_HOME=str(irds_home), NEGBENCH_CACHE=str(cache),
               OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    env.pop(CRASH_ENV, None)
    return env


def _result(out) -> dict:
    """What must not depend on interruptions: metrics, per-query scores, files' bytes."""
    rec = json.loads((out / "records" / f"{KEY}.json").read_text())
    return {"metrics": rec["metrics"], "per_query": rec["per_query"],
            "negatives_sha256": rec["negatives"]["sha256"],
            "trained_model": rec["trained_model_fingerprint"],
            "run": (out / "runs" / f"{KEY}.trec").read_bytes(),
            "negatives": (out / "negatives" / f"{KEY}.jsonl").read_bytes()}


def test_sigkill_mid_training_then_rerun_equals_uninterrupted(tiny_model_dir, irds_home,
                                                              tmp_path):
    env = _env(irds_home, tmp_path / "cache")
    cmd = [sys.executable, "-m", "negbench.harness.cli", "run", "--suite", "beir/scifact",
           "--samplers", "random", "--seeds", "13", "--model", str(tiny_model_dir),
           "--no-zero-shot", "--quiet", "--steps", "60"]
    killed = tmp_path / "killed"
    progress = killed / "work" / KEY / "train_progress.json"
    with open(tmp_path / "first.log", "w") as log:
        proc = subprocess.Popen(cmd + ["--output", str(killed)], env=env, stdout=log,
                                stderr=log, start_new_session=True)
        deadline = time.monotonic() + 600
        while not (progress.exists() and json.loads(progress.read_text())["step"] >= 2):
            assert proc.poll() is None, (tmp_path / "first.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "training never started"
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    step = json.loads(progress.read_text())["step"]
    assert 2 <= step < 60, "the kill must land mid-training"
    manifest = json.loads((killed / "work" / KEY / "manifest.json").read_text())
    assert list(manifest["stages"]) == ["mine"]
    assert not (killed / "records").exists()
    neg = killed / "negatives" / f"{KEY}.jsonl"
    mined_at = neg.stat().st_mtime_ns

    loud = [c for c in cmd if c != "--quiet"]  # the resume notice is a progress message
    again = subprocess.run(loud + ["--output", str(killed)], env=env, capture_output=True,
                           check=False, text=True)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "reusing finished stage(s) mine" in again.stderr
    assert neg.stat().st_mtime_ns == mined_at  # mine was skipped, not redone
    assert not (killed / "work").exists()
    rec = json.loads((killed / "records" / f"{KEY}.json").read_text())
    assert rec["resumed_stages"] == ["mine"]
    assert rec["budget"]["steps"] == 60

    clean = tmp_path / "clean"
    ref = subprocess.run(cmd + ["--output", str(clean)], env=env, capture_output=True,
                         text=True, check=False)
    assert ref.returncode == 0, ref.stderr[-2000:]
    assert _result(killed) == _result(clean)


@pytest.fixture(scope="module")
def workspace(irds_home, data_dir, cache_dir, tiny_model_dir):
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield Workspace(get_suite("beir/scifact"), data_dir, cache_dir, str(tiny_model_dir),
                    progress=False)
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def smoke_cfg(workspace):
    budget = dataclasses.replace(get_budget("smoke"), retrieve_k=100)
    return RunConfig("beir/scifact", "random", {}, 13, budget, workspace.model_name)


@pytest.fixture(scope="module")
def uninterrupted(workspace, smoke_cfg, tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted")
    execute_run(smoke_cfg, workspace, out)
    return _result(out)


@pytest.mark.parametrize("crash_after", STAGES[:-1])
def test_crash_after_each_stage_resumes_from_the_next(crash_after, workspace, smoke_cfg,
                                                      uninterrupted, tmp_path, monkeypatch):
    monkeypatch.setenv(CRASH_ENV, crash_after)
    with pytest.raises(InjectedCrash):
        execute_run(smoke_cfg, workspace, tmp_path)
    manifest = json.loads((tmp_path / "work" / KEY / "manifest.json").read_text())
    done = list(STAGES[:STAGES.index(crash_after) + 1])
    assert list(manifest["stages"]) == done
    monkeypatch.delenv(CRASH_ENV)
    rec = execute_run(smoke_cfg, workspace, tmp_path)
    assert rec["resumed_stages"] == done
    assert _result(tmp_path) == uninterrupted


def test_tampered_stage_output_is_redone(workspace, smoke_cfg, uninterrupted, tmp_path,
                                         monkeypatch):
    """A finished stage whose output no longer matches its sha256 is redone, with the rest."""
    monkeypatch.setenv(CRASH_ENV, "retrieve")
    with pytest.raises(InjectedCrash):
        execute_run(smoke_cfg, workspace, tmp_path)
    monkeypatch.delenv(CRASH_ENV)
    neg = tmp_path / "negatives" / f"{KEY}.jsonl"
    neg.write_text(neg.read_text().replace("\n", "\n\n", 1))  # same rows, different bytes
    rec = execute_run(smoke_cfg, workspace, tmp_path)
    assert rec["resumed_stages"] == []
    assert _result(tmp_path) == uninterrupted


def test_changed_config_discards_the_old_manifest(workspace, smoke_cfg, tmp_path, monkeypatch):
    monkeypatch.setenv(CRASH_ENV, "train")
    with pytest.raises(InjectedCrash):
        execute_run(smoke_cfg, workspace, tmp_path)
    monkeypatch.delenv(CRASH_ENV)
    other = dataclasses.replace(smoke_cfg, budget=dataclasses.replace(smoke_cfg.budget, steps=2))
    rec = execute_run(other, workspace, tmp_path)
    assert rec["resumed_stages"] == []
    assert rec["config_hash"] == other.config_hash() != smoke_cfg.config_hash()


def test_stop_after_mine_then_finish_in_a_moved_folder(workspace, smoke_cfg, uninterrupted,
                                                       tmp_path):
    """``--stop-after mine`` on one machine, the folder copied, the run finished elsewhere:
    the same result as one uninterrupted run, with mine reused."""
    import shutil

    first = tmp_path / "cpu-node"
    assert execute_run(smoke_cfg, workspace, first, stop_after="mine") is None
    assert not (first / "records").exists()
    moved = tmp_path / "gpu-node"
    shutil.copytree(first, moved)
    shutil.rmtree(first)
    rec = execute_run(smoke_cfg, workspace, moved)
    assert rec["resumed_stages"] == ["mine"]
    assert _result(moved) == uninterrupted
