"""Scale-out: ``--shard i/n`` array tasks, ``--executor local --isolate|ray|slurm``. Every
way of running a grid gives the records of one plain in-process run (tiny model, real SciFact
cut to its judged docs, smoke budget); a failed task is finished by the same command."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from reliability_helpers import CLI

from negbench.harness.pipeline.grid import Shard

SEEDS = "13,14"
SAMPLERS = "in-batch,random"
KEYS = {f"{s}-seed{n}" for s in SAMPLERS.split(",") for n in SEEDS.split(",")}


def grid_argv(small, tiny_model_dir, out, *extra) -> list[str]:
    return ["run", "--suite", str(small), "--samplers", SAMPLERS, "--seeds", SEEDS,
            "--budget", "smoke", "--model", str(tiny_model_dir), "--no-audit", "--quiet",
            "--output", str(out), *extra]


def results(out) -> dict:
    """What must not depend on how the grid was run: per record, metrics, per-query scores,
    config hash, negatives and trained model."""
    got = {}
    for p in sorted((out / "records").glob("*.json")):
        rec = json.loads(p.read_text())
        got[p.stem] = {"metrics": rec["metrics"], "per_query": rec["per_query"],
                       "config_hash": rec.get("config_hash"),
                       "negatives": (rec.get("negatives") or {}).get("sha256"),
                       "model": rec.get("trained_model_fingerprint")}
    return got


def table_rows(out) -> list[list[str]]:
    """The table's system, seeds and metric cells (its resource columns, peak RSS and
    seconds, differ from run to run)."""
    return sorted([c.strip() for c in line.split("|")[1:7]]
                  for line in (out / "table.md").read_text().splitlines()
                  if line.startswith("|") and "---" not in line)


@pytest.fixture(scope="module")
def reference(small, tiny_model_dir, irds_home, cache_dir, tmp_path_factory):
    """The grid run the plain way: one process, runs one after another."""
    from reliability_helpers import env

    out = tmp_path_factory.mktemp("reference")
    proc = subprocess.run(CLI + grid_argv(small, tiny_model_dir, out),
                          env=env(irds_home, cache_dir), capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = results(out)
    assert set(got) == KEYS | {"zeroshot-bm25", "zeroshot-model"}
    return out, got


def test_shard_parse_and_partition():
    assert Shard.parse("1/3") == Shard(1, 3)
    for bad in ("3/3", "-1/2", "1", "a/b", "0/0"):
        with pytest.raises(Exception, match="--shard"):
            Shard.parse(bad)
    configs = list(range(10))  # seed-major run configs stand-ins
    parts = [Shard(i, 3).select(configs) for i in range(3)]
    assert sorted(c for part in parts for c in part) == configs  # every run exactly once
    assert parts[0] == [0, 3, 6, 9]


def test_two_shards_at_once_equal_one_run(reference, small, tiny_model_dir, cli_env, tmp_path):
    """Two array tasks started together into one folder: every run once, the zero-shot rows
    once, the same records as the unsharded grid, and a table.md holding every row. The second
    gives no --shard: it is task 2 of a 1-based Slurm array (``--array=1-2``) and takes shard
    1/2 from its ``SLURM_ARRAY_*``."""
    ref_out, ref = reference
    out = tmp_path / "sharded"
    argv = [a for a in grid_argv(small, tiny_model_dir, out) if a != "--quiet"]
    array = {"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "1",
             "SLURM_ARRAY_TASK_MAX": "2", "SLURM_ARRAY_TASK_COUNT": "2"}
    procs = [subprocess.Popen(CLI + argv + (["--shard", "0/2"] if i == 0 else []),
                              env={**cli_env, **(array if i == 1 else {})}, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for i in range(2)]
    outs = [p.communicate(timeout=900) for p in procs]
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
    assert "--shard 1/2 from this Slurm array task" in outs[1][1], outs[1][1][-3000:]
    assert results(out) == ref
    assert table_rows(out) == table_rows(ref_out)
    # zero-shot rows computed by one shard only; the other found them under the lock
    assert sum("zero-shot BM25" in err for _, err in outs) == 1
    assert not list(out.rglob("*.tmp")) and not (out / "work").exists()


def test_isolated_runs_equal_in_process_and_measure_rss_per_run(reference, small,
                                                                tiny_model_dir, cli_env,
                                                                tmp_path):
    """``--isolate``: the zero-shot task and each run in a fresh process (one run here: each
    task pays the interpreter's start), with the in-process grid's records."""
    ref_out, ref = reference
    out = tmp_path / "isolated"
    argv = grid_argv(small, tiny_model_dir, out, "--isolate")
    i = argv.index("--samplers")
    argv[i + 1], argv[i + 3] = "random", "13"
    proc = subprocess.run(CLI + argv, env=cli_env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = results(out)
    assert set(got) == {"random-seed13", "zeroshot-bm25", "zeroshot-model"}
    assert got == {k: ref[k] for k in got}
    names = [r[0] for r in table_rows(out)]
    assert len(names) == 4 and {"sampler", "BM25 (zero-shot)", "random"} <= set(names)
    rec = json.loads((out / "records" / "random-seed13.json").read_text())
    assert rec["peak_rss"]["scope"] == "run"
    assert set(rec["peak_rss_mb_after_stage"]) >= {"mine", "train", "encode", "retrieve"}
    plain = json.loads((ref_out / "records" / "random-seed13.json").read_text())
    assert plain["peak_rss"]["scope"] == "process"


def test_two_local_workers_equal_in_process(reference, small, tiny_model_dir, cli_env,
                                            tmp_path):
    """``--workers 2``: two worker processes take the runs in turn, each with half the cores'
    threads, serving several runs (imports and model stay warm), each run's output in its
    log; the in-process grid's records and table rows, and a line as each run ends."""
    from negbench.harness.training.query_side import usable_cores

    ref_out, ref = reference
    out = tmp_path / "workers"
    env = {k: v for k, v in cli_env.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    argv = [a for a in grid_argv(small, tiny_model_dir, out, "--workers", "2") if a != "--quiet"]
    proc = subprocess.run(CLI + argv, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert results(out) == ref
    assert table_rows(out) == table_rows(ref_out)
    threads = max(1, usable_cores() // 2)
    assert f"4 tasks, 2 worker processes taking them in turn, each with {threads} thread(s)" in \
        proc.stderr, proc.stderr[-3000:]
    pids = []
    for key in KEYS:
        assert f"task {key}: done" in proc.stderr, proc.stderr[-3000:]
        head = (out / "logs" / f"{key}.log").read_text().splitlines()[0]
        pids.append(head.rsplit(" ", 1)[-1])
    assert len(set(pids)) <= 2 < len(pids), pids  # a worker process served several runs
    assert not list((out / "logs").glob("queue*")), "the task queue is removed afterwards"
    bad = subprocess.run(CLI + grid_argv(small, tiny_model_dir, tmp_path / "bad", "--workers",
                                         "0"),
                         env=env, capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "workers" in bad.stderr, bad.stderr[-3000:]
    assert bad.stderr.count("\n") == 1
    assert not (tmp_path / "bad").exists()


# -- Ray and Slurm: real engines started by the fixtures ---------------------------------------
# the engine tests run a part of the grid; the zero-shot task is covered by the --isolate test
SUB = ["--samplers", "random", "--seeds", SEEDS, "--no-zero-shot"]


def sub_argv(small, tiny_model_dir, out, *extra) -> list[str]:
    argv = grid_argv(small, tiny_model_dir, out, *extra)
    i = argv.index("--samplers")
    return argv[:i] + SUB + argv[i + 4:]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc, timeout=30) -> None:
    """Stop a daemon this test started, and what it started (its own process group)."""
    import os
    import signal

    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers of the session it started
    except ProcessLookupError:
        pass
    proc.wait()


def _submit(argv, env) -> subprocess.CompletedProcess:
    """``negbench *argv`` as its own process (the submitting side only waits; the runs happen
    in the engine's task processes). Not in pytest's process: an engine's client (Ray's
    driver threads) left in it made later in-process torch training crash."""
    return subprocess.run([*CLI, *argv], env=env, capture_output=True, text=True, check=False)


def _check_records(out, ref, resumed) -> None:
    """The engine's records equal the plain in-process grid's; each measured alone."""
    got = results(out)
    assert set(got) == {"random-seed13", "random-seed14"}
    assert got == {k: v for k, v in ref.items() if k in got}
    for key in got:
        rec = json.loads((out / "records" / f"{key}.json").read_text())
        assert rec["resumed_stages"] == resumed
        assert rec["peak_rss"]["scope"] == "run"
    assert (out / "table.md").exists() and not list(out.rglob("*.tmp"))
    assert sorted(p.name for p in (out / "logs").iterdir()) == ["random-seed13.log",
                                                                "random-seed14.log"]


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """A local Ray cluster (2 CPUs) started with ``ray start --head`` and stopped after."""
    import os
    import shutil
    import sys
    import tempfile
    import time

    pytest.importorskip("ray")
    ray_bin = shutil.which("ray", path=os.path.dirname(sys.executable))
    if ray_bin is None:
        pytest.skip("the ray command is not installed")
    port = _free_port()
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's socket paths
    log = open(tmp_path_factory.mktemp("ray") / "ray.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([ray_bin, "start", "--head", "--block", "--num-cpus", "2",
                             "--num-gpus", "0", "--resources", '{"negbench_slot": 2}',
                             "--port", str(port), "--temp-dir", temp,
                             "--include-dashboard=false", "--disable-usage-stats"],
                            stdout=log, stderr=log, start_new_session=True,
                            env=dict(os.environ, RAY_USAGE_STATS_ENABLED="0"))
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while subprocess.run([ray_bin, "status", "--address", address], capture_output=True,
                             check=False).returncode != 0:
            assert proc.poll() is None and time.monotonic() < deadline, "ray did not start"
            time.sleep(2)
        yield address
    finally:
        _stop(proc)
        log.close()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.scale
def test_ray_executor_equals_local(reference, ray_cluster, small, tiny_model_dir, cli_env,
                                   tmp_path):
    """One Ray task per run (1 CPU, memory and a custom resource each) on a running cluster:
    the records of the plain in-process grid. The runtime environment reaches the tasks: its
    ``NEGBENCH_CRASH_AFTER=mine`` stops each run's first try after its mine stage, and
    ``--ray-retries 1`` runs it again, resuming after that stage; one line per task as it
    finishes."""
    out = tmp_path / "out"
    runtime_env = json.dumps({"env_vars": {"NEGBENCH_CRASH_AFTER": "mine"}})
    argv = [a for a in sub_argv(small, tiny_model_dir, out, "--executor", "ray",
                                "--ray-address", ray_cluster, "--ray-memory", "0.25",
                                "--ray-resources", "negbench_slot=1", "--ray-retries", "1",
                                "--ray-runtime-env", runtime_env) if a != "--quiet"]
    proc = _submit(argv, cli_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    _check_records(out, reference[1], ["mine"])
    for key in ("random-seed13", "random-seed14"):
        assert f"Ray task {key}: done" in proc.stderr, proc.stderr[-3000:]
        assert "InjectedCrash" in (out / "logs" / f"{key}.log").read_text()


SLURM_CONF = """\
ClusterName=negbenchtest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
AuthType=auth/munge
AuthInfo=socket={dir}/munge.sock
CredType=cred/munge
SlurmUser={user}
SlurmdUser={user}
StateSaveLocation={dir}/state
SlurmdSpoolDir={dir}/spool
SlurmctldPidFile={dir}/slurmctld.pid
SlurmdPidFile={dir}/slurmd.pid
SlurmctldLogFile={dir}/slurmctld.log
SlurmdLogFile={dir}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SwitchType=switch/none
NodeName={host} NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    """A one-node Slurm cluster on this machine (2 CPUs): munged with its own key and socket,
    slurmctld and slurmd on free ports, all started here and stopped after. Yields the
    environment for its client commands (``SLURM_CONF``)."""
    import getpass
    import os
    import shutil
    import socket
    import tempfile
    import time

    need = ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "srun"]
    missing = [b for b in need if shutil.which(b) is None
               and not os.path.exists(f"/usr/sbin/{b}")]
    if missing:
        pytest.skip(f"Slurm/munge binaries not installed: {missing} (apt-get install "
                    "slurmctld slurmd slurm-client munge)")
    pytest.importorskip("submitit")
    if os.geteuid() != 0:
        pytest.skip("the one-node Slurm cluster runs slurmd, which needs root")
    d = tempfile.mkdtemp(prefix="slurm-", dir="/tmp")  # short path for the munge socket
    os.chmod(d, 0o755)
    for sub in ("state", "spool"):
        os.makedirs(os.path.join(d, sub))
    fd = os.open(os.path.join(d, "munge.key"), os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, os.urandom(1024))
    os.close(fd)
    host = socket.gethostname().split(".")[0]
    conf = os.path.join(d, "slurm.conf")
    with open(conf, "w") as fh:
        fh.write(SLURM_CONF.format(host=host, dir=d, user=getpass.getuser(),
                                   ctld_port=_free_port(), d_port=_free_port()))
    env = dict(os.environ, SLURM_CONF=conf)
    sbin = lambda b: shutil.which(b) or f"/usr/sbin/{b}"
    procs = []
    try:
        for cmd in ([sbin("munged"), "-F", "-f", f"--socket={d}/munge.sock",
                     f"--key-file={d}/munge.key", f"--pid-file={d}/munged.pid",
                     f"--seed-file={d}/munged.seed", f"--log-file={d}/munged.log"],
                    [sbin("slurmctld"), "-D", "-i"], [sbin("slurmd"), "-D"]):
            log = open(os.path.join(d, os.path.basename(cmd[0]) + ".out"), "w")  # noqa: SIM115
            procs.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=log,
                                          start_new_session=True))
            time.sleep(1)
        deadline = time.monotonic() + 120
        while "idle" not in subprocess.run(["sinfo", "-h", "-o", "%t"], env=env,
                                           capture_output=True, text=True,
                                           check=False).stdout:
            assert all(p.poll() is None for p in procs), Path(d, "slurmctld.out").read_text()
            assert time.monotonic() < deadline, "the Slurm node never became idle"
            time.sleep(1)
        yield {"SLURM_CONF": conf}
    finally:
        for p in reversed(procs):
            _stop(p)
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.scale
def test_slurm_executor_equals_local(reference, slurm_cluster, small, tiny_model_dir, cli_env,
                                     tmp_path):
    """A job array of one task per run (1 CPU each, two at once on the 2-CPU node)."""
    out = tmp_path / "out"
    argv = sub_argv(small, tiny_model_dir, out, "--executor", "slurm", "--slurm-cpus", "1",
                    "--slurm-time", "20")
    proc = _submit(argv, {**cli_env, **slurm_cluster})
    assert proc.returncode == 0, proc.stderr[-3000:]
    _check_records(out, reference[1], [])
    assert list((out / "slurm").iterdir())  # submitit's job folders


def _status(out, env) -> dict[str, tuple[str, str]]:
    """``negbench status OUT`` as run -> (state, detail)."""
    proc = subprocess.run([*CLI, "status", str(out)], env=env, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [[c.strip() for c in line.split("|")[1:4]] for line in proc.stdout.splitlines()
            if line.startswith("|") and "---" not in line]
    return {r[0]: (r[1], r[2]) for r in rows[1:]}


def _wait_for(check, what: str, timeout: float = 60):
    import time

    deadline = time.monotonic() + timeout
    while not (got := check()):
        assert time.monotonic() < deadline, what
        time.sleep(1)
    return got


@pytest.mark.scale
def test_slurm_cluster_options_no_wait_status_and_collect(reference, slurm_cluster, small,
                                                          tiny_model_dir, cli_env, tmp_path):
    """Account, QOS, setup lines and another sbatch option reach the job script Slurm runs
    (the setup line runs, the account is the job's); ``--no-wait`` returns at once with the
    jobs held (``--slurm-additional hold``); ``negbench status`` says pending, then failed
    for a job cancelled before it ran; the same command without --no-wait collects the job
    still queued (not submitted again), submits the cancelled run anew and writes the
    table; status then says done."""
    out = tmp_path / "out"
    env = {**cli_env, **slurm_cluster}
    argv = [a for a in sub_argv(small, tiny_model_dir, out, "--executor", "slurm",
                                "--slurm-cpus", "1", "--slurm-time", "20", "--slurm-account",
                                "negbench-acct", "--slurm-qos", "normal", "--slurm-setup",
                                "echo negbench-setup-ran", "--slurm-additional",
                                "comment=negbench-test") if a != "--quiet"]
    first = _submit(argv + ["--no-wait", "--slurm-additional", "hold"], env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "not awaited (--no-wait" in first.stdout and not (out / "table.md").exists()
    tasks = json.loads((out / "slurm" / "jobs.json").read_text())["tasks"]
    assert set(tasks) == {"random-seed13", "random-seed14"}
    script = next((out / "slurm").rglob("*_submission.sh")).read_text()
    for line in ("#SBATCH --account=negbench-acct", "#SBATCH --qos=normal",
                 "#SBATCH --comment=negbench-test", "#SBATCH --hold"):
        assert line in script.splitlines(), script
    assert script.index("echo negbench-setup-ran") < script.index("srun ")
    queue = subprocess.run(["squeue", "-h", "-r", "-o", "%i %a"], env=env, capture_output=True,
                           text=True, check=True).stdout
    assert f"{tasks['random-seed13']['job_id']} negbench-acct" in queue, queue
    assert {s for s, _ in _status(out, env).values()} == {"pending"}
    kept, cancelled = tasks["random-seed13"]["job_id"], tasks["random-seed14"]["job_id"]
    subprocess.run(["scancel", cancelled], env=env, check=True)
    now = _wait_for(lambda: (s := _status(out, env))["random-seed14"][0] == "failed" and s,
                    "the cancelled job never showed as failed")
    assert now["random-seed13"][0] == "pending"
    assert "ended without a result" in now["random-seed14"][1]
    subprocess.run(["scontrol", "release", kept], env=env, check=True)
    again = _submit(argv, env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"1 task(s) already submitted and not ended (job(s) {kept})" in again.stderr
    tasks = json.loads((out / "slurm" / "jobs.json").read_text())["tasks"]
    assert tasks["random-seed13"]["job_id"] == kept and tasks["random-seed14"]["job_id"] != \
        cancelled
    for key in ("random-seed13", "random-seed14"):
        assert f"Slurm task {key} (job {tasks[key]['job_id']}): done" in again.stderr
    _check_records(out, reference[1], [])
    assert {s for s, _ in _status(out, env).values()} == {"done"}
    logs = "".join(p.read_text() for p in (out / "slurm").rglob("*_log.out"))
    assert logs.count("negbench-setup-ran") == 2  # the setup line ran in each job


@pytest.mark.scale
def test_slurm_refusing_the_job_is_one_line(slurm_cluster, small, tiny_model_dir, cli_env,
                                            tmp_path):
    """A constraint no node offers: sbatch refuses the array, negbench says so in one line."""
    out = tmp_path / "out"
    argv = sub_argv(small, tiny_model_dir, out, "--executor", "slurm", "--slurm-constraint",
                    "no-such-feature")
    proc = _submit(argv, {**cli_env, **slurm_cluster})
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert proc.stderr.splitlines()[-1] == ("negbench: error: sbatch refused the job array: "
                                            "sbatch: error: Batch job submission failed: "
                                            "Invalid feature specification"), proc.stderr


def test_slurm_tasks_finished_meanwhile_are_not_resubmitted(reference, tmp_path):
    """A job collected from an earlier ``--no-wait`` may finish while the command waits for
    the zero-shot task: a run whose record of this grid's config is there now, or zero-shot
    rows written since the command started, are not submitted again."""
    import shutil

    from negbench.harness.pipeline.slurm_executor import SlurmExecutor
    from negbench.harness.pipeline.tasks import Resources

    out = tmp_path / "out"
    shutil.copytree(reference[0] / "records", out / "records")
    rec = json.loads((out / "records" / "random-seed13.json").read_text())
    fingerprint = rec["data_fingerprint"]
    ex = SlurmExecutor(out / "c.yaml", out, Resources(), grid={
        "random-seed13": rec["config_hash"], "random-seed14": "another config"},
        fingerprint=fingerprint)
    assert ex.finished_meanwhile("random-seed13")
    assert not ex.finished_meanwhile("random-seed14")  # a record of another config
    assert not ex.finished_meanwhile("in-batch-seed13")  # not of this grid
    assert not ex.finished_meanwhile("zero-shot")  # there before the command started
    for system in ("bm25", "model"):
        assert not ex.finished_meanwhile("zero-shot")  # one of the two rows still old
        path = out / "records" / f"zeroshot-{system}.json"
        fresh = path.with_suffix(".new")
        shutil.copy(path, fresh)
        fresh.replace(path)  # written anew, as a task writes it (atomically)
    assert ex.finished_meanwhile("zero-shot")


@pytest.mark.scale
def test_slurm_task_cancelled_mid_training_is_resumed(slurm_cluster, small, tiny_model_dir,
                                                      cli_env, tmp_path):
    """A real kill: ``scancel`` of the array while its task trains. The submitting command
    notices without Slurm accounting (the task left the queue without a result), fails in one
    line, and the same command again resumes the run after its mine stage."""
    import time

    out = tmp_path / "out"
    argv = [a for a in grid_argv(small, tiny_model_dir, out, "--no-zero-shot", "--steps", "60",
                                 "--executor", "slurm", "--slurm-cpus", "1")]
    i = argv.index("--samplers")
    argv[i + 1:i + 2], argv[i + 3] = ["random"], "13"
    env = {**cli_env, **slurm_cluster}
    progress = out / "work" / "random-seed13" / "train_progress.json"
    with open(tmp_path / "first.log", "w") as log:
        proc = subprocess.Popen(CLI + argv, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + 600
        while not (progress.exists() and json.loads(progress.read_text())["step"] >= 2):
            assert proc.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "training never started"
            time.sleep(0.5)
        jobs = subprocess.run(["squeue", "-h", "-o", "%A"], env=env, capture_output=True,
                              text=True, check=True).stdout.split()
        subprocess.run(["scancel", *sorted(set(jobs))], env=env, check=True)
        assert proc.wait(timeout=300) == 2, (tmp_path / "first.log").read_text()[-3000:]
    first = (tmp_path / "first.log").read_text()
    assert "1 of 1 slurm task(s) failed: random-seed13" in first, first[-3000:]
    assert json.loads(progress.read_text())["step"] < 60
    manifest = json.loads((out / "work" / "random-seed13" / "manifest.json").read_text())
    assert list(manifest["stages"]) == ["mine"]
    again = subprocess.run(CLI + argv, env=env, capture_output=True, text=True, check=False,
                           timeout=1200)
    assert again.returncode == 0, again.stderr[-3000:]
    rec = json.loads((out / "records" / "random-seed13.json").read_text())
    assert rec["resumed_stages"] == ["mine"] and rec["budget"]["steps"] == 60


def test_task_resources_follow_the_track(tmp_path, monkeypatch):
    """Query-side tasks ask for CPUs only, full-track (or CUDA) tasks for one GPU; a task is
    the same command on the resolved experiment; tasks get negbench's settings, not the rest
    of the environment."""
    from argparse import Namespace

    from negbench.harness.cli import build_parser
    from negbench.harness.pipeline.scale_out import (
        RayExecutor,
        SlurmExecutor,
        make_executor,
        task_env,
    )

    opts = {**vars(build_parser().parse_args(["run"])),
            "executor": "slurm", "isolate": False, "ray_address": "auto", "ray_cpus": 2,
            "ray_gpus": None, "slurm_partition": "gpu", "slurm_gpus": None, "slurm_cpus": 4,
            "slurm_mem": 16.0, "slurm_time": 30, "slurm_array_parallelism": 8}
    conf = tmp_path / "experiment.resolved.yaml"
    full = make_executor(Namespace(**opts), conf, tmp_path, "full", "cuda")
    assert isinstance(full, SlurmExecutor) and full.res.gpus == 1
    assert (full.res.partition, full.res.cpus, full.res.mem_gb) == ("gpu", 4, 16.0)
    cpu = make_executor(Namespace(**opts), conf, tmp_path, "query-side", "cpu")
    assert cpu.res.gpus == 0
    ray = make_executor(Namespace(**{**opts, "executor": "ray"}), conf, tmp_path, "full",
                        "cuda")
    assert isinstance(ray, RayExecutor) and (ray.res.cpus, ray.res.gpus) == (2, 1)
    assert ray.address == "auto"
    assert make_executor(Namespace(**{**opts, "executor": "local"}), conf, tmp_path,
                         "full", "cuda") is None
    assert cpu.argv("random-seed13") == ["run", "--config", str(conf.resolve()), "--output",
                                         str(tmp_path.resolve()), "--task", "random-seed13",
                                         "--executor", "local"]
    monkeypatch.setenv("NEGBENCH_CACHE", "/shared/cache")
    monkeypatch.setenv("SOME_TOKEN", "secret")
    env = task_env()
    assert env["NEGBENCH_CACHE"] == "/shared/cache" and "SOME_TOKEN" not in env


def test_default_workers_follow_the_layout_benchmark(monkeypatch):
    """``--workers`` not given: 2 on a CPU with 2+ cores whose threads the user left free,
    for the local executor without --isolate (benchmarks/worker_layout.py); 1 otherwise."""
    from negbench.harness.pipeline import scale_out
    from negbench.harness.training import query_side

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(query_side, "usable_cores", lambda: 2)
    assert scale_out.default_workers("local", "cpu", False) == 2
    assert scale_out.default_workers("local", "cpu", True) == 1
    assert scale_out.default_workers("local", "cuda", False) == 1
    assert scale_out.default_workers("ray", "cpu", False) == 1
    monkeypatch.setattr(query_side, "usable_cores", lambda: 1)
    assert scale_out.default_workers("local", "cpu", False) == 1
    monkeypatch.setattr(query_side, "usable_cores", lambda: 2)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert scale_out.default_workers("local", "cpu", False) == 1


def test_a_worker_takes_unclaimed_tasks_and_a_failure_does_not_stop_it(tmp_path):
    """The queue of ``--workers``: a task another worker claimed is left to it; a failing
    task is recorded (2: a one-line error, 1: a traceback, in its log) and the next runs."""
    import os

    from negbench.harness.errors import NegbenchError
    from negbench.harness.pipeline.task_queue import TaskQueue, serve

    queue = TaskQueue.create(tmp_path / "q", ["a", "b[x=1]", "c", "d"])
    assert queue.claim("c") and not queue.claim("c")  # another worker has c
    ran = []

    def one(task: str) -> None:
        ran.append(task)
        os.write(1, f"training {task}\n".encode())  # file descriptor 1: to the task's log
        if task == "b[x=1]":
            raise NegbenchError("bad negatives file")
        if task == "d":
            raise ValueError("a bug")

    assert serve(queue, one, tmp_path / "logs") == 0
    assert ran == ["a", "b[x=1]", "d"]
    assert queue.codes() == {"a": 0, "b[x=1]": 2, "d": 1}
    b = (tmp_path / "logs" / "b[x=1].log").read_text()
    assert "training b[x=1]" in b and "negbench: error: bad negatives file" in b
    assert "ValueError: a bug" in (tmp_path / "logs" / "d.log").read_text()
    assert serve(queue, one, tmp_path / "logs") == 0 and len(ran) == 3  # nothing left
