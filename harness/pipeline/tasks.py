"""What every executor shares: a task is ``negbench run --config <output>/experiment.resolved.yaml
--task NAME`` in a fresh process on a machine that sees the same ``--output`` and cache
folders; the executors (``LocalExecutor`` here, Ray in ``ray_executor.py``, Slurm in
``slurm_executor.py``) only differ in where that process runs.

Running each run in its own process also makes the record's ``peak_rss_mb`` the run's own
(``getrusage`` of a process that did nothing else); the record says which it is.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from negbench.harness.errors import NegbenchError

# what a task needs from the submitting environment (a Ray worker or a Slurm job may start
# from another one): negbench's and the libraries' settings, never credentials
_ENV_PREFIXES = ("NEGBENCH_", "IR_DATASETS_", "HF_", "TRANSFORMERS_", "SENTENCE_TRANSFORMERS_",
                 "TORCH_")
_ENV_NAMES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TOKENIZERS_PARALLELISM", "PYTHONHASHSEED",
              "JAVA_HOME")


def task_env() -> dict[str, str]:
    """The submitting process's settings that a task process must share."""
    return {k: v for k, v in os.environ.items()
            if k.startswith(_ENV_PREFIXES) or k in _ENV_NAMES}


def run_task(argv: list[str], env: dict[str, str], cwd: str, log: str | None = None) -> int:
    """Run ``negbench *argv`` in a fresh Python process (this interpreter) with ``env`` over
    this process's environment (a Ray worker's ``CUDA_VISIBLE_DEVICES`` is kept) in ``cwd``;
    output appended to ``log`` (or inherited). Returns the exit code. The function Ray and
    Slurm (submitit) run on their workers."""
    cmd = [sys.executable, "-m", "negbench.harness.cli", *argv]
    full_env = {**os.environ, **env}
    if log is None:
        return subprocess.run(cmd, env=full_env, cwd=cwd, check=False).returncode
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as fh:
        fh.write(f"$ negbench {' '.join(argv)}  (host {os.uname().nodename})\n")
        fh.flush()
        return subprocess.run(cmd, env=full_env, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT,
                              check=False).returncode


@dataclass
class Resources:
    """Per-task resources, by track: query-side runs on CPUs, the full track on one GPU."""

    cpus: int = 1
    gpus: float = 0
    mem_gb: float | None = None
    time_min: int = 240
    partition: str | None = None
    array_parallelism: int = 64
    extra: dict = field(default_factory=dict)


def default_gpus(track: str, device: str) -> int:
    """GPUs per task when not given: one for the full track or an explicit CUDA device."""
    return 1 if track == "full" or str(device).startswith("cuda") else 0


def key_values(items, flag: str, number: bool = False) -> dict:
    """``KEY=VALUE`` items (a list; a mapping is taken as it is) as a mapping; with ``number``
    every value a number >= 0 (``--ray-resources``), and an item may also be a JSON object.
    A bare ``KEY`` is ``True`` (an sbatch flag without a value, e.g. ``requeue``)."""
    import json

    if items is None:
        return {}
    if isinstance(items, dict):
        pairs = dict(items)
    else:
        pairs = {}
        for item in [items] if isinstance(items, str) else items:
            text = str(item).strip()
            if number and text.startswith("{"):
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise NegbenchError(f"{flag} {text!r}: not valid JSON ({exc.msg})") from None
                if not isinstance(obj, dict):
                    raise NegbenchError(f"{flag} {text!r}: expected a JSON object")
                pairs.update(obj)
                continue
            key, sep, value = text.partition("=")
            if not key.strip() or (number and not sep):
                raise NegbenchError(f"{flag} {text!r}: expected KEY=VALUE")
            pairs[key.strip()] = value.strip() if sep else True
    for key, value in pairs.items():
        if not str(key) or any(c.isspace() or c == "=" for c in str(key)):
            raise NegbenchError(f"{flag}: {key!r} is not a name")
        if number:
            try:
                num = -1.0 if isinstance(value, bool) else float(value)
            except (TypeError, ValueError):
                num = -1.0
            if not (math.isfinite(num) and num >= 0):
                raise NegbenchError(f"{flag} {key}={value!r}: expected a number >= 0")
            pairs[key] = num
    return pairs


class Executor(ABC):
    """Runs named tasks, each in its own process; ``__call__(tasks, log)`` returns True when
    all have ended (False: submitted and left to run, ``--no-wait``) and raises (one line)
    naming the tasks that failed."""

    name = "local"

    def __init__(self, config: Path, out: Path, res: Resources) -> None:
        self.config, self.out, self.res = Path(config).resolve(), Path(out).resolve(), res
        self.cwd = os.getcwd()
        self.env = task_env()

    def argv(self, task: str) -> list[str]:
        return ["run", "--config", str(self.config), "--output", str(self.out),
                "--task", task, "--executor", "local"]

    def log_path(self, task: str) -> str:
        return str(self.out / "logs" / f"{task}.log")

    def phases(self, tasks: list[str]) -> list[list[str]]:
        """The zero-shot task first: a run's process then never waits on its lock."""
        first = [t for t in tasks if t == "zero-shot"]
        return [p for p in (first, [t for t in tasks if t != "zero-shot"]) if p]

    def __call__(self, tasks: list[str], log=sys.stderr) -> bool:
        for phase in self.phases(tasks):
            codes = self.run(phase, log)
            if codes is None:  # submitted, not awaited
                return False
            self._check(phase, codes, log)
        return True

    @abstractmethod
    def run(self, tasks: list[str], log) -> list[int] | None:
        """Run ``tasks``, each in its own process; their exit codes, in order (None: they
        were submitted and are left to run)."""

    def _check(self, tasks: list[str], codes: list[int], log) -> None:
        failed = [f"{t} (exit {c})" for t, c in zip(tasks, codes) if c != 0]
        if failed:
            where = "" if self.name == "local" else f"; logs in {self.out / 'logs'}"
            raise NegbenchError(f"{len(failed)} of {len(tasks)} {self.name} task(s) failed: "
                                f"{', '.join(failed)}{where}; the same command resumes them")


class LocalExecutor(Executor):
    """``--isolate`` / ``--workers N``: the tasks on this machine. ``--isolate``: each in a
    fresh process, one at a time, its output to this terminal. ``--workers N``: N worker
    processes that take the tasks from a queue (``task_queue.py``) until none is left, each
    with its share of the cores' threads (``OMP_NUM_THREADS``, unless set), a task's output in
    ``OUTPUT/logs/TASK.log``, and a line as each task ends."""

    name = "local"

    def __init__(self, config: Path, out: Path, res: Resources, workers: int = 1) -> None:
        from negbench.harness.training.query_side import usable_cores

        super().__init__(config, out, res)
        self.workers = workers  # at least 1 (make_executor checks it)
        if self.workers > 1 and "OMP_NUM_THREADS" not in self.env:
            threads = str(max(1, usable_cores() // self.workers))
            self.env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)

    def run(self, tasks: list[str], log) -> list[int]:
        if self.workers == 1 or len(tasks) == 1:
            codes = []
            for t in tasks:
                print(f"[negbench] task {t} (own process)", file=log)
                codes.append(run_task(self.argv(t), self.env, self.cwd))
            return codes
        return self._serve(tasks, log)

    def _serve(self, tasks: list[str], log) -> list[int]:
        import shutil
        from concurrent.futures import ThreadPoolExecutor, wait

        from negbench.harness.io.atomic import mkdtemp_beside
        from negbench.harness.pipeline.task_queue import QUEUE_MARK, TaskQueue

        n = min(self.workers, len(tasks))
        root = mkdtemp_beside(self.out / "logs" / "queue")  # a fresh, empty folder
        queue = TaskQueue.create(root, tasks)
        print(f"[negbench] {len(tasks)} tasks, {n} worker processes taking them in turn, each "
              f"with {self.env.get('OMP_NUM_THREADS', 'all')} thread(s); logs in "
              f"{self.out / 'logs'}", file=log)
        seen: dict[str, int] = {}

        def report() -> None:
            for t, c in queue.codes().items():
                if t not in seen:
                    seen[t] = c
                    state = "done" if c == 0 else f"failed (exit {c})"
                    print(f"[negbench] task {t}: {state} ({len(seen)} of {len(tasks)})",
                          file=log)
        try:
            with ThreadPoolExecutor(n) as pool:
                workers = [pool.submit(run_task, self.argv(QUEUE_MARK + str(root)), self.env,
                                       self.cwd, str(self.out / "logs" / f"worker-{i + 1}.log"))
                           for i in range(n)]
                while wait(workers, timeout=2)[1]:
                    report()
                report()
                exits = [w.result() for w in workers]
        finally:
            shutil.rmtree(root, ignore_errors=True)
        # a task a worker took and never finished (the worker died): that worker's exit code
        died = next((c for c in exits if c != 0), 1)
        return [seen.get(t, died) for t in tasks]
