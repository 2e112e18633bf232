"""Executors for ``negbench run --executor local|ray|slurm`` (and ``--isolate``).

A grid becomes tasks: ``zero-shot`` (the reference rows, when missing) and one task per
unfinished run, named by the run's key. Every task is the same command in a fresh process,
``negbench run --config <output>/experiment.resolved.yaml --task NAME``, on a machine that
sees the same ``--output`` and cache folders (a shared file system): the task loads the data,
runs its run from the shared caches (document encodings, BM25 indexes and teachers are
computed once, under locks) and writes its record atomically. The process that submitted
them writes ``table.md`` from every record present once all tasks have ended.

Running each run in its own process also makes the record's ``peak_rss_mb`` the run's own
(``getrusage`` of a process that did nothing else); the record says which it is.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from negbench.harness.errors import NegbenchError

EXECUTORS = ("local", "ray", "slurm")
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
    gpus: int = 0
    mem_gb: float | None = None
    time_min: int = 240
    partition: str | None = None
    array_parallelism: int = 64
    extra: dict = field(default_factory=dict)


def default_gpus(track: str, device: str) -> int:
    """GPUs per task when not given: one for the full track or an explicit CUDA device."""
    return 1 if track == "full" or str(device).startswith("cuda") else 0


class Executor(ABC):
    """Runs named tasks, each in its own process; ``__call__(tasks, log)`` returns when all
    have ended and raises (one line) naming the tasks that failed."""

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

    def __call__(self, tasks: list[str], log=sys.stderr) -> None:
        # the zero-shot rows first: a run's process then never waits on their lock
        first = [t for t in tasks if t == "zero-shot"]
        if first:
            self._check(first, self.run(first, log), log)
        rest = [t for t in tasks if t != "zero-shot"]
        if rest:
            self._check(rest, self.run(rest, log), log)

    @abstractmethod
    def run(self, tasks: list[str], log) -> list[int]:
        """Run ``tasks``, each in its own process; their exit codes, in order."""

    def _check(self, tasks: list[str], codes: list[int], log) -> None:
        failed = [f"{t} (exit {c})" for t, c in zip(tasks, codes) if c != 0]
        if failed:
            where = "" if self.name == "local" else f"; logs in {self.out / 'logs'}"
            raise NegbenchError(f"{len(failed)} of {len(tasks)} {self.name} task(s) failed: "
                                f"{', '.join(failed)}{where}; the same command resumes them")


class LocalExecutor(Executor):
    """``--isolate``: the tasks one after another on this machine, each in a fresh process
    (output to this terminal)."""

    name = "local"

    def run(self, tasks: list[str], log) -> list[int]:
        codes = []
        for t in tasks:
            print(f"[negbench] task {t} (own process)", file=log)
            codes.append(run_task(self.argv(t), self.env, self.cwd))
        return codes


class RayExecutor(Executor):
    """Ray tasks (``--ray-address`` of a running cluster, or a local Ray started for the
    grid), ``num_cpus``/``num_gpus`` per task by track."""

    name = "ray"

    def __init__(self, config: Path, out: Path, res: Resources, address: str | None) -> None:
        super().__init__(config, out, res)
        self.address = address

    def run(self, tasks: list[str], log) -> list[int]:
        from negbench.harness.pipeline.preflight import executor_package

        ray = executor_package("ray")  # checked in the preflight too, before any write
        started = not ray.is_initialized()
        if started:
            ray.init(address=self.address, log_to_driver=False, include_dashboard=False)
        try:
            remote = ray.remote(num_cpus=self.res.cpus, num_gpus=self.res.gpus,
                                max_retries=0)(run_task)
            print(f"[negbench] {len(tasks)} Ray task(s) ({self.res.cpus} CPU, {self.res.gpus} "
                  f"GPU each); logs in {self.out / 'logs'}", file=log)
            refs = [remote.remote(self.argv(t), self.env, self.cwd, self.log_path(t))
                    for t in tasks]
            codes = []
            for ref in refs:
                try:
                    codes.append(int(ray.get(ref)))
                except ray.exceptions.RayError as exc:  # a worker lost or killed: it failed
                    print(f"[negbench] Ray task failed: {type(exc).__name__}", file=log)
                    codes.append(-1)
            return codes
        finally:
            if started:
                ray.shutdown()


class SlurmExecutor(Executor):
    """A Slurm job array through submitit: one array task per run, resources per track
    (``--slurm-partition``, ``--slurm-gpus``, ``--slurm-cpus``, ``--slurm-mem``,
    ``--slurm-time``); submitit's files in ``<output>/slurm``."""

    name = "slurm"

    def run(self, tasks: list[str], log) -> list[int]:
        from negbench.harness.pipeline.preflight import executor_package

        submitit = executor_package("slurm")  # checked in the preflight too
        ex = submitit.AutoExecutor(folder=str(self.out / "slurm" / "%j"), cluster="slurm")
        params = {"timeout_min": self.res.time_min, "cpus_per_task": self.res.cpus,
                  "slurm_array_parallelism": self.res.array_parallelism,
                  "name": f"negbench-{self.out.name}", "tasks_per_node": 1, "nodes": 1}
        if self.res.gpus:
            params["gpus_per_node"] = self.res.gpus
        if self.res.mem_gb:
            params["mem_gb"] = self.res.mem_gb
        if self.res.partition:
            params["slurm_partition"] = self.res.partition
        ex.update_parameters(**params, **self.res.extra)
        jobs = ex.map_array(run_task, [self.argv(t) for t in tasks], [self.env] * len(tasks),
                            [self.cwd] * len(tasks), [self.log_path(t) for t in tasks])
        print(f"[negbench] Slurm job array {jobs[0].job_id.split('_')[0]}: {len(jobs)} task(s) "
              f"({self.res.cpus} CPU, {self.res.gpus} GPU each); logs in {self.out / 'logs'}",
              file=log)
        wait_for_jobs(jobs)
        codes = []
        for job in jobs:
            if not job.paths.result_pickle.exists():  # killed, out of time, node failure
                print(f"[negbench] Slurm task {job.job_id} ended without a result (killed or "
                      f"out of time?); its log: {job.paths.stderr}", file=log)
                codes.append(-1)
                continue
            try:
                codes.append(int(job.result()))
            except submitit.core.utils.FailedJobError as exc:
                print(f"[negbench] Slurm task {job.job_id} failed: "
                      f"{str(exc).splitlines()[0] if str(exc) else ''}", file=log)
                codes.append(-1)
        return codes


def _active_slurm_jobs() -> set[str] | None:
    """Job ids Slurm still holds (pending, running, completing), array tasks one per line
    (``123_4``); None when squeue cannot be asked."""
    try:
        res = subprocess.run(["squeue", "-h", "-r", "-o", "%i"], capture_output=True,
                             text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return set(res.stdout.split()) if res.returncode == 0 else None


def wait_for_jobs(jobs, poll_s: float = 2.0, grace_s: float = 20.0) -> None:
    """Until every job has written its result or left Slurm's queue. Unlike submitit's own
    watcher this needs no accounting (``sacct``): a job killed by ``scancel`` or its time limit
    leaves the queue without a result and counts as ended after ``grace_s`` (the time a
    finished job's result file takes to appear on a shared file system)."""
    gone: dict[str, float] = {}
    left = list(jobs)
    while left:
        active = _active_slurm_jobs()
        now = time.monotonic()
        still = []
        for job in left:
            if job.paths.result_pickle.exists():
                continue
            if (active is not None and job.job_id not in active
                    and now - gone.setdefault(job.job_id, now) > grace_s):
                continue
            still.append(job)
        left = still
        if left:
            time.sleep(poll_s)


def make_executor(args, config: Path, out: Path, track: str, device: str) -> Executor | None:
    """The executor ``args`` ask for; None for today's in-process grid (local, no --isolate)."""
    name = getattr(args, "executor", "local") or "local"
    if name not in EXECUTORS:
        raise NegbenchError(f"--executor {name!r}: expected one of {', '.join(EXECUTORS)}")
    if name == "local" and not getattr(args, "isolate", False):
        return None
    if name == "ray":
        gpus = args.ray_gpus if args.ray_gpus is not None else default_gpus(track, device)
        return RayExecutor(config, out, Resources(cpus=args.ray_cpus, gpus=gpus),
                           args.ray_address)
    if name == "slurm":
        gpus = args.slurm_gpus if args.slurm_gpus is not None else default_gpus(track, device)
        res = Resources(cpus=args.slurm_cpus, gpus=gpus, mem_gb=args.slurm_mem,
                        time_min=args.slurm_time, partition=args.slurm_partition,
                        array_parallelism=args.slurm_array_parallelism)
        return SlurmExecutor(config, out, res)
    return LocalExecutor(config, out, Resources())
