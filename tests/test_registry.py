"""The registry: decorator, unknown names, and a sampler from an outside package (entry point)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from negbench.harness.errors import NegbenchError
from negbench.strategies.registry import available, get_sampler

PLUGIN = '''
"""An outside package that adds a sampler through the negbench.strategies entry point."""
from dataclasses import dataclass

from negbench.strategies.base import NegativeRow, Sampler, training_pairs


@dataclass
class Params:
    offset: int = 0


class LowestIdNegatives(Sampler):
    """Lowest non-positive doc ids (a toy plugin for tests)."""

    Params = Params

    def mine(self, ctx):
        ids = ctx.corpus.ids
        rows = []
        # row i takes the (offset + i)-th lowest free id: one shared negative for every row
        # could not fill a duplicate-free batch
        for i, (q, p) in enumerate(training_pairs(ctx.train)):
            banned = ctx.exclude.get(q, set()) | {p}
            free = [d for d in ids if d not in banned]
            rows.append(NegativeRow(q, p, (free[(self.params.offset + i) % len(free)],)))
        return rows
'''


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory):
    root = tmp_path_factory.mktemp("plugin")
    (root / "negbench_toy_plugin.py").write_text(PLUGIN)
    dist = root / "negbench_toy_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: negbench-toy-plugin\n"
                                   "Version: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[negbench.strategies]\nlowest-id = negbench_toy_plugin:LowestIdNegatives\n")
    return root


def _env(plugin_path, irds_home, cache_dir):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(plugin_path) + os.pathsep + env.get("PYTHONPATH", "")
    env["IR_DATASETS_HOME"] = str(irds_home)
    env["NEGBENCH_CACHE"] = str(cache_dir)
    return env


def test_builtins_are_listed():
    assert {"in-batch", "random", "bm25", "dense"} <= set(available())


def test_unknown_sampler_suggests_closest():
    with pytest.raises(NegbenchError, match="did you mean 'dense'"):
        get_sampler("dnse")


def test_entry_point_sampler_is_listed_and_runs(plugin_path, irds_home, cache_dir,
                                               tiny_model_dir, tmp_path):
    env = _env(plugin_path, irds_home, cache_dir)
    neg = [sys.executable, "-m", "negbench.harness.cli"]
    listing = subprocess.run(neg + ["strategies"], env=env, capture_output=True, text=True,
                             check=True).stdout
    assert "lowest-id" in listing and "offset=0" in listing
    out = tmp_path / "out"
    proc = subprocess.run(neg + ["run", "--suite", "beir/scifact", "--samplers", "lowest-id",
                                 "--param", "lowest-id.offset=2", "--seeds", "13",
                                 "--budget", "smoke", "--model", str(tiny_model_dir),
                                 "--no-zero-shot", "--quiet", "--output", str(out)],
                          env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rec = json.loads((out / "records" / "lowest-id-seed13.json").read_text())
    assert rec["sampler"] == {"name": "lowest-id", "params": {"offset": 2},
                              "description": "Lowest non-positive doc ids (a toy plugin for "
                                             "tests)."}
    assert set(rec["metrics"]) == {"nDCG@10", "RR@10", "R@100", "R@1000"}
    rows = [json.loads(line) for line in (out / "negatives" / "lowest-id-seed13.jsonl").open()]
    assert len(rows) == 919
    assert all(len(r["negative_ids"]) == 1 for r in rows)


def test_cli_rejects_bad_input_in_one_line(tmp_path):
    neg = [sys.executable, "-m", "negbench.harness.cli"]
    cases = [
        (["run", "--suite", "beir/scifact", "--samplers", "rnd", "--output", str(tmp_path)],
         "did you mean 'random'"),
        (["run", "--suite", "beir/scifat", "--samplers", "random", "--output", str(tmp_path)],
         "did you mean 'beir/scifact'"),
        (["run", "--suite", "beir/scifact", "--samplers", "dense", "--param",
          "dense.range_min=abc", "--output", str(tmp_path)], "is not an integer"),
        (["run", "--suite", "beir/scifact", "--samplers", "dense", "--budget", "huge",
          "--output", str(tmp_path)], "unknown budget"),
    ]
    for argv, message in cases:
        proc = subprocess.run(neg + argv, capture_output=True, text=True, check=False)
        assert proc.returncode == 2
        assert message in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert "Traceback" not in proc.stderr
    assert not any(tmp_path.iterdir())  # nothing half-written


def test_help_describes_every_option():
    out = subprocess.run([sys.executable, "-m", "negbench.harness.cli", "run", "--help"],
                         capture_output=True, text=True, check=True).stdout
    for opt in ("--suite", "--samplers", "--seeds", "--budget", "--output", "--param"):
        assert opt in out
    assert "local BEIR folder" in " ".join(out.split())
