"""Read a local BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv) with strict checks."""

from __future__ import annotations

import json
from pathlib import Path

from negbench.harness.data.collection import Corpus, Split, check_doc, validate_split
from negbench.harness.data.paths import path_kind, require
from negbench.harness.errors import NegbenchError, where
from negbench.harness.io import parse

BOM = "\ufeff"


def _lines(path: Path):
    """Yield (line number, line) with CRLF accepted; a BOM or bytes that are not UTF-8 are
    rejected with the line number."""
    require(path, "file")
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise NegbenchError(f"{where(path, n)}: not valid UTF-8") from None
            if n == 1 and line.startswith(BOM):
                raise NegbenchError(f"{where(path, 1)}: file starts with a byte-order mark (BOM)")
            line = line.rstrip("\r\n")
            if line.strip():
                yield n, line


class _DuplicateKey(ValueError):
    """A key given twice in one JSON object (``json`` alone keeps the last value)."""


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    """``json`` ``object_pairs_hook``: the object, refusing a key given twice."""
    obj: dict = {}
    for k, v in pairs:
        if k in obj:
            raise _DuplicateKey(f"key {k!r} given twice in one object")
        obj[k] = v
    return obj


def _json(path: Path, n: int, line: str) -> dict:
    try:
        obj = json.loads(line, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise NegbenchError(f"{where(path, n)}: invalid JSON ({exc.msg})") from None
    except _DuplicateKey as exc:
        raise NegbenchError(f"{where(path, n)}: {exc}") from None
    if not isinstance(obj, dict) or "_id" not in obj:
        raise NegbenchError(f"{where(path, n)}: expected an object with an '_id' field")
    return obj


def read_corpus(path: Path) -> Corpus:
    docs: dict = {}
    for n, line in _lines(path):
        obj, loc = _json(path, n, line), where(path, n)
        did = parse.identifier(obj["_id"], "doc id", loc)
        docs[did] = check_doc(did, parse.text(obj.get("title"), "title", loc, optional=True),
                              parse.text(obj.get("text", ""), "text", loc), docs, loc)
    if not docs:
        raise NegbenchError(f"{path}: corpus is empty")
    return Corpus(docs, source=str(path))


def read_queries(path: Path) -> dict[str, str]:
    queries: dict[str, str] = {}
    for n, line in _lines(path):
        obj, loc = _json(path, n, line), where(path, n)
        qid = parse.identifier(obj["_id"], "query id", loc)
        if qid in queries:
            raise NegbenchError(f"{loc}: duplicate query id {qid!r}")
        text = parse.text(obj.get("text", ""), "query text", loc).strip()
        if not text:
            raise NegbenchError(f"{where(path, n)}: query {qid!r} has empty text")
        queries[qid] = text
    return queries


def read_qrels_tsv(path: Path, queries: dict | None = None,
                   docs: dict | None = None) -> dict[str, dict[str, int]]:
    """BEIR qrels: ``query-id<TAB>corpus-id<TAB>score`` with an optional header line.

    With ``queries``/``docs`` given, an id missing from them is an error naming the line; a
    (query, doc) pair judged twice is always an error (which judgement would count?).
    """
    qrels: dict[str, dict[str, int]] = {}
    for n, line in _lines(path):
        cols = line.split("\t")
        if n == 1 and cols[0].strip().lower() in ("query-id", "query_id", "qid"):
            continue
        if len(cols) != 3:
            raise NegbenchError(f"{where(path, n)}: expected 3 tab-separated columns, got {len(cols)}")
        qid, did, score = (c.strip() for c in cols)
        loc = where(path, n)
        qid, did = parse.identifier(qid, "query id", loc), parse.identifier(did, "doc id", loc)
        rel = parse.relevance(score, loc)
        if queries is not None and qid not in queries:
            raise NegbenchError(f"{where(path, n)}: qrels name query id {qid!r} that is not in "
                                "the queries")
        if docs is not None and did not in docs:
            raise NegbenchError(f"{where(path, n)}: qrels name doc id {did!r} that is not in the "
                                "corpus")
        judged = qrels.setdefault(qid, {})
        if did in judged:
            raise NegbenchError(f"{where(path, n)}: query {qid!r} judges doc {did!r} twice")
        judged[did] = rel
    return qrels


def load_beir_folder(folder: Path, split: str, corpus: Corpus | None = None) -> tuple[Corpus, Split]:
    """Load one split of a BEIR-format folder, validated."""
    folder = Path(folder)
    require(folder, "folder", "BEIR folder")
    qrels_path = folder / "qrels" / f"{split}.tsv"
    if path_kind(qrels_path) != "nothing":
        require(qrels_path, "file")
    else:
        have = sorted(p.stem for p in (folder / "qrels").glob("*.tsv"))
        raise NegbenchError(f"{qrels_path}: no qrels for split {split!r} (available: {have})")
    corpus = corpus or read_corpus(folder / "corpus.jsonl")
    queries = read_queries(folder / "queries.jsonl")
    qrels = read_qrels_tsv(qrels_path, queries, corpus.docs)
    sp = Split(split, queries, qrels, str(qrels_path))
    validate_split(corpus, sp)
    sp.queries = {q: queries[q] for q in qrels}
    return corpus, sp
