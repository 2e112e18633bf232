"""``negbench status DIR``: where each run of a grid submitted to Slurm stands."""

from __future__ import annotations

from pathlib import Path


def cmd_status(args) -> int:
    from tabulate import tabulate

    from negbench.harness.errors import NegbenchError
    from negbench.harness.pipeline.preflight import executor_package
    from negbench.harness.pipeline.slurm_jobs import status_rows

    out = Path(args.dir)
    if not out.is_dir():
        raise NegbenchError(f"{out}: no such folder")
    executor_package("slurm")  # submitit reads the jobs' files
    rows = status_rows(out)
    print(tabulate(rows, headers=["run", "state", "record, job or log"], tablefmt="github"))
    counts: dict[str, int] = {}
    for _, state, _ in rows:
        counts[state] = counts.get(state, 0) + 1
    print(", ".join(f"{n} {state}" for state, n in counts.items()))
    return 0


def register(sub) -> None:
    s = sub.add_parser("status", help="where each run of a grid submitted to Slurm stands",
                       description="For a grid run with `negbench run --executor slurm` "
                                   "(e.g. with --no-wait), say per run: done (its record is "
                                   "present, reads back and belongs to the grid), pending or "
                                   "running (its job is queued or running), failed (its job "
                                   "ended without a record; with its log) or missing (never "
                                   "submitted). The job ids come from DIR/slurm/jobs.json; "
                                   "the same `negbench run` command collects the results.",
                       epilog="example: negbench status results/runs/scifact-full")
    s.add_argument("dir", metavar="DIR", help="the grid's --output folder")
    s.set_defaults(func=cmd_status)
