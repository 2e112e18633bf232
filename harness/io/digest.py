"""sha256 digests of files and folders (what manifests, records and caches store)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_tree(folder: Path) -> str:
    """sha256 over the relative paths and bytes of every file under ``folder``."""
    h = hashlib.sha256()
    for p in sorted(q for q in Path(folder).rglob("*") if q.is_file()):
        h.update(str(p.relative_to(folder)).encode())
        h.update(b"\0")
        h.update(sha256_file(p).encode())
    return h.hexdigest()


def sha256_path(p: Path) -> str:
    """``sha256_tree`` of a folder, ``sha256_file`` of a file."""
    return sha256_tree(p) if Path(p).is_dir() else sha256_file(p)
