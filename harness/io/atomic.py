"""Writes that stay correct when several processes share a folder (array-job tasks, Ray
workers, two ``negbench`` commands seeding one ir_datasets cache).

Every file or folder is written under a unique temporary name beside its destination and
renamed into place; the temporary name says who writes it (``<name>~<host>~<pid>~<random>``),
so a cleaner removes only temporaries whose writer is gone. Work that must happen once (a
BM25 index, a teacher, seeding a cache folder) runs under an advisory lock (``flock``).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TEMP_SUFFIX = ".tmp"
# a temporary written by another host (or named before writers were named) counts as
# abandoned once untouched this long; a live writer renames its file within seconds
STALE_AFTER_S = 6 * 3600
_HOST = re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname()) or "host"
_OWNER = re.compile(r"~(?P<host>[A-Za-z0-9_-]+)~(?P<pid>\d+)~[^~]*$")


def temp_prefix(path: Path) -> str:
    """The start of a temporary name for ``path``: its name, this host and this process."""
    return f"{Path(path).name}~{_HOST}~{os.getpid()}~"


def mkstemp_beside(path: Path, suffix: str = TEMP_SUFFIX) -> tuple[int, Path]:
    """A new, uniquely named temporary file in ``path``'s folder (created): ``(fd, path)``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=temp_prefix(path), suffix=suffix)
    return fd, Path(tmp)


def mkdtemp_beside(path: Path, suffix: str = TEMP_SUFFIX) -> Path:
    """A new, uniquely named temporary folder in ``path``'s folder (created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=path.parent, prefix=temp_prefix(path), suffix=suffix))


@contextmanager
def atomic_file(path: Path, mode: str = "w", suffix: str = TEMP_SUFFIX, **open_kw) -> Iterator:
    """Open a unique temporary beside ``path`` for writing; on success it is made readable
    (0644) and renamed onto ``path``, on error removed. Readers see the old file or the new."""
    fd, tmp = mkstemp_beside(path, suffix)
    try:
        with os.fdopen(fd, mode, **open_kw) as fh:
            yield fh
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(text: str, path: Path) -> None:
    with atomic_file(Path(path), "w", encoding="utf-8") as fh:
        fh.write(text)


def write_json_atomic(obj: dict, path: Path) -> None:
    """``obj`` as indented JSON, written atomically (``write_text_atomic``)."""
    write_text_atomic(json.dumps(obj, indent=1) + "\n", path)


def publish_dir(tmp: Path, dst: Path) -> bool:
    """Rename the finished folder ``tmp`` to ``dst``. When another process published ``dst``
    first, ``tmp`` is dropped and False returned (the winner's copy is kept)."""
    try:
        os.rename(tmp, dst)
        return True
    except OSError as exc:
        if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
            raise
        shutil.rmtree(tmp, ignore_errors=True)
        return False


_THREAD_LOCKS: dict[str, threading.RLock] = {}
_HELD: dict[str, int] = {}
_GUARD = threading.Lock()


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (created, never deleted: deleting a lock
    file races with a process about to lock it). Released when the block ends or the process
    dies. Re-entrant within a thread (``flock`` alone would deadlock on a second open of the
    same file in one process); other threads of the process wait like other processes."""
    key = str(Path(path).resolve())
    with _GUARD:
        rlock = _THREAD_LOCKS.setdefault(key, threading.RLock())
    with rlock:
        if _HELD.get(key):
            _HELD[key] += 1
            try:
                yield
            finally:
                _HELD[key] -= 1
            return
        Path(key).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(key, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _acquire(fd, key)
            _HELD[key] = 1
            yield
        finally:
            _HELD[key] = 0
            os.close(fd)  # closing releases the flock


def lock_timeout() -> float:
    """Seconds a lock wait may last (``NEGBENCH_LOCK_TIMEOUT``, default 6 h: a run holds a
    lock for at most one stage's write)."""
    raw = os.environ.get("NEGBENCH_LOCK_TIMEOUT", "21600")
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        from negbench.harness.errors import NegbenchError

        raise NegbenchError(f"NEGBENCH_LOCK_TIMEOUT={raw!r}: expected a positive number of "
                            "seconds")
    return value


def _acquire(fd: int, key: str) -> None:
    """Take the lock; if another process holds it, say who (pid, host, since when, from
    the holder's note in the file) and wait, giving up after ``lock_timeout()``."""
    import logging

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        limit = lock_timeout()
        holder = _holder(key)
        logging.getLogger("negbench").warning(
            "[negbench] waiting for %s, held by %s (gives up after %.0f s; "
            "NEGBENCH_LOCK_TIMEOUT)", key, holder, limit)
        start = time.monotonic()
        while True:
            time.sleep(0.2)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() - start > limit:
                    from negbench.harness.errors import NegbenchError

                    raise NegbenchError(f"gave up waiting {limit:.0f} s for {key}, held by "
                                        f"{_holder(key)}") from None
    note = json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                       "since": time.strftime("%Y-%m-%d %H:%M:%S")})
    os.ftruncate(fd, 0)
    os.pwrite(fd, note.encode(), 0)


def _holder(key: str) -> str:
    """Who holds a lock, from the note its holder wrote into the lock file."""
    try:
        note = json.loads(Path(key).read_text() or "{}")
        return f"pid {note['pid']} on {note['host']} since {note['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process (no holder note)"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale_temp(p: Path, now: float | None = None) -> bool:
    """Whether the temporary ``p`` is abandoned: its writer (named in it) is a process of this
    host that no longer runs, or, for another host's or an unnamed temporary, it has not been
    touched for ``STALE_AFTER_S``."""
    m = _OWNER.search(Path(p).name.removesuffix(TEMP_SUFFIX))
    if m and m["host"] == _HOST:
        return int(m["pid"]) != os.getpid() and not _alive(int(m["pid"]))
    try:
        age = (time.time() if now is None else now) - Path(p).stat().st_mtime
    except FileNotFoundError:
        return False
    return age > STALE_AFTER_S


def save_model_atomic(model, dst: Path) -> None:
    """Save a SentenceTransformer to a temp folder beside ``dst``, then rename it into place."""
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    for stale in [*dst.parent.glob(f"{dst.name}.tmp-*"), *dst.parent.glob(f"{dst.name}~*.tmp")]:
        if is_stale_temp(stale) or ".tmp-" in stale.name:  # .tmp-*: named before writers were
            shutil.rmtree(stale, ignore_errors=True)
    tmp = mkdtemp_beside(dst)
    model.save(str(tmp))
    if dst.exists():
        shutil.rmtree(dst)
    os.replace(tmp, dst)
