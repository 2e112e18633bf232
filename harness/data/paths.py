"""Where data, caches and packaged resources live (all overridable by env var or option)."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from negbench.harness.errors import NegbenchError

DATA_ENV = "NEGBENCH_DATA"
CACHE_ENV = "NEGBENCH_CACHE"
_REPO_ROOT = Path(__file__).resolve().parent.parent


def data_root(override: str | os.PathLike | None = None, required: bool = True) -> Path:
    """Locate the staged data folder (``../shared/data`` by default).

    Order: explicit ``override``, ``$NEGBENCH_DATA``, ``./../shared/data`` from the working
    directory, then ``../shared/data`` next to the source checkout. An ``override`` that is
    not a folder is an error (``given_root``), ``required`` or not; otherwise, not found and
    not ``required``, the first place tried (for messages saying where to put the files).
    """
    if override is not None:
        return given_root(override)
    if os.environ.get(DATA_ENV):
        candidates = [Path(os.environ[DATA_ENV])]
    else:
        candidates = [Path.cwd().parent / "shared" / "data", _REPO_ROOT.parent / "shared" / "data"]
    for cand in candidates:
        if cand.is_dir():
            return cand.resolve()
    if not required:
        return candidates[0]
    raise NegbenchError(
        f"data folder not found (tried {', '.join(str(c) for c in candidates)}); "
        f"point ${DATA_ENV} or --data-root at the folder that holds beir-scifact/, "
        "msmarco-passage/, esco-skill-extraction/ (see README 'Data')"
    )


def given_root(override: str | os.PathLike | None) -> Path | None:
    """The ``--data-root`` folder, resolved; None when none was given (the loaders then look in
    the default places and, finding no staged files, read the ir_datasets cache as it is).
    Naming nothing, a file or anything else is a one-line error: a root given is never
    ignored."""
    if override is None:
        return None
    return require(override, "folder", flag="--data-root").resolve()


def cache_root(override: str | os.PathLike | None = None) -> Path:
    """Cache for embeddings and BM25 indexes (``$NEGBENCH_CACHE`` or ``~/.cache/negbench``)."""
    from negbench.harness.io.writable import writable_dir

    root = Path(override or os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "negbench")
    writable_dir(root, f"the cache folder (--cache-dir or ${CACHE_ENV})")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NegbenchError(f"{root}: cannot create the cache folder ({exc.strerror})") from None
    return root


def path_kind(path: str | os.PathLike) -> str:
    """What is at ``path``: ``a file``, ``a folder``, ``a symlink loop``, ``a broken symlink
    (to T)``, ``a special file`` (FIFO, socket, device), ``unreadable (why)`` or ``nothing``."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symlink loop"
        if os.path.islink(path):
            return f"a broken symlink (to {os.readlink(path)})"
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return "nothing"
        return f"unreadable ({exc.strerror})"
    return "a file" if stat.S_ISREG(mode) else "a folder" if stat.S_ISDIR(mode) else \
        "a special file"


def require(path: str | os.PathLike, want: str, what: str = "", flag: str = "") -> Path:
    """``path`` when it is ``want`` (``file`` or ``folder``); else a one-line error saying what
    it is instead: ``P: <what> not found``, ``P is a folder, not a <what>``, ``P is a symlink
    loop, not a <what>`` (``what`` defaults to ``want``). With ``flag`` (the option that named
    ``path``) the errors are ``FLAG P: not found`` and ``FLAG P is ..., not a <what>``."""
    kind = path_kind(path)
    if kind != f"a {want}":
        if kind == "nothing":
            raise NegbenchError(f"{flag} {path}: not found" if flag
                                else f"{path}: {what or want} not found")
        raise NegbenchError(f"{flag + ' ' if flag else ''}{path} is {kind}, not a {what or want}")
    return Path(path)
