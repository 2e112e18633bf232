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


def writable_file(path: str | os.PathLike, what: str) -> Path:
    """``path`` can be written as a file (its folder writable, not a folder itself)."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise NegbenchError(f"{path}: {what} is a folder, not a file")
    writable_dir(path.parent, f"the folder of {what}")
    if path.exists() and not os.access(path, os.W_OK):
        raise NegbenchError(f"{path}: {what} is not writable")
    return path


def not_an_input(path: str | os.PathLike, inputs: list[str | os.PathLike | None],
                 what: str) -> Path:
    """``path``, which the command writes (it may not exist yet), is none of the files in
    ``inputs`` and lies in none of its folders, symlinks and hard links followed: writing it
    would destroy that input. ``None`` entries (options not given) are skipped."""
    path = Path(path).expanduser()
    target = path.resolve()
    for given in inputs:
        if given is None:
            continue
        given = Path(given).expanduser()
        src = given.resolve()
        same = target == src or (path.exists() and given.exists()
                                 and os.path.samefile(path, given))
        if same or src in target.parents:
            where = given if same else f"inside {given}"
            raise NegbenchError(f"{path}: {what} is an input of this command ({where}, which "
                                "it reads); writing it would destroy that input")
    return path


def training_pairs_present(data) -> None:
    """The suite's training split has at least one (query, relevant doc) pair."""
    from negbench.strategies.base import training_pairs

    if not training_pairs(data.train):
        where = data.train.source or data.train.name
        raise NegbenchError(f"{where}: no training pair (no query has a judged doc with "
                            "relevance >= 1): a sampler would train on nothing")


def batches_fillable(data, budget) -> None:
    """A batch of the budget's size can be filled: it needs as many distinct training queries
    and distinct positives (neither repeats within a batch; negatives may,
    ``training.batching``)."""
    from negbench.strategies.base import training_pairs

    pairs = training_pairs(data.train)
    queries, positives = len({q for q, _ in pairs}), len({p for _, p in pairs})
    if min(queries, positives) < budget.batch_size:
        where = data.train.source or data.train.name
        raise NegbenchError(f"{where}: {queries} distinct training queries and {positives} "
                            f"distinct positives cannot fill one batch of {budget.batch_size} "
                            f"(budget {budget.name!r}; neither may repeat within a batch)")


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
