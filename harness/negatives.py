"""The negatives file: JSONL, one line per (query, positive) pair, sha256 for provenance."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from negbench.harness.data import Corpus
from negbench.harness.errors import NegbenchError, where
from negbench.strategies.base import NegativeRow


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_negatives(rows: list[NegativeRow], path: Path) -> str:
    """Write rows sorted by (query, positive) atomically; returns the file's sha256."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
        for r in sorted(rows, key=lambda r: (r.query_id, r.positive_id)):
            fh.write(json.dumps({"query_id": r.query_id, "positive_id": r.positive_id,
                                 "negative_ids": list(r.negative_ids)}, ensure_ascii=False))
            fh.write("\n")
    os.replace(tmp, path)
    return sha256_file(path)


def read_negatives(path: Path) -> list[NegativeRow]:
    """Read a negatives file; each malformed line is reported with its line number."""
    path = Path(path)
    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                rows.append(NegativeRow(str(obj["query_id"]), str(obj["positive_id"]),
                                        tuple(str(d) for d in obj["negative_ids"])))
            except (json.JSONDecodeError, KeyError, TypeError):
                raise NegbenchError(f"{where(path, n)}: expected JSON with query_id, "
                                    "positive_id, negative_ids") from None
    return rows


def check_negatives(rows: list[NegativeRow], corpus: Corpus, exclude: dict[str, set[str]],
                    source: str = "negatives") -> None:
    """Reject negatives that are unknown docs or judged positives of their query."""
    for n, r in enumerate(rows, 1):
        if r.positive_id not in corpus.docs:
            raise NegbenchError(f"{source} row {n}: unknown positive doc id {r.positive_id!r}")
        for d in r.negative_ids:
            if d not in corpus.docs:
                raise NegbenchError(f"{source} row {n}: unknown negative doc id {d!r}")
            if d == r.positive_id or d in exclude.get(r.query_id, ()):
                raise NegbenchError(f"{source} row {n}: negative {d!r} is a judged positive "
                                    f"of query {r.query_id!r}")
