"""Result records: one JSON per run with metrics, per-query scores and full provenance."""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

SCHEMA = 1
_PACKAGES = ("negbench", "torch", "sentence-transformers", "transformers", "faiss-cpu", "ranx",
             "ir-datasets", "pyserini", "numpy", "datasets", "accelerate")


def library_versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for pkg in _PACKAGES:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux ru_maxrss is KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_json_atomic(obj: dict, path: Path) -> None:
    write_text_atomic(json.dumps(obj, indent=1) + "\n", path)


def write_text_atomic(text: str, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
    os.replace(tmp, path)


def read_records(folder: Path) -> list[dict]:
    """All records under ``folder/records`` (sorted by file name)."""
    return [json.loads(p.read_text()) for p in sorted((Path(folder) / "records").glob("*.json"))]


def write_trec_run(run: dict, path: Path, tag: str) -> None:
    """TREC run format: ``qid Q0 docid rank score tag``."""
    lines = []
    for q in sorted(run):
        for rank, (d, s) in enumerate(run[q], 1):
            lines.append(f"{q} Q0 {d} {rank} {s:.6f} {tag}\n")
    write_text_atomic("".join(lines), path)
