"""Checks a command makes before it writes anything: every folder and file it will write can
be written, and the data can be trained on. Each failure is a one-line ``NegbenchError``.
"""

from __future__ import annotations

import os
from pathlib import Path

from negbench.harness.errors import NegbenchError


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def writable_dir(path: str | os.PathLike, what: str) -> Path:
    """``path`` is, or can be created as, a folder this process may write into."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise NegbenchError(f"{path}: {what} is a file, not a folder")
    base = _nearest_existing(path)
    if not base.is_dir():
        raise NegbenchError(f"{path}: {what} cannot be created ({base} is a file)")
    if not os.access(base, os.W_OK | os.X_OK):
        raise NegbenchError(f"{path}: {what} is not writable ({base} denies writing)")
    return path


def writable_file(path: str | os.PathLike, what: str,
                  keep: list[str | os.PathLike] = ()) -> Path:
    """``path`` can be written as a file (its folder writable, not a folder itself) and is
    none of the input files in ``keep`` (writing it would destroy them)."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise NegbenchError(f"{path}: {what} is a folder, not a file")
    for other in keep:
        if Path(other).exists() and path.exists() and path.resolve() == Path(other).resolve():
            raise NegbenchError(f"{path}: {what} is also an input of this command; writing it "
                                "would destroy that input")
    writable_dir(path.parent, f"the folder of {what}")
    if path.exists() and not os.access(path, os.W_OK):
        raise NegbenchError(f"{path}: {what} is not writable")
    return path


def training_pairs_present(data) -> None:
    """The suite's training split has at least one (query, relevant doc) pair."""
    from negbench.strategies.base import training_pairs

    if not training_pairs(data.train):
        where = data.train.source or data.train.name
        raise NegbenchError(f"{where}: no training pair (no query has a judged doc with "
                            "relevance >= 1): a sampler would train on nothing")


def suite_data(ws) -> None:
    """Load and check the workspace's data; suites read through ir_datasets first need a
    writable ``$IR_DATASETS_HOME`` (the cache is seeded from the staged files)."""
    if ws.suite.loader in ("irds", "msmarco"):
        from negbench.harness.irds import irds_home

        writable_dir(irds_home(), "the ir_datasets cache ($IR_DATASETS_HOME)")
    ws.data  # noqa: B018 - loads and validates corpus, queries and qrels


def readable_records(folder: str | os.PathLike) -> None:
    """Every record already in ``folder/records`` is a readable record (the grid reuses and
    tabulates them at the end: a malformed one is named now, not after hours of training)."""
    from negbench.harness.records import read_records

    if (Path(folder) / "records").is_dir():
        read_records(Path(folder))
