"""Determinism: the same command twice, in fresh processes with separate outputs and caches,
gives byte-identical negatives and run files and identical metrics (CPU)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

SAMPLERS = ("random", "dense")


def _run(out, cache, irds_home, model) -> subprocess.CompletedProcess:
    env = dict(os.environ, IR_DATASETS_HOME=str(irds_home), NEGBENCH_CACHE=str(cache),
               OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    cmd = [sys.executable, "-m", "negbench.harness.cli", "run", "--suite", "beir/scifact",
           "--samplers", ",".join(SAMPLERS), "--seeds", "13", "--budget", "smoke",
           "--model", str(model), "--no-zero-shot", "--quiet", "--output", str(out)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)


def _fingerprint(out) -> dict:
    files = sorted(p for sub in ("negatives", "runs") for p in (out / sub).iterdir())
    digest = {f"{p.parent.name}/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest()
              for p in files}
    records = {}
    for s in SAMPLERS:
        rec = json.loads((out / "records" / f"{s}-seed13.json").read_text())
        records[s] = {k: rec[k] for k in ("metrics", "per_query", "negatives", "train_examples",
                                          "trained_model_fingerprint", "config_hash")}
    return {"files": digest, "records": records}


def test_same_command_twice_is_byte_identical(tmp_path, irds_home, tiny_model_dir):
    first = _run(tmp_path / "a", tmp_path / "cache-a", irds_home, tiny_model_dir)
    assert first.returncode == 0, first.stderr[-2000:]
    second = _run(tmp_path / "b", tmp_path / "cache-b", irds_home, tiny_model_dir)
    assert second.returncode == 0, second.stderr[-2000:]
    a, b = _fingerprint(tmp_path / "a"), _fingerprint(tmp_path / "b")
    assert set(a["files"]) == {f"negatives/{s}-seed13.jsonl" for s in SAMPLERS} | {
        f"runs/{s}-seed13.trec" for s in SAMPLERS}
    assert a == b
    # the samplers really differ, so equal files are not a degenerate constant
    assert a["files"]["negatives/random-seed13.jsonl"] != a["files"]["negatives/dense-seed13.jsonl"]
    assert _table_metrics(tmp_path / "a") == _table_metrics(tmp_path / "b")


def _table_metrics(out) -> list[list[str]]:
    """The metric cells of table.md (its cost columns, e.g. wall time, legitimately vary)."""
    rows = [line.split("|")[1:-1] for line in (out / "table.md").read_text().splitlines()
            if line.startswith("|")]
    header = [c.strip() for c in rows[0]]
    keep = [i for i, c in enumerate(header) if c in ("sampler", "seeds") or "@" in c]
    assert len(keep) >= 4, header
    return [[r[i].strip() for i in keep] for r in rows]
