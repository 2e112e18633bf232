"""Data from ir_datasets: ``--suite irds:ID``, the staged suites' fallback on the ir_datasets
cache, and ``negbench data download`` without network. Real SciFact/NFCorpus files, seeded into
ir_datasets homes in tmp dirs (never ~/.ir_datasets); nothing is downloaded."""

from __future__ import annotations

import json
import time

import pytest
from reliability_helpers import cli, env, fails

from negbench.harness.data.fingerprint import data_fingerprint
from negbench.harness.errors import NegbenchError
from negbench.suites.loading import load_suite_data
from negbench.suites.registry import get_suite

TRAINED = "irds:beir/scifact/test,train=beir/scifact/train"
BEIR_URL = "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets"


def test_irds_suite_syntax(irds_home):
    s = get_suite(" irds:beir/scifact/test".strip())
    assert (s.name, s.corpus, s.train, s.test, s.dev, s.profile) == (
        "irds:beir/scifact/test", "beir/scifact", "", "beir/scifact/test", None, "beir")
    assert s.measures == ("nDCG@10", "RR@10", "R@100", "R@1000")
    # spaces and an explicit default profile: one canonical name (the record's suite)
    s = get_suite("irds:beir/scifact/test, train=beir/scifact/train ,profile=beir")
    assert s.name == TRAINED and s.train == "beir/scifact/train"
    assert get_suite(s.name) == s  # the name resolves back (export, report read it)
    s = get_suite("irds:beir/nfcorpus/test,train=beir/nfcorpus/train,dev=beir/nfcorpus/dev")
    assert (s.train, s.dev) == ("beir/nfcorpus/train", "beir/nfcorpus/dev")
    # another convention profile, or a suite whose profile and measures to take
    s = get_suite("irds:beir/nfcorpus/dev,profile=trec-dl")
    assert (s.profile, s.measures) == ("trec-dl", ("nDCG@10", "R@1000", "AP"))
    s = get_suite("irds:msmarco-passage/dev/small,profile=msmarco-passage/dev/small")
    assert (s.profile, s.measures, s.corpus) == ("msmarco", ("RR@10", "R@1000"),
                                                  "msmarco-passage")


@pytest.mark.parametrize("spec, message", [
    ("irds:beir/scifactt", ("unknown ir_datasets id 'beir/scifactt' in --suite "
                            "'irds:beir/scifactt'; did you mean 'beir/scifact'?")),
    ("irds:msmarco-passage/eval/small", "ir_datasets id 'msmarco-passage/eval/small' has no qrels"),
    ("irds:", "name an ir_datasets id after 'irds:'"),
    ("irds:beir/scifact/test,train=beir/nfcorpus/train",
     "train='beir/nfcorpus/train' has other documents (beir/nfcorpus) than 'beir/scifact/test'"),
    ("irds:beir/scifact/test,seed=1", "'seed=1' is not train=ID, dev=ID or profile=NAME"),
    ("irds:beir/scifact/test,train=beir/scifact/train,train=beir/scifact/train",
     "train= is given twice"),
    ("irds:beir/scifact/test,profile=bier", "unknown profile 'bier'"),
    ("antique/test", "an ir_datasets id? use --suite irds:antique/test"),
    ("beir/scifact/test", "or --suite irds:beir/scifact/test to evaluate on that split"),
])
def test_irds_suite_errors(irds_home, spec, message):
    with pytest.raises(NegbenchError) as exc:
        get_suite(spec)
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_irds_suites_read_the_staged_data_and_are_fingerprinted(irds_home, data_dir, scifact):
    """ids backed by the staged files; the data fingerprint covers them like any suite."""
    trained = load_suite_data(get_suite(TRAINED), data_dir)
    assert len(trained.train.qrels) == 809 and len(trained.test.qrels) == 300
    assert len(trained.corpus) == 5183
    assert data_fingerprint(trained) == data_fingerprint(scifact)  # same data, same print
    eval_only = load_suite_data(get_suite("irds:beir/scifact/test"), data_dir)
    assert eval_only.test.qrels == scifact.test.qrels
    assert data_fingerprint(eval_only) != data_fingerprint(scifact)  # no training split
    with pytest.raises(NegbenchError, match="has no training split .add ,train=ID"):
        eval_only.train.positives()
    dev = load_suite_data(get_suite("irds:beir/nfcorpus/dev"), data_dir)
    assert len(dev.corpus) == 3633 and len(dev.test.qrels) == 324
    assert sum(map(len, dev.test.qrels.values())) == 11385
    assert data_fingerprint(dev) not in (data_fingerprint(eval_only), data_fingerprint(scifact))


def _run_file(path, data) -> None:
    """A deterministic TREC run over the SciFact test queries: one unjudged doc, then the
    judged ones (so nDCG@10 and RR@10 are neither 0 nor 1)."""
    docs = sorted(data.corpus.ids)
    lines = []
    for n, (qid, judged) in enumerate(sorted(data.test.qrels.items())):
        ranked = [docs[n]] + sorted(judged)
        lines += [f"{qid} Q0 {d} {r} {100 - r} t" for r, d in enumerate(ranked, 1)]
    path.write_text("\n".join(lines) + "\n")


def test_cli_eval_and_zero_shot_on_an_irds_suite(tmp_path, scifact, cli_env, tiny_model_dir):
    run = tmp_path / "run.trec"
    _run_file(run, scifact)
    tables = []
    for suite in ("beir/scifact", "irds:beir/scifact/test"):
        proc = cli(["eval", "--suite", suite, "--run", run], cli_env)
        assert proc.returncode == 0, proc.stderr[-2000:]
        tables.append(proc.stdout.split("\n\n")[0])
    assert tables[0] == tables[1] and "nDCG@10" in tables[0]
    # a zero-shot record on an irds suite names the suite and its data fingerprint
    out = tmp_path / "zs"
    proc = cli(["zero-shot", "--suite", TRAINED, "--systems", "model", "--model",
                tiny_model_dir, "--budget", "smoke", "--output", out, "--quiet"], cli_env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rec = json.loads((out / "records" / "zeroshot-model.json").read_text())
    assert rec["suite"] == TRAINED and rec["data_fingerprint"] == data_fingerprint(scifact)
    # training needs a training split: one line, nothing written
    fails(["run", "--suite", "irds:beir/scifact/test", "--samplers", "random", "--model",
           tiny_model_dir, "--output", tmp_path / "none"], cli_env,
          "has no training split (add ,train=ID to --suite to name one)",
          output=tmp_path / "none")


def test_cli_bad_irds_ids_are_one_line_errors(tmp_path, cli_env):
    run = tmp_path / "run.trec"
    run.write_text("1 Q0 d 1 1.0 t\n")
    fails(["eval", "--suite", "irds:beir/scifactt", "--run", run], cli_env,
          "unknown ir_datasets id 'beir/scifactt'", "did you mean 'beir/scifact'?")
    fails(["data", "download", "irds:msmarco-passage/eval/small"], cli_env,
          "has no qrels; --suite irds:ID needs an id with docs, queries and qrels")


def test_staged_suite_falls_back_on_the_ir_datasets_cache(tmp_path, data_dir, cache_dir):
    """No staged folder: a cache that has the dataset is read; neither: one line saying what
    to place where (staged layout or the ir_datasets file), at once."""
    home, nowhere = tmp_path / "irds", tmp_path / "no-data"
    ok = env(home, cache_dir, NEGBENCH_DATA=str(data_dir))
    absent = env(home, cache_dir, NEGBENCH_DATA=str(nowhere), NEGBENCH_OFFLINE="1")
    err = fails(["data", "download", "beir/scifact"], absent,
                f"{nowhere / 'beir-scifact'} (set $NEGBENCH_DATA or --data-root",
                "corpus.jsonl, queries.jsonl, qrels/train.tsv, qrels/test.tsv",
                f"BEIR/datasets/scifact.zip at {home / 'beir' / 'scifact' / 'source.zip'}")
    assert "no network ($NEGBENCH_OFFLINE is set)" in err
    assert cli(["data", "seed"], ok).returncode == 0  # the cache now has SciFact
    proc = cli(["data", "download", "beir/scifact"], absent)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("beir/scifact: ready: 5,183 docs; train 809 queries / 919 "
                                  "judgements; test 300 queries / 339 judgements")
    proc = cli(["suites"], {**absent, "COLUMNS": "1000"})  # a wide terminal: rows unwrapped
    assert "present (ir_datasets cache; staged files absent)" in proc.stdout
    run = tmp_path / "run.trec"
    run.write_text("1 Q0 31715818 1 1.0 t\n")
    staged = cli(["eval", "--suite", "beir/scifact", "--run", run], ok)
    cached = cli(["eval", "--suite", "beir/scifact", "--run", run], absent)
    assert staged.returncode == cached.returncode == 0, cached.stderr[-2000:]
    assert staged.stdout == cached.stdout


def test_data_download_offline_names_the_files_and_does_not_hang(tmp_path, cache_dir):
    """The real offline path: the network probe (bounded by $NEGBENCH_NET_TIMEOUT) fails here,
    so the command fails within seconds with one line; ``$NEGBENCH_OFFLINE=1`` skips the probe.
    """
    from negbench.harness.data.irds_fetch import network_problem

    home = tmp_path / "irds"
    base = env(home, cache_dir, NEGBENCH_NET_TIMEOUT="3")
    if network_problem(["https://public.ukp.informatik.tu-darmstadt.de/"]) is None:
        pytest.skip("the network is up here: `data download` would really download")
    start = time.monotonic()
    err = fails(["data", "download", "beir/fiqa"], base,
                "beir/fiqa: data not found and no network (",
                f"place https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/"
                f"fiqa.zip at {home / 'beir' / 'fiqa' / 'source.zip'}")
    assert time.monotonic() - start < 60, err
    err = fails(["data", "download", "irds:antique/test,train=antique/train"],
                dict(base, NEGBENCH_OFFLINE="1"), "antique: data not found and no network "
                "($NEGBENCH_OFFLINE is set)", f"antique-collection.txt at {home / 'antique'}")
    for name in ("collection.tsv", "train/queries.txt", "train/qrels", "test/queries.txt",
                 "test/qrels"):
        assert str(home / "antique" / name) in err, err
    assert not (home / "beir" / "fiqa" / "source.zip").exists()


def test_network_probe_is_bounded(monkeypatch):
    """The probe answers within its timeout whatever the network does, even when name
    resolution hangs; the switch answers without probing."""
    import socket

    from negbench.harness.data.irds_fetch import network_problem

    monkeypatch.setenv("NEGBENCH_NET_TIMEOUT", "0.5")
    monkeypatch.delenv("NEGBENCH_OFFLINE", raising=False)
    assert network_problem(["https://negbench-probe.invalid/file.zip"]).startswith(
        "negbench-probe.invalid: ")
    assert network_problem(["ftp://example.org/x"]) == "no http(s) source to download from"
    getaddrinfo = socket.getaddrinfo

    def stalled(*args, **kwargs):
        time.sleep(5)
        return getaddrinfo(*args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", stalled)
    start = time.monotonic()
    assert network_problem(["https://negbench-probe.invalid/x"]) == \
        "no answer from negbench-probe.invalid within 0.5 s"
    assert time.monotonic() - start < 3
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setenv("NEGBENCH_OFFLINE", "1")
    assert network_problem(["https://negbench-probe.invalid/"]) == "$NEGBENCH_OFFLINE is set"
    monkeypatch.setenv("NEGBENCH_NET_TIMEOUT", "soon")
    monkeypatch.delenv("NEGBENCH_OFFLINE")
    with pytest.raises(NegbenchError, match="NEGBENCH_NET_TIMEOUT='soon': expected a number"):
        network_problem(["https://negbench-probe.invalid/"])


def test_download_branch_fetches_through_ir_datasets(irds_home, data_dir, monkeypatch):
    """Where the network allows, a missing file is fetched by ir_datasets' own ``Download``
    into its cache path, then read. No network here, so the HTTP transfer itself is replaced
    by the bytes of a zip built from the staged SciFact files (served as `beir/fiqa`, whose
    md5 check is skipped); everything else is the real code path."""
    import contextlib
    import io
    import shutil
    import zipfile

    from ir_datasets import util as irds_util
    from ir_datasets.util.download import RequestsDownload

    from negbench.harness.data import irds_fetch

    src, buf = data_dir / "beir-scifact", io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for member, path in [("corpus.jsonl", "corpus.jsonl"), ("queries.jsonl", "queries.jsonl"),
                             ("qrels/train.tsv", "qrels/train.tsv"),
                             ("qrels/dev.tsv", "qrels/test.tsv"), ("qrels/test.tsv", "qrels/test.tsv")]:
            zf.write(src / path, f"fiqa/{member}")
    fetched = []

    @contextlib.contextmanager
    def transfer(self):
        fetched.append(self.url)
        yield io.BytesIO(buf.getvalue())

    monkeypatch.setattr(RequestsDownload, "stream", transfer)
    monkeypatch.setattr(irds_util, "HashStream", lambda stream, *args, **kwargs: stream)
    monkeypatch.setattr(irds_fetch, "network_problem", lambda urls: None)
    try:
        data = load_suite_data(get_suite("beir/fiqa"), data_dir)
        assert fetched == [f"{BEIR_URL}/fiqa.zip"]
        assert (irds_home / "beir" / "fiqa" / "source.zip").is_file()
        assert len(data.corpus) == 5183 and len(data.train.qrels) == 809
        assert len(data.test.qrels) == 300 and data.dev is not None
        # read again: from the cache, nothing fetched
        load_suite_data(get_suite("beir/fiqa"), data_dir)
        assert len(fetched) == 1
    finally:
        shutil.rmtree(irds_home / "beir" / "fiqa", ignore_errors=True)


def test_python_api_on_an_irds_suite(tiny_model_dir, tmp_path, cache_dir, irds_home,
                                     monkeypatch):
    """``negbench.mine`` takes the same suite strings: the same 919 training pairs as
    ``beir/scifact``; an evaluation-only suite is a NegbenchError."""
    import negbench

    monkeypatch.setenv("NEGBENCH_CACHE", str(cache_dir))
    rows = negbench.mine(TRAINED, "random", tmp_path / "m", params={"num_negatives": 1},
                         model=str(tiny_model_dir), quiet=True)
    assert len(rows) == 919
    with pytest.raises(NegbenchError, match="has no training split"):
        negbench.mine("irds:beir/scifact/test", "random", tmp_path / "none",
                      model=str(tiny_model_dir), quiet=True)
