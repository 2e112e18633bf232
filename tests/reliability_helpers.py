"""Shared by the tests/test_reliability_*.py files: the CLI in a subprocess, the one-line error
contract, and a small real SciFact BEIR folder (fast to load and encode)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

CLI = [sys.executable, "-m", "negbench.harness.cli"]


def env(irds_home, cache_dir, **extra) -> dict:
    return dict(os.environ, IR_DATASETS_HOME=str(irds_home), NEGBENCH_CACHE=str(cache_dir),
                OMP_NUM_THREADS="1", **extra)


def cli(argv: list, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + [str(a) for a in argv], env=env, capture_output=True,
                          text=True, check=False)


def refused(argv: list, env: dict, *messages: str) -> str:
    """Exit 2, one negbench error line holding every message, no traceback (ir_datasets may
    log its own INFO lines when it first opens a dataset); returns that line."""
    proc = cli(argv, env)
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-800:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("negbench: error")]
    assert len(errors) == 1, proc.stderr[-2000:]
    for m in messages:
        assert m in errors[0], errors[0]
    return errors[0]


def fails(argv: list, env: dict, *messages: str, output: Path | None = None,
          code: int = 2) -> str:
    """Run the CLI; assert exit ``code``, exactly one stderr line holding every message, no
    traceback and, with ``output``, nothing written there (absent or empty); return stderr."""
    proc = cli(argv, env)
    err = proc.stderr
    assert proc.returncode == code, (proc.returncode, proc.stdout[-800:], err[-2000:])
    assert "Traceback" not in err, err[-2000:]
    assert len(err.strip().splitlines()) == 1, err[-2000:]
    for m in messages:
        assert m in err, err
    if output is not None:
        assert not output.exists() or not any(output.iterdir()), sorted(output.rglob("*"))
    return err


def small_scifact(data_dir: Path, dst: Path) -> Path:
    """Real SciFact as a local BEIR folder, corpus cut to the judged docs."""
    src = data_dir / "beir-scifact"
    (dst / "qrels").mkdir(parents=True)
    keep = set()
    for split in ("train", "test"):
        shutil.copy(src / "qrels" / f"{split}.tsv", dst / "qrels" / f"{split}.tsv")
        keep |= {line.split("\t")[1] for line in
                 (src / "qrels" / f"{split}.tsv").read_text().splitlines()[1:]}
    with open(src / "corpus.jsonl", "rb") as fi, open(dst / "corpus.jsonl", "wb") as fo:
        fo.writelines(line for line in fi if json.loads(line)["_id"] in keep)
    shutil.copy(src / "queries.jsonl", dst / "queries.jsonl")
    return dst


def copy_folder(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def record(out: Path, name: str) -> dict:
    return json.loads((out / "records" / f"{name}.json").read_text())


def copy_records(src: Path, dst: Path, files: list[str], edit=None) -> Path:
    """A results folder ``dst`` with copies of ``src``'s records ``files``, each optionally
    passed through ``edit``."""
    (dst / "records").mkdir(parents=True)
    for f in files:
        rec = json.loads((src / "records" / f).read_text())
        (dst / "records" / f).write_text(json.dumps(edit(rec) if edit else rec))
    return dst
