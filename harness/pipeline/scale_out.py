"""``negbench run --executor local|ray|slurm`` (and ``--isolate``, ``--shard``): which executor
the options ask for, checked before anything is written, and which shard of the grid this
process runs.

A grid becomes tasks: ``zero-shot`` (the reference rows, when missing) and one task per
unfinished run, named by the run's key, each ``negbench run --config
<output>/experiment.resolved.yaml --task NAME`` in a fresh process (``tasks.py``) on this
machine (``--isolate``), a Ray worker (``ray_executor.py``) or a Slurm node
(``slurm_executor.py``). The process that submitted them writes ``table.md`` from every record
present once all tasks have ended.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from negbench.harness.errors import NegbenchError
from negbench.harness.pipeline.grid import Shard
from negbench.harness.pipeline.ray_executor import RayExecutor, RayOptions, runtime_env
from negbench.harness.pipeline.slurm_executor import (
    SlurmExecutor,
    SlurmOptions,
    additional,
    setup_lines,
)
from negbench.harness.pipeline.tasks import (
    Executor,
    LocalExecutor,
    Resources,
    default_gpus,
    key_values,
    run_task,
    task_env,
)

EXECUTORS = ("local", "ray", "slurm")
__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "RayExecutor", "Resources",
           "SlurmExecutor", "array_shard", "choose_shard", "default_gpus", "make_executor",
           "run_task", "task_env"]


def _sequential(args) -> bool:
    return any(getattr(args, k, None) for k in ("target_mde", "max_seeds", "seed_groups"))


def array_shard(environ: Mapping[str, str]) -> tuple[Shard, str] | None:
    """The shard of a Slurm array task (``SLURM_ARRAY_TASK_ID`` and ``SLURM_ARRAY_TASK_COUNT``
    set): shard ``ID - SLURM_ARRAY_TASK_MIN`` of ``COUNT``, so ``--array=0-7`` and
    ``--array=1-8`` both give shards 0..7 of 8; with a one-line note saying so. An array with
    gaps or a step (``--array=1,3,5``, ``0-14:2``) is refused: its ids are not one shard
    each. None outside an array task."""
    tid, count = environ.get("SLURM_ARRAY_TASK_ID"), environ.get("SLURM_ARRAY_TASK_COUNT")
    if tid is None or count is None:
        return None
    names = ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN",
             "SLURM_ARRAY_TASK_MAX", "SLURM_ARRAY_TASK_STEP")
    values = {}
    for name, default in zip(names, (None, None, "0", None, "1"), strict=True):
        text = environ.get(name, default)
        try:
            values[name] = int(text) if text is not None else None
        except ValueError:
            raise NegbenchError(f"{name}={text!r} is not an integer (a Slurm array task's "
                                "environment); give --shard I/N") from None
    first, last, step = (values[n] for n in names[2:])
    n = values["SLURM_ARRAY_TASK_COUNT"]
    if step != 1 or (last is not None and last - first + 1 != n):
        raise NegbenchError(f"this Slurm array's task ids are not contiguous (min {first}, max "
                            f"{last}, step {step}, {n} tasks): a shard per id needs "
                            "--array=A-B; or give --shard I/N")
    index = values["SLURM_ARRAY_TASK_ID"] - first
    shard = Shard.parse(f"{index}/{n}")
    note = (f"[negbench] --shard {shard} from this Slurm array task (SLURM_ARRAY_TASK_ID={tid}"
            f" - SLURM_ARRAY_TASK_MIN={first} of SLURM_ARRAY_TASK_COUNT={n}); give --shard "
            "to choose another")
    return shard, note


def choose_shard(args, environ: Mapping[str, str] | None = None
                 ) -> tuple[Shard | None, str | None]:
    """``--shard I/N``; else, in a Slurm array task you submitted yourself, the array's
    (``array_shard``); else None. Never for an executor's ``--task``, a grid this command
    submits (``--executor ray|slurm``) or sequential seeds (they finish the grid here).
    Returns the shard and a note to print when it came from the environment."""
    executor = getattr(args, "executor", "local") or "local"
    if args.shard is not None:
        if args.task:
            raise NegbenchError("--shard and --task exclude each other")
        if executor != "local":
            raise NegbenchError("--shard is for array jobs submitted by hand; --executor "
                                f"{executor} submits every run itself")
        return Shard.parse(args.shard), None  # '' is refused
    if args.task or executor != "local" or _sequential(args):
        return None, None
    got = array_shard(os.environ if environ is None else environ)
    return got if got is not None else (None, None)


def _number(args, name: str, flag: str, low: float, strict: bool = False):
    value = getattr(args, name, None)
    if value is not None and (value <= low if strict else value < low):
        raise NegbenchError(f"{flag} {value}: expected a number {'>' if strict else '>='} "
                            f"{low:g}")
    return value


def slurm_options(args) -> SlurmOptions:
    """The Slurm cluster options of ``args``, checked."""
    for name in ("slurm_account", "slurm_qos", "slurm_constraint", "slurm_exclude"):
        value = getattr(args, name, None)
        if value is not None and (not str(value).strip() or any(c.isspace() for c in value)):
            raise NegbenchError(f"--{name.replace('_', '-')} {value!r}: expected a name "
                                "without spaces")
    return SlurmOptions(args.slurm_account, args.slurm_qos, args.slurm_constraint,
                        args.slurm_exclude, setup_lines(args.slurm_setup),
                        additional(args.slurm_additional), bool(getattr(args, "no_wait", False)))


def ray_options(args) -> RayOptions:
    """The Ray task options of ``args``, checked."""
    return RayOptions(_number(args, "ray_memory", "--ray-memory", 0, strict=True),
                      key_values(args.ray_resources, "--ray-resources", number=True),
                      int(_number(args, "ray_retries", "--ray-retries", 0) or 0),
                      runtime_env(args.ray_runtime_env))


def default_workers(executor: str, device: str, isolate: bool) -> int:
    """``--workers`` when not given: 2 on a CPU with at least 2 cores whose thread count the
    user has not fixed (``OMP_NUM_THREADS``), for the local executor without ``--isolate``;
    else 1. On 2 cores two 1-thread workers ran a grid 1.15x faster than one 2-thread
    process (docs/performance.md, "Workers")."""
    import os

    from negbench.harness.training.query_side import usable_cores

    if executor != "local" or isolate or device != "cpu" or os.environ.get("OMP_NUM_THREADS"):
        return 1
    return 2 if usable_cores() >= 2 else 1


def make_executor(args, config: Path, out: Path, track: str, device: str,
                  grid: dict[str, str] | None = None,
                  fingerprint: str | None = None) -> Executor | None:
    """The executor ``args`` ask for, every option checked (nothing is written); None for the
    in-process grid (local, no --isolate). ``grid`` (run key -> config hash) and the data
    ``fingerprint`` go to Slurm's ``jobs.json`` for ``negbench status``."""
    name = getattr(args, "executor", "local") or "local"
    if name not in EXECUTORS:
        raise NegbenchError(f"--executor {name!r}: expected one of {', '.join(EXECUTORS)}")
    if getattr(args, "no_wait", False):
        if name != "slurm":
            raise NegbenchError(f"--no-wait submits Slurm jobs and returns; --executor {name} "
                                "runs the tasks from this command")
        if _sequential(args):
            raise NegbenchError("--no-wait: sequential seeds (--target-mde/--max-seeds/"
                                "--seed-groups) decide after each group of runs; they wait")
    workers = getattr(args, "workers", 1)
    if workers is None:  # not given: what benchmarks/worker_layout.py found faster here
        workers = default_workers(name, device, getattr(args, "isolate", False))
    for flag, value in (("--ray-cpus", args.ray_cpus), ("--slurm-cpus", args.slurm_cpus),
                        ("--workers", workers)):
        if value is not None and value < 1:
            raise NegbenchError(f"{flag} {value}: expected at least 1")
    if workers > 1 and name != "local":
        raise NegbenchError(f"--workers runs the tasks as processes on this machine; with "
                            f"--executor {name} use --{name}-cpus and the cluster's slots")
    if name == "local" and not getattr(args, "isolate", False) and workers == 1:
        return None
    if name == "ray":
        gpus = args.ray_gpus if args.ray_gpus is not None else default_gpus(track, device)
        return RayExecutor(config, out, Resources(cpus=args.ray_cpus, gpus=gpus),
                           args.ray_address, ray_options(args))
    if name == "slurm":
        gpus = args.slurm_gpus if args.slurm_gpus is not None else default_gpus(track, device)
        res = Resources(cpus=args.slurm_cpus, gpus=gpus, mem_gb=args.slurm_mem,
                        time_min=args.slurm_time, partition=args.slurm_partition,
                        array_parallelism=args.slurm_array_parallelism)
        return SlurmExecutor(config, out, res, slurm_options(args), grid, fingerprint)
    return LocalExecutor(config, out, Resources(), workers)
