"""``--workers N``: a folder of tasks that N long-lived worker processes take one at a time.

Each worker is ``negbench run --config ... --task @QUEUE`` and runs tasks in its own process
until none is left, so imports, the loaded model, the data and numba's compiled metrics stay
warm from one run to the next (a fresh process per run pays them every time). A task is
taken by creating its claim file exclusively (``O_EXCL``), so two workers never run the same
one and a fast worker takes more; the exit code of each lands in ``codes/`` for the
executor. While a task runs, the worker's output goes to ``OUTPUT/logs/TASK.log``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from negbench.harness.errors import NegbenchError
from negbench.harness.io.atomic import write_json_atomic, write_text_atomic

QUEUE_MARK = "@"  # ``--task @FOLDER``: serve the queue in FOLDER


def _slot(task: str) -> str:
    """A file name for ``task`` (its key may hold any character a label may)."""
    return hashlib.sha1(task.encode()).hexdigest()[:20]


class TaskQueue:
    """The folder: ``tasks.json`` (the tasks, in order), ``claimed/`` and ``codes/``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def create(cls, root: Path, tasks: list[str]) -> TaskQueue:
        """A new queue of ``tasks`` in ``root`` (created, or an empty folder)."""
        q = cls(root)
        (q.root / "claimed").mkdir(parents=True)
        (q.root / "codes").mkdir()
        write_text_atomic(json.dumps(tasks), q.root / "tasks.json")
        return q

    def tasks(self) -> list[str]:
        try:
            return json.loads((self.root / "tasks.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise NegbenchError(f"--task {QUEUE_MARK}{self.root}: not a task queue "
                                f"({exc})") from None

    def claim(self, task: str) -> bool:
        """True when this process took ``task`` (nobody had)."""
        try:
            fd = os.open(self.root / "claimed" / _slot(task), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return False
        os.write(fd, f"{os.getpid()}\n".encode())
        os.close(fd)
        return True

    def finish(self, task: str, code: int) -> None:
        write_json_atomic({"task": task, "code": code},
                          self.root / "codes" / f"{_slot(task)}.json")

    def codes(self) -> dict[str, int]:
        """The exit code of every task finished so far."""
        out = {}
        for f in (self.root / "codes").glob("*.json"):
            try:
                d = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            out[d["task"]] = int(d["code"])
        return out


@contextmanager
def output_to(path: Path) -> Iterator:
    """This process's stdout and stderr (file descriptors 1 and 2, so C libraries' output
    too) appended to ``path`` for the duration; yields the open file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "a") as fh:
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
        try:
            yield fh
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def serve(queue: TaskQueue, run_one: Callable[[str], None], logs: Path) -> int:
    """Take and run tasks of ``queue`` until none is left; each one's code is recorded (0 done,
    2 a one-line error, 1 anything else, its traceback in the task's log). Returns 0."""
    for task in queue.tasks():
        if not queue.claim(task):
            continue
        code = 0
        with output_to(logs / f"{task}.log") as log:
            log.write(f"$ task {task} in worker process {os.getpid()}\n")
            log.flush()
            try:
                run_one(task)
            except NegbenchError as exc:
                sys.stderr.flush()
                log.write(f"negbench: error: {exc}\n")
                code = 2
            except Exception:  # noqa: BLE001 - one run's failure must not stop the others
                sys.stderr.flush()
                traceback.print_exc(file=log)
                code = 1
        queue.finish(task, code)
    return 0
