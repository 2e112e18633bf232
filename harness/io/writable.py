"""Where a command may write: a folder or file it can create, and never one of its inputs."""

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
