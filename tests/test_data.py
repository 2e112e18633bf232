"""Loaders on the real staged data, and the one-line errors for malformed BEIR folders."""

from __future__ import annotations

import json
import shutil

import pytest

from negbench.harness.data.beir_folder import load_beir_folder, read_qrels_tsv
from negbench.harness.errors import NegbenchError


def test_irds_scifact_counts_match_manifest(scifact):
    assert len(scifact.corpus) == 5183
    assert len(scifact.train.queries) == 809
    assert sum(len(v) for v in scifact.train.qrels.values()) == 919
    assert len(scifact.test.queries) == 300
    assert sum(len(v) for v in scifact.test.qrels.values()) == 339


def test_beir_folder_equals_irds(scifact, data_dir):
    corpus, test = load_beir_folder(data_dir / "beir-scifact", "test")
    assert corpus.fingerprint() == scifact.corpus.fingerprint()
    assert test.qrels == scifact.test.qrels
    assert test.queries == scifact.test.queries


def test_crlf_qrels_are_read(data_dir):
    raw = (data_dir / "beir-scifact" / "qrels" / "test.tsv").read_bytes()
    assert b"\r\n" in raw  # the staged file really is CRLF
    qrels = read_qrels_tsv(data_dir / "beir-scifact" / "qrels" / "test.tsv")
    assert all("\r" not in d for judged in qrels.values() for d in judged)
    assert sum(len(v) for v in qrels.values()) == 339


@pytest.fixture()
def small_beir(tmp_path, data_dir):
    """A copy of real SciFact with the corpus cut to the docs judged in test (for speed)."""
    src = data_dir / "beir-scifact"
    dst = tmp_path / "sf"
    (dst / "qrels").mkdir(parents=True)
    qrels = (src / "qrels" / "test.tsv").read_text().splitlines()[1:]
    keep = {line.split("\t")[1] for line in qrels}
    with open(src / "corpus.jsonl") as fi, open(dst / "corpus.jsonl", "w") as fo:
        fo.writelines(line for line in fi if json.loads(line)["_id"] in keep)
    shutil.copy(src / "queries.jsonl", dst / "queries.jsonl")
    shutil.copy(src / "qrels" / "test.tsv", dst / "qrels" / "test.tsv")
    return dst


def _append(path, text):
    with open(path, "a", newline="") as fh:
        fh.write(text)


@pytest.mark.parametrize("corrupt, message", [
    (lambda d: _append(d / "qrels" / "test.tsv", "1\t999999999\t1\r\n"), "not in the corpus"),
    (lambda d: _append(d / "qrels" / "test.tsv", "nope-q\t31715818\t1\r\n"), "not in the queries"),
    (lambda d: _append(d / "qrels" / "test.tsv", "1\t31715818\r\n"), "3 tab-separated columns"),
    (lambda d: _append(d / "qrels" / "test.tsv", "1\t31715818\thigh\r\n"), "not an integer"),
    (lambda d: _append(d / "corpus.jsonl", (d / "corpus.jsonl").read_text().splitlines()[0]
                       + "\n"), "duplicate doc id"),
    (lambda d: _append(d / "corpus.jsonl", '{"_id": "new", "title": "", "text": "  "}\n'),
     "empty text"),
    (lambda d: _append(d / "corpus.jsonl", '{"_id": "broken"\n'), "invalid JSON"),
    (lambda d: (d / "qrels" / "test.tsv").write_bytes(
        b"\xef\xbb\xbf" + (d / "qrels" / "test.tsv").read_bytes()), "byte-order mark"),
])
def test_bad_beir_folder_gives_one_line_error(small_beir, corrupt, message):
    load_beir_folder(small_beir, "test")  # the clean copy loads
    corrupt(small_beir)
    with pytest.raises(NegbenchError) as exc:
        load_beir_folder(small_beir, "test")
    assert message in str(exc.value)
    assert "\n" not in str(exc.value)
    assert str(small_beir) in str(exc.value)
