"""Several processes writing into one folder (array-job tasks, Ray workers, two commands
seeding one ir_datasets cache): unique temporary names, locks, and only abandoned
temporaries cleaned up."""

from __future__ import annotations

import gzip
import json
import multiprocessing as mp
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from negbench.harness.io.atomic import file_lock, is_stale_temp, mkstemp_beside, write_text_atomic
from negbench.harness.pipeline.grid import remove_stale_temp_files


def _seed_and_read(home: str, root: str, barrier, results) -> None:
    """One process: seed every staged collection into ``home`` and read SciFact back."""
    os.environ["IR_DATASETS_HOME"] = home  # before ir_datasets is imported in this process
    from negbench.harness.data.irds import load_corpus, load_split, seed_all

    barrier.wait(timeout=120)  # both processes seed at the same moment
    seed_all(Path(root))
    corpus = load_corpus("beir/scifact")
    test = load_split("beir/scifact/test", corpus)
    results.put((len(corpus), len(test.queries), sum(map(len, test.qrels.values()))))


def test_two_processes_seed_one_cache_at_once(tmp_path, data_dir):
    ctx = mp.get_context("spawn")
    for round_ in range(2):
        home = tmp_path / f"irds-{round_}"
        barrier, results = ctx.Barrier(2), ctx.Queue()
        procs = [ctx.Process(target=_seed_and_read, args=(str(home), str(data_dir), barrier,
                                                          results)) for _ in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(300)
        assert [p.exitcode for p in procs] == [0, 0]
        counts = [results.get(timeout=5) for _ in procs]
        assert counts[0] == counts[1] and counts[0][0] == 5183 and counts[0][1] == 300

        # every seeded file is whole, and no temporary is left behind
        assert not [p for p in home.rglob("*") if p.name.endswith(".tmp")]
        for name in ("scifact", "nfcorpus"):
            folder = home / "beir" / name
            with zipfile.ZipFile(folder / "source.zip") as zf:
                assert zf.testzip() is None
                staged = data_dir / f"beir-{name}" / "corpus.jsonl"
                assert zf.read(f"{name}/corpus.jsonl") == staged.read_bytes()
            assert json.loads((folder / "negbench-source.json").read_text())["sha256"]
        gz = home / "msmarco-passage" / "trec-dl-2020" / "queries.tsv.gz"
        staged = data_dir / "msmarco-passage" / "topics.dl20.txt"
        assert gzip.decompress(gz.read_bytes()) == staged.read_bytes()
        dev = home / "msmarco-passage" / "dev" / "small" / "qrels"
        assert dev.read_bytes() == (data_dir / "msmarco-passage" /
                                    "qrels.msmarco-passage.dev-subset.txt").read_bytes()


def test_temporaries_are_unique_and_name_their_writer(tmp_path):
    dst = tmp_path / "records" / "x.json"
    (fd1, a), (fd2, b) = mkstemp_beside(dst), mkstemp_beside(dst)
    os.close(fd1), os.close(fd2)
    assert a != b and a.name.startswith("x.json~") and f"~{os.getpid()}~" in a.name
    write_text_atomic("{}", dst)
    assert dst.read_text() == "{}" and oct(dst.stat().st_mode & 0o777) == "0o644"


def test_cleanup_keeps_a_live_writers_temporaries(tmp_path):
    """A shard starting in a folder where another shard is writing removes only temporaries
    of dead writers (and unnamed old ones once they are old)."""
    out = tmp_path / "out"
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    try:
        records = out / "records"
        records.mkdir(parents=True)
        fd, mine = mkstemp_beside(records / "a.json")
        os.close(fd)
        host = mine.name.split("~")[1]
        other = records / f"b.json~{host}~{live.pid}~abcd1234.tmp"
        gone = records / f"c.json~{host}~{int(dead.stdout)}~abcd1234.tmp"
        old_style = records / "tmpabcd1234.tmp"
        for p in (other, gone, old_style):
            p.write_text("partial")
        os.utime(old_style, (0, 0))  # untouched since 1970
        fresh_old_style = records / "tmpefgh5678.tmp"
        fresh_old_style.write_text("partial")
        removed = set(remove_stale_temp_files(out))
        assert removed == {gone, old_style}
        assert mine.exists() and other.exists() and fresh_old_style.exists()
        assert not is_stale_temp(mine)
    finally:
        live.kill()
        live.wait()


def _hold(path: str, seconds: float, log: str) -> None:
    import time

    with file_lock(Path(path)):
        with open(log, "a") as fh:
            fh.write(f"in {os.getpid()}\n")
        time.sleep(seconds)
        with open(log, "a") as fh:
            fh.write(f"out {os.getpid()}\n")


def test_file_lock_excludes_processes_and_reenters_in_one(tmp_path):
    lock, log = tmp_path / "x.lock", tmp_path / "log"
    with file_lock(lock), file_lock(lock):  # re-entrant: no deadlock in one process
        pass
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_hold, args=(str(lock), 0.5, str(log))) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    lines = log.read_text().split()
    events = list(zip(lines[::2], lines[1::2]))
    # strictly nested: in A, out A, in B, out B, ...
    assert [e[0] for e in events] == ["in", "out"] * 3
    assert all(events[i][1] == events[i + 1][1] for i in range(0, 6, 2))


def test_a_lock_wait_names_its_holder_and_gives_up_after_the_timeout(tmp_path, monkeypatch,
                                                                     caplog):
    """Another process holds the lock: the waiter says who (pid, host, since when) and, past
    NEGBENCH_LOCK_TIMEOUT, gives up with a one-line error naming the holder."""
    import logging
    import time

    from negbench.harness.errors import NegbenchError

    lock, log = tmp_path / "y.lock", tmp_path / "log"
    holder = mp.get_context("spawn").Process(target=_hold, args=(str(lock), 4.0, str(log)))
    holder.start()
    try:
        deadline = time.monotonic() + 60
        while not (log.exists() and "in" in log.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        monkeypatch.setenv("NEGBENCH_LOCK_TIMEOUT", "0.5")
        with (caplog.at_level(logging.WARNING, logger="negbench"),
              pytest.raises(NegbenchError, match=f"held by pid {holder.pid} on "),
              file_lock(lock)):
            pass
        assert f"held by pid {holder.pid}" in caplog.text and "since" in caplog.text
        monkeypatch.setenv("NEGBENCH_LOCK_TIMEOUT", "60")
        with file_lock(lock):  # waits for the holder, then takes it
            assert "out" in log.read_text()
    finally:
        holder.join(60)
    monkeypatch.setenv("NEGBENCH_LOCK_TIMEOUT", "soon")
    with pytest.raises(NegbenchError, match="NEGBENCH_LOCK_TIMEOUT"):
        from negbench.harness.io.atomic import lock_timeout

        lock_timeout()
