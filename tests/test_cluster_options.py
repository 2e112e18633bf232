"""Cluster options as their users give them (no cluster needed): Slurm's account, QOS,
constraint, excluded nodes, setup lines and other sbatch options reach submitit's job script;
Ray's memory, custom resources, retries and runtime environment reach its task options; bad
values are one-line errors before anything is written; ``--shard`` from a Slurm array task's
``SLURM_ARRAY_*``."""

from __future__ import annotations

import json
from argparse import Namespace

import pytest
from reliability_helpers import fails

from negbench.harness.errors import NegbenchError
from negbench.harness.pipeline.grid import Shard
from negbench.harness.pipeline.scale_out import array_shard, choose_shard, make_executor


def options(**given) -> Namespace:
    """``negbench run``'s parsed options (their defaults) with ``given`` on top."""
    from negbench.harness.cli import build_parser

    args = build_parser().parse_args(["run"])
    for key, value in given.items():
        setattr(args, key, value)
    return args


SLURM = {"executor": "slurm", "slurm_partition": "gpu", "slurm_account": "proj42",
         "slurm_qos": "high", "slurm_constraint": "a100|h100", "slurm_exclude": "node[01-02]",
         "slurm_setup": ["module load cuda/12.1", "source /shared/venv/bin/activate"],
         "slurm_additional": ["mail-type=END", "requeue"], "slurm_array_parallelism": 3}


def test_slurm_options_reach_submitits_job_script(tmp_path):
    """The options become submitit's own parameters, and submitit writes them into the job
    script (its own rendering, as sbatch gets it): #SBATCH lines, setup lines before the
    command, the array throttled to --slurm-array-parallelism."""
    pytest.importorskip("submitit")
    ex = make_executor(options(**SLURM), tmp_path / "experiment.resolved.yaml", tmp_path,
                       "query-side", "cpu")
    params = ex.executor()._executor.parameters
    assert (params["account"], params["qos"], params["constraint"], params["exclude"]) == (
        "proj42", "high", "a100|h100", "node[01-02]")
    assert params["setup"] == SLURM["slurm_setup"]
    assert params["additional_parameters"] == {"mail-type": "END", "requeue": True}
    slurm = ex.executor()._executor
    slurm.parameters["map_count"] = 5  # as submitit renders a 5-task array
    script = slurm._make_submission_file_text("python -m submitit.core._submit X", "uid")
    for line in ("#SBATCH --account=proj42", "#SBATCH --qos=high",
                 "#SBATCH --constraint='a100|h100'", "#SBATCH --exclude='node[01-02]'",
                 "#SBATCH --partition=gpu", "#SBATCH --mail-type=END", "#SBATCH --requeue",
                 "#SBATCH --array=0-4%3", "#SBATCH --cpus-per-task=2"):
        assert line in script.splitlines(), (line, script)
    command = script.index("python -m submitit")
    assert script.index("module load cuda/12.1") < script.index("source /shared/venv") < command


def test_experiment_file_keys_match_the_options(tmp_path):
    """The same options as experiment-file keys (snake_case; mappings or KEY=VALUE lists)."""
    from negbench.harness.experiment import validate

    exp = validate({"suite": "s", "output": "o", "samplers": ["random"], "executor": "slurm",
                    "slurm_account": "proj42", "slurm_setup": "module load cuda",
                    "slurm_additional": {"mail-type": "END", "nice": 10, "requeue": True},
                    "ray_resources": ["disk=1", '{"tpu": 2}'], "ray_memory": 4,
                    "ray_retries": 2, "ray_runtime_env": {"env_vars": {"A": "1"}}})
    assert exp.slurm_setup == ["module load cuda"]
    assert exp.slurm_additional == {"mail-type": "END", "nice": "10", "requeue": True}
    assert exp.ray_resources == {"disk": 1.0, "tpu": 2.0}
    for bad, message in (({"slurm_additional": ["array=0-9"]}, "negbench sets --array"),
                         ({"ray_retries": -1}, "ray_retries"),
                         ({"ray_resources": {"disk": -1}}, "expected a number >= 0")):
        with pytest.raises(NegbenchError, match=message):
            validate({"suite": "s", "output": "o", "samplers": ["random"], **bad})


def test_ray_options_reach_the_task_options(tmp_path):
    env_file = tmp_path / "env.yaml"
    env_file.write_text("env_vars:\n  HF_HOME: /shared/hf\npip: [rich]\n")
    ex = make_executor(options(executor="ray", ray_cpus=2, ray_memory=1.5, ray_retries=3,
                               ray_resources=["disk=1", '{"tpu": 0.5}'],
                               ray_runtime_env=str(env_file)),
                       tmp_path / "c.yaml", tmp_path, "full", "cuda")
    assert ex.task_options() == {
        "num_cpus": 2, "num_gpus": 1, "max_retries": 3, "retry_exceptions": True,
        "memory": int(1.5 * 1024 ** 3), "resources": {"disk": 1.0, "tpu": 0.5},
        "runtime_env": {"env_vars": {"HF_HOME": "/shared/hf"}, "pip": ["rich"]}}
    plain = make_executor(options(executor="ray"), tmp_path / "c.yaml", tmp_path,
                          "query-side", "cpu")
    assert plain.task_options() == {"num_cpus": 1, "num_gpus": 0, "max_retries": 0,
                                    "retry_exceptions": False}
    inline = make_executor(options(executor="ray", ray_runtime_env='{"env_vars": {"A": "1"}}'),
                           tmp_path / "c.yaml", tmp_path, "query-side", "cpu")
    assert inline.task_options()["runtime_env"] == {"env_vars": {"A": "1"}}


@pytest.mark.parametrize(("given", "message"), [
    ({"executor": "slurm", "slurm_additional": ["array=0-3"]}, "negbench sets --array"),
    ({"executor": "slurm", "slurm_additional": ["account=x"]}, "give it as --slurm-account"),
    ({"executor": "slurm", "slurm_additional": ["=x"]}, "expected KEY=VALUE"),
    ({"executor": "slurm", "slurm_setup": ["module load a\nrm -rf x"]}, "one non-empty line"),
    ({"executor": "slurm", "slurm_account": "my account"}, "without spaces"),
    ({"executor": "ray", "no_wait": True}, "--no-wait submits Slurm jobs"),
    ({"executor": "slurm", "no_wait": True, "target_mde": 0.01}, "sequential seeds"),
    ({"executor": "ray", "ray_resources": ["disk"]}, "expected KEY=VALUE"),
    ({"executor": "ray", "ray_resources": ["disk=lots"]}, "expected a number >= 0"),
    ({"executor": "ray", "ray_resources": ["{bad"]}, "not valid JSON"),
    ({"executor": "ray", "ray_memory": 0.0}, "--ray-memory 0.0"),
    ({"executor": "ray", "ray_retries": -1}, "--ray-retries -1"),
    ({"executor": "ray", "ray_runtime_env": "/no/such/env.yaml"}, "cannot read"),
    ({"executor": "ray", "ray_runtime_env": "[1, 2]"}, "cannot read"),
    ({"executor": "ray", "ray_runtime_env": '{"env_vars": '}, "not valid JSON"),
])
def test_bad_cluster_options_are_one_line_errors(tmp_path, given, message):
    with pytest.raises(NegbenchError, match=message.replace("[", r"\[")):
        make_executor(options(**given), tmp_path / "c.yaml", tmp_path, "query-side", "cpu")


def test_bad_cluster_option_writes_nothing(small, tiny_model_dir, cli_env, tmp_path):
    """Checked with every other input, before the first write to --output."""
    out = tmp_path / "out"
    fails(["run", "--suite", small, "--samplers", "random", "--seeds", "13", "--model",
           tiny_model_dir, "--no-audit", "--quiet", "--output", out, "--executor", "slurm",
           "--slurm-additional", "output=/tmp/x"], cli_env,
          "--slurm-additional output: negbench sets --output itself", output=out)


ARRAY = {"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "8",
         "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "7"}


def test_shard_from_a_slurm_array_task(monkeypatch):
    """In an array task you submitted yourself (``--array=0-7`` or ``1-8``) ``run`` takes shard
    ID - MIN of COUNT and says so; --shard, an executor's --task, a grid it submits itself,
    and sequential seeds ignore the array."""
    shard, note = array_shard(ARRAY)
    assert shard == Shard(3, 8) and "--shard 3/8 from this Slurm array task" in note
    one_based = {**ARRAY, "SLURM_ARRAY_TASK_ID": "8", "SLURM_ARRAY_TASK_MIN": "1",
                 "SLURM_ARRAY_TASK_MAX": "8"}
    assert array_shard(one_based)[0] == Shard(7, 8)
    assert array_shard({"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "2"})[0] == \
        Shard(0, 2)
    assert array_shard({"SLURM_JOB_ID": "5"}) is None
    for bad in ({**ARRAY, "SLURM_ARRAY_TASK_MAX": "14", "SLURM_ARRAY_TASK_STEP": "2"},
                {**ARRAY, "SLURM_ARRAY_TASK_MAX": "9"}):  # --array=0-14:2, --array=0,2,...
        with pytest.raises(NegbenchError, match="not contiguous"):
            array_shard(bad)
    with pytest.raises(NegbenchError, match="SLURM_ARRAY_TASK_ID='x'"):
        array_shard({**ARRAY, "SLURM_ARRAY_TASK_ID": "x"})
    for key, value in ARRAY.items():
        monkeypatch.setenv(key, value)
    assert choose_shard(options())[0] == Shard(3, 8)  # the process environment
    assert choose_shard(options(shard="1/2")) == (Shard(1, 2), None)
    assert choose_shard(options(shard="0/1")) == (Shard(0, 1), None)  # the whole grid
    for given in ({"task": "random-seed13"}, {"executor": "slurm"}, {"target_mde": 0.01}):
        assert choose_shard(options(**given)) == (None, None)
    with pytest.raises(NegbenchError, match="--shard and --task"):
        choose_shard(options(shard="0/2", task="random-seed13"))


def test_status_of_a_folder_without_a_submission(tmp_path, cli_env):
    """``negbench status`` on a folder no Slurm grid was submitted to: one line."""
    from reliability_helpers import refused

    pytest.importorskip("submitit")
    refused(["status", tmp_path], cli_env, "no Slurm submission recorded")
    (tmp_path / "slurm").mkdir()
    (tmp_path / "slurm" / "jobs.json").write_text(json.dumps(["not", "a", "mapping"]))
    refused(["status", tmp_path], cli_env, "not a negbench jobs file")
