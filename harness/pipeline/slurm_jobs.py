"""Slurm jobs a grid submitted: ``OUTPUT/slurm/jobs.json`` (which job runs which task), where
each job stands, waiting for them as they end, and ``negbench status``'s rows.

Where a job stands comes from submitit's own watcher (``job.done()``, ``job.state``: ``sacct``)
when the cluster keeps accounting. Without it (``AccountingStorageType=accounting_storage/none``,
e.g. the one-node cluster of ``tests/test_scale.py``) ``sacct`` fails and submitit reports every
job ``UNKNOWN`` forever, so a job killed by ``scancel`` or its time limit would never count as
ended; then ``squeue`` says which jobs are still queued or running, and a job that left the
queue without its result counts as ended after a grace period (the time a finished job's result
file takes to appear on a shared file system).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path

from negbench.harness.errors import NegbenchError, first_line
from negbench.harness.io.atomic import file_lock, write_json_atomic

JOBS_FILE = Path("slurm") / "jobs.json"
# squeue's and sacct's states of a job that has not ended yet
PENDING = {"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "SUSPENDED", "RESV_DEL_HOLD"}
RUNNING = {"RUNNING", "CONFIGURING", "COMPLETING", "RESIZING", "SIGNALING", "STAGE_OUT",
           "STOPPED"}


def read_jobs(out: Path) -> dict:
    """``OUTPUT/slurm/jobs.json`` ({} when no grid was submitted to Slurm there)."""
    path = Path(out) / JOBS_FILE
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NegbenchError(f"{path}: not a negbench jobs file ({exc}); remove it to submit "
                            "every unfinished run again") from None
    if not isinstance(data, dict) or not isinstance(data.get("tasks", {}), dict):
        raise NegbenchError(f"{path}: not a negbench jobs file; remove it to submit every "
                            "unfinished run again")
    return data


def record_jobs(out: Path, jobs: dict[str, object], folder: str, grid: dict[str, str],
                fingerprint: str | None) -> None:
    """Add the ``jobs`` just submitted (task -> submitit job) to ``jobs.json``, with the
    grid's run keys and config hashes (what ``negbench status`` checks records against)."""
    out = Path(out)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with file_lock(out / ".locks" / "slurm-jobs.lock"):
        data = read_jobs(out)
        if grid:
            data["grid"], data["data_fingerprint"] = dict(grid), fingerprint
        tasks = data.setdefault("tasks", {})
        for task, job in jobs.items():
            tasks[task] = {"job_id": str(job.job_id), "folder": folder, "submitted": now,
                           "log": str(out.resolve() / "logs" / f"{task}.log")}
        write_json_atomic(data, out / JOBS_FILE)


def attach(entry: dict):
    """The submitit job of a ``jobs.json`` entry."""
    import submitit

    return submitit.SlurmJob(folder=entry["folder"], job_id=entry["job_id"])


def accounting(job_id: str) -> bool:
    """Whether ``sacct`` answers on this cluster (its accounting is enabled)."""
    try:
        res = subprocess.run(["sacct", "-n", "-X", "-o", "JobID", "-j", str(job_id)],
                             capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return res.returncode == 0


def queued() -> dict[str, str] | None:
    """Job id -> state of every job Slurm still holds (pending, running, completing), one line
    per array task (``123_4``); None when squeue cannot be asked."""
    try:
        res = subprocess.run(["squeue", "-h", "-r", "-o", "%i|%T"], capture_output=True,
                             text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if res.returncode != 0:
        return None
    return dict(line.split("|", 1) for line in res.stdout.split() if "|" in line)


def states(jobs: list) -> dict[str, str]:
    """Job id -> ``PENDING``/``RUNNING``/... for jobs that have not ended, ``ENDED`` for
    those that have (result written, or gone from Slurm), ``UNKNOWN`` when Slurm cannot be
    asked. submitit's watcher answers where the cluster keeps accounting, else squeue."""
    out: dict[str, str] = {}
    left = []
    for job in jobs:
        if job.paths.result_pickle.exists():
            out[job.job_id] = "ENDED"
        else:
            left.append(job)
    if left and accounting(left[0].job_id):
        left[0].watcher.update()  # one sacct call for every registered job
        for job in left:
            state = (job.watcher.get_state(job.job_id, mode="cache").split() or ["?"])[0]
            if state.upper() != "UNKNOWN":  # else not in sacct yet: squeue below
                out[job.job_id] = state.upper() if state.upper() in PENDING | RUNNING \
                    else "ENDED"
        left = [job for job in left if job.job_id not in out]
    active = queued() if left else {}
    for job in left:
        out[job.job_id] = ("UNKNOWN" if active is None
                           else active.get(job.job_id, "ENDED").split()[0].upper())
    return out


def wait_each(jobs: list, ended: Callable[[object], None], poll_s: float = 2.0,
              grace_s: float = 20.0) -> None:
    """Call ``ended(job)`` as each job ends, until all have: its result written, or for
    ``grace_s`` (a result file's delay on a shared file system) in a final state (submitit's
    ``job.done()``, with accounting) or gone from squeue (without)."""
    left = list(jobs)
    with_accounting = bool(left) and accounting(left[0].job_id)
    gone: dict[str, float] = {}
    while left:
        active = None if with_accounting else queued()
        now = time.monotonic()
        still = []
        for job in left:
            if job.paths.result_pickle.exists():
                ended(job)
                continue
            over = (with_accounting and job.done()) or (active is not None
                                                         and job.job_id not in active)
            if over and now - gone.setdefault(job.job_id, now) > grace_s:
                ended(job)  # over for grace_s and still no result: it ended without one
            else:
                still.append(job)
        left = still
        if left:
            time.sleep(poll_s)


def result_code(job) -> tuple[int, str]:
    """A job's exit code (-1: it ended without one) and a few words on how it ended."""
    from submitit.core.utils import FailedJobError, UncompletedJobError

    if not job.paths.result_pickle.exists():  # killed, out of time, node failure
        return -1, f"ended without a result (cancelled or out of time?); {job.paths.stderr}"
    try:
        code = int(job.result())
    except (FailedJobError, UncompletedJobError) as exc:
        return -1, f"failed: {first_line(exc)}"
    return code, "done" if code == 0 else f"failed (exit {code})"


def record_state(out: Path, key: str, want: str | None, fingerprint: str | None
                  ) -> str | None:
    """``done`` when ``key``'s record is present, reads back and belongs to this grid,
    ``stale`` when it does not belong, an error when it does not read; None when absent."""
    from negbench.harness.data.fingerprint import matches
    from negbench.harness.evaluation.records import read_record

    path = out / "records" / f"{key}.json"
    if not path.exists():
        return None
    try:
        rec = read_record(path)
    except NegbenchError as exc:
        return f"invalid record ({exc})"
    ok = (want is None or rec.get("config_hash") == want) and (
        fingerprint is None or matches(rec, fingerprint))
    return "done" if ok else "stale record (another config or data)"


def status_rows(out: Path) -> list[tuple[str, str, str]]:
    """(task, state, detail) for every run of the grid submitted to ``out`` (and its
    zero-shot task): done, pending, running, failed (with its log) or missing."""
    out = Path(out)
    data = read_jobs(out)
    if not data:
        raise NegbenchError(f"{out}: no Slurm submission recorded ({out / JOBS_FILE} is "
                            "missing); status follows grids run with --executor slurm")
    grid, fingerprint = data.get("grid") or {}, data.get("data_fingerprint")
    tasks = data.get("tasks", {})
    names = (["zero-shot"] if "zero-shot" in tasks else []) + list(grid)
    names += [t for t in tasks if t not in names]
    jobs = {t: attach(tasks[t]) for t in names if t in tasks}
    now = states(list(jobs.values()))
    rows = []
    for name in names:
        keys = ["zeroshot-bm25", "zeroshot-model"] if name == "zero-shot" else [name]
        found = [record_state(out, k, None if name == "zero-shot" else grid.get(name),
                               fingerprint) for k in keys]
        job = jobs.get(name)
        if all(f == "done" for f in found):
            rows.append((name, "done", str(out / "records" / f"{keys[-1]}.json")))
        elif job is None:
            rows.append((name, "missing", next((f for f in found if f), "not submitted")))
        else:
            rows.append(_job_row(name, job, now.get(job.job_id, "UNKNOWN"), tasks[name]))
    return rows


def _job_row(name: str, job, state: str, entry: dict) -> tuple[str, str, str]:
    where = f"job {job.job_id}"
    if state in PENDING:
        return name, "pending", where
    if state in RUNNING:
        return name, "running", f"{where}; log {entry['log']}"
    if state == "UNKNOWN":
        return name, "submitted", f"{where} (Slurm cannot be asked: squeue failed)"
    code, how = result_code(job)
    if code == 0:  # the task ended well but left no current record
        return name, "failed", f"{where} ended without a record; log {entry['log']}"
    return name, "failed", f"{where} {how}; log {entry['log']}"


def active_jobs(out: Path, tasks: Iterable[str]) -> dict[str, object]:
    """Task -> its job, for the ``tasks`` whose recorded job has not ended (submitted by an
    earlier ``--no-wait`` or a submitter that was stopped): collected, not submitted again."""
    entries = read_jobs(out).get("tasks", {})
    jobs = {t: attach(entries[t]) for t in tasks if t in entries}
    now = states(list(jobs.values()))
    return {t: j for t, j in jobs.items() if now.get(j.job_id) in PENDING | RUNNING}
