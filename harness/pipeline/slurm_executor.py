"""``--executor slurm``: a Slurm job array through submitit, one array task per run, with the
cluster's own options (account, QOS, constraint, excluded nodes, setup lines, any other
``sbatch`` parameter) passed as submitit's parameters; ``--no-wait`` submits and returns, and a
later ``negbench run`` collects the jobs still running instead of submitting them again."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from negbench.harness.errors import NegbenchError
from negbench.harness.pipeline import slurm_jobs
from negbench.harness.pipeline.tasks import Executor, Resources, key_values, run_task

# sbatch options negbench and submitit set themselves: --slurm-additional may not change them
OWN_SBATCH = {"array", "output", "error", "open-mode", "signal", "job-name", "wrap"}
# options with their own --slurm-* flag
FLAGGED = {"account": "--slurm-account", "qos": "--slurm-qos", "constraint":
           "--slurm-constraint", "exclude": "--slurm-exclude", "partition": "--slurm-partition",
           "time": "--slurm-time", "cpus-per-task": "--slurm-cpus", "mem": "--slurm-mem",
           "gpus-per-node": "--slurm-gpus"}


@dataclass
class SlurmOptions:
    """What a cluster asks of its users beyond resources, and whether to wait."""

    account: str | None = None
    qos: str | None = None
    constraint: str | None = None
    exclude: str | None = None
    setup: list[str] = field(default_factory=list)
    additional: dict = field(default_factory=dict)
    no_wait: bool = False


def additional(items) -> dict:
    """``--slurm-additional KEY=VALUE`` items as sbatch parameters (``KEY`` alone: a flag),
    refusing the ones negbench sets or that have their own option."""
    pairs = key_values(items, "--slurm-additional")
    out = {}
    for key, value in pairs.items():
        name = str(key).removeprefix("--").replace("_", "-")
        if name in OWN_SBATCH:
            raise NegbenchError(f"--slurm-additional {key}: negbench sets --{name} itself")
        if name in FLAGGED:
            raise NegbenchError(f"--slurm-additional {key}: give it as {FLAGGED[name]}")
        if value is not False:  # KEY: false in a file: no such flag
            out[name] = value if value is True else str(value)
    return out


def setup_lines(lines) -> list[str]:
    """``--slurm-setup`` lines, each one line of shell."""
    out = [str(line) for line in lines or []]
    for line in out:
        if "\n" in line or "\r" in line or not line.strip():
            raise NegbenchError(f"--slurm-setup {line!r}: give one non-empty line of shell per "
                                "--slurm-setup")
    return out


def submitit_parameters(res: Resources, opts: SlurmOptions, name: str) -> dict:
    """The parameters of submitit's ``AutoExecutor.update_parameters`` (its own names)."""
    params = {"timeout_min": res.time_min, "cpus_per_task": res.cpus, "name": name,
              "slurm_array_parallelism": res.array_parallelism, "tasks_per_node": 1,
              "nodes": 1}
    if res.gpus:
        params["gpus_per_node"] = int(res.gpus)
    if res.mem_gb:
        params["mem_gb"] = res.mem_gb
    if res.partition:
        params["slurm_partition"] = res.partition
    for key in ("account", "qos", "constraint", "exclude"):
        if getattr(opts, key):
            params[f"slurm_{key}"] = getattr(opts, key)
    if opts.setup:
        params["slurm_setup"] = list(opts.setup)
    if opts.additional:
        params["slurm_additional_parameters"] = dict(opts.additional)
    return {**params, **res.extra}


class SlurmExecutor(Executor):
    """A Slurm job array through submitit: one array task per run, resources per track;
    submitit's files in ``<output>/slurm``, the job ids in ``<output>/slurm/jobs.json``."""

    name = "slurm"

    def __init__(self, config: Path, out: Path, res: Resources,
                 opts: SlurmOptions | None = None, grid: dict[str, str] | None = None,
                 fingerprint: str | None = None) -> None:
        super().__init__(config, out, res)
        self.opts = opts or SlurmOptions()
        self.grid, self.fingerprint = grid or {}, fingerprint
        self.folder = str(self.out / "slurm" / "%j")
        self.zero_shot_stat = {p: _stat(p) for p in (
            self.out / "records" / f"zeroshot-{s}.json" for s in ("bm25", "model"))}

    def phases(self, tasks: list[str]) -> list[list[str]]:
        """Not waiting: every task at once (the zero-shot rows are computed under a lock)."""
        return [tasks] if self.opts.no_wait else super().phases(tasks)

    def executor(self):
        """submitit's executor with this grid's parameters (nothing submitted)."""
        from negbench.harness.pipeline.preflight import executor_package

        submitit = executor_package("slurm")  # checked in the preflight too
        ex = submitit.AutoExecutor(folder=self.folder, cluster="slurm")
        ex.update_parameters(**submitit_parameters(self.res, self.opts,
                                                   f"negbench-{self.out.name}"))
        return ex

    def submit(self, tasks: list[str], log) -> dict[str, object]:
        """Submit ``tasks`` as one job array; task -> job, recorded in ``jobs.json``."""
        from submitit.core.utils import FailedJobError

        ex = self.executor()
        try:
            jobs = ex.map_array(run_task, [self.argv(t) for t in tasks],
                                [self.env] * len(tasks), [self.cwd] * len(tasks),
                                [self.log_path(t) for t in tasks])
        except FailedJobError as exc:  # sbatch said no (its message is printed above)
            why = (str(exc).strip().splitlines() or ["no message"])[-1]
            raise NegbenchError(f"sbatch refused the job array: {why}") from None
        except OSError as exc:
            raise NegbenchError(f"cannot submit to Slurm: {exc.strerror or exc} (is sbatch on "
                                "this machine's PATH?)") from None
        by_task = dict(zip(tasks, jobs, strict=True))
        slurm_jobs.record_jobs(self.out, by_task, self.folder, self.grid, self.fingerprint)
        print(f"[negbench] Slurm job {jobs[0].job_id.split('_')[0]}: {len(jobs)} task(s) "
              f"({self.res.cpus} CPU, {self.res.gpus:g} GPU each); logs in "
              f"{self.out / 'logs'}", file=log)
        return by_task

    def run(self, tasks: list[str], log) -> list[int] | None:
        jobs = slurm_jobs.active_jobs(self.out, tasks)
        if jobs:
            print(f"[negbench] {len(jobs)} task(s) already submitted and not ended (job(s) "
                  f"{', '.join(sorted(j.job_id for j in jobs.values()))}): collected, not "
                  "submitted again", file=log)
        # a job collected from an earlier submission may have finished while this command
        # waited for another phase: its record is there now
        finished = [t for t in tasks if t not in jobs and self.finished_meanwhile(t)]
        if finished:
            print(f"[negbench] {len(finished)} task(s) finished since this command started "
                  f"({', '.join(finished)}): not submitted again", file=log)
        new = [t for t in tasks if t not in jobs and t not in finished]
        if new:
            jobs.update(self.submit(new, log))
        if self.opts.no_wait:  # run prints where to follow them
            return None
        codes = {t: 0 for t in finished}
        codes.update(self.collect(jobs, log))
        return [codes[t] for t in tasks]

    def finished_meanwhile(self, task: str) -> bool:
        """Whether ``task`` wrote its record since this executor was made: a run's record of
        this grid's config, or zero-shot rows replaced since then."""
        if task == "zero-shot":
            paths = [self.out / "records" / f"zeroshot-{s}.json" for s in ("bm25", "model")]
            return all(_stat(p) not in (None, self.zero_shot_stat.get(p)) for p in paths) \
                and all(slurm_jobs.record_state(self.out, p.stem, None, self.fingerprint)
                        == "done" for p in paths)
        return task in self.grid and slurm_jobs.record_state(
            self.out, task, self.grid[task], self.fingerprint) == "done"

    def collect(self, jobs: dict[str, object], log) -> dict[str, int]:
        """Wait for ``jobs`` (task -> job), one line per job as it ends; exit codes."""
        task_of = {j.job_id: t for t, j in jobs.items()}
        codes: dict[str, int] = {}

        def ended(job) -> None:
            code, how = slurm_jobs.result_code(job)
            task = task_of[job.job_id]
            codes[task] = code
            print(f"[negbench] Slurm task {task} (job {job.job_id}): {how} "
                  f"({len(codes)}/{len(jobs)})", file=log)

        slurm_jobs.wait_each(list(jobs.values()), ended)
        return codes


def _stat(path: Path) -> tuple[int, int] | None:
    """A file's identity (inode, mtime): a record replaced atomically gets another."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns
