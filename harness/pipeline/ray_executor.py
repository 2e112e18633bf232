"""``--executor ray``: one Ray task per run on a running cluster (``--ray-address``) or a local
Ray started for the grid, with per-task CPUs, GPUs, memory and custom resources, a runtime
environment and retries; one line per task as it finishes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from negbench.harness.errors import NegbenchError
from negbench.harness.pipeline.tasks import Executor, Resources, run_task


@dataclass
class RayOptions:
    """Ray's per-task options beyond CPUs and GPUs."""

    memory_gb: float | None = None
    resources: dict[str, float] = field(default_factory=dict)
    retries: int = 0
    runtime_env: dict | None = None


class TaskFailed(Exception):
    """A task's process exited non-zero (raised on the worker, so Ray retries it); its one
    argument is the exit code."""

    @property
    def code(self) -> int:
        return int(self.args[0])

    def __str__(self) -> str:
        return f"exit {self.args[0]}"


def run_task_or_raise(argv: list[str], env: dict[str, str], cwd: str, log: str) -> int:
    """``run_task``, raising ``TaskFailed`` on a non-zero exit (what Ray's retries see)."""
    code = run_task(argv, env, cwd, log)
    if code != 0:
        raise TaskFailed(code)
    return 0


def runtime_env(value, flag: str = "--ray-runtime-env") -> dict | None:
    """A Ray runtime environment: a mapping, a JSON object, or a YAML/JSON file holding one."""
    import json

    import yaml

    if value is None or value == "" or value == {}:
        return None
    if isinstance(value, dict):
        return dict(value)
    text = str(value).strip()
    if text.startswith("{"):
        try:
            env = json.loads(text)
        except json.JSONDecodeError as exc:
            raise NegbenchError(f"{flag}: not valid JSON ({exc.msg})") from None
    else:
        try:
            env = yaml.safe_load(Path(text).read_text(encoding="utf-8"))
        except OSError as exc:
            raise NegbenchError(f"{flag} {text}: cannot read ({exc.strerror}); give a JSON "
                                "object or a YAML/JSON file") from None
        except (yaml.YAMLError, UnicodeDecodeError):
            raise NegbenchError(f"{flag} {text}: not valid YAML/JSON") from None
    if not isinstance(env, dict):
        raise NegbenchError(f"{flag} {text!r}: expected a mapping (e.g. {{\"env_vars\": "
                            "{\"HF_HOME\": \"/shared/hf\"}})")
    return env


class RayExecutor(Executor):
    """Ray tasks (``--ray-address`` of a running cluster, or a local Ray started for the
    grid), ``num_cpus``/``num_gpus`` per task by track."""

    name = "ray"

    def __init__(self, config: Path, out: Path, res: Resources, address: str | None,
                 opts: RayOptions | None = None) -> None:
        super().__init__(config, out, res)
        self.address = address
        self.opts = opts or RayOptions()

    def task_options(self) -> dict:
        """The options of ``ray.remote`` for every task."""
        opts = {"num_cpus": self.res.cpus, "num_gpus": self.res.gpus,
                "max_retries": self.opts.retries, "retry_exceptions": self.opts.retries > 0}
        if self.opts.memory_gb:
            opts["memory"] = int(self.opts.memory_gb * 1024 ** 3)
        if self.opts.resources:
            opts["resources"] = dict(self.opts.resources)
        if self.opts.runtime_env:
            opts["runtime_env"] = dict(self.opts.runtime_env)
        return opts

    def run(self, tasks: list[str], log) -> list[int]:
        from negbench.harness.pipeline.preflight import executor_package

        ray = executor_package("ray")  # checked in the preflight too, before any write
        started = not ray.is_initialized()
        if started:
            ray.init(address=self.address, log_to_driver=False, include_dashboard=False)
        try:
            self._warn_unavailable(ray.cluster_resources(), log)
            remote = ray.remote(**self.task_options())(run_task_or_raise)
            extra = "".join(f", {v:g} {k}" for k, v in self.opts.resources.items())
            memory = f", {self.opts.memory_gb:g} GB" if self.opts.memory_gb else ""
            print(f"[negbench] {len(tasks)} Ray task(s) ({self.res.cpus} CPU, "
                  f"{self.res.gpus:g} GPU{memory}{extra} each; {self.opts.retries} "
                  f"retries); logs in {self.out / 'logs'}", file=log)
            refs = {remote.remote(self.argv(t), self.env, self.cwd, self.log_path(t)): t
                    for t in tasks}
            codes: dict[str, int] = {}
            left = list(refs)
            while left:
                done, left = ray.wait(left, num_returns=1)
                for ref in done:
                    task = refs[ref]
                    codes[task], how = _outcome(ray, ref)
                    print(f"[negbench] Ray task {task}: {how} ({len(codes)}/{len(tasks)})",
                          file=log)
            return [codes[t] for t in tasks]
        finally:
            if started:
                ray.shutdown()

    def _warn_unavailable(self, total: dict, log) -> None:
        """A line for each resource a task asks for that the cluster lacks now (its tasks
        wait until a node offers it, e.g. one an autoscaler adds)."""
        want = {**self.opts.resources, "CPU": self.res.cpus, "GPU": self.res.gpus,
                "memory": (self.opts.memory_gb or 0) * 1024 ** 3}
        for key, amount in want.items():
            if amount and total.get(key, 0) < amount:
                unit = 1024 ** 3 if key == "memory" else 1
                what = "GB of memory" if key == "memory" else key
                print(f"[negbench] warning: each Ray task asks for {amount / unit:g} {what} but "
                      f"the cluster has {total.get(key, 0) / unit:g} now; the tasks wait until "
                      "a node offers it", file=log)


def _outcome(ray, ref) -> tuple[int, str]:
    """A finished task's exit code and a few words on how it ended."""
    try:
        return int(ray.get(ref)), "done"
    except ray.exceptions.RayTaskError as exc:  # its process exited non-zero, every try
        failed = exc if isinstance(exc, TaskFailed) else getattr(exc, "cause", None)
        code = failed.code if isinstance(failed, TaskFailed) else -1
        return code, f"failed (exit {code})"
    except ray.exceptions.RayError as exc:  # a worker lost or killed, every try
        return -1, f"failed ({type(exc).__name__})"
