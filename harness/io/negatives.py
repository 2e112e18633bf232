"""The negatives file: JSONL, one line per (query, positive) pair, sha256 for provenance."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from negbench.harness.errors import NegbenchError, where
from negbench.harness.io import parse
from negbench.harness.io.atomic import atomic_file
from negbench.harness.io.digest import sha256_file

if TYPE_CHECKING:
    from negbench.harness.data.collection import Corpus


@dataclass(frozen=True)
class NegativeRow:
    """Negatives for one (query, positive) training pair, hardest/most preferred first."""

    query_id: str
    positive_id: str
    negative_ids: tuple[str, ...]
    negative_texts: tuple[str, ...] = ()  # generated negatives (texts not in the corpus)


def write_negatives(rows: list[NegativeRow], path: Path) -> str:
    """Write rows sorted by (query, positive) atomically; returns the file's sha256."""
    path = Path(path)
    with atomic_file(path, "w", encoding="utf-8", newline="\n") as fh:
        for r in sorted(rows, key=lambda r: (r.query_id, r.positive_id)):
            obj = {"query_id": r.query_id, "positive_id": r.positive_id,
                   "negative_ids": list(r.negative_ids)}
            if getattr(r, "negative_texts", ()):  # generated negatives (not corpus docs)
                obj["negative_texts"] = list(r.negative_texts)
            fh.write(json.dumps(obj, ensure_ascii=False))
            fh.write("\n")
    return sha256_file(path)


def read_negatives(path: Path, corpus: Corpus | None = None,
                   exclude: dict[str, set[str]] | None = None,
                   require_negatives: bool = False) -> list[NegativeRow]:
    """Read a negatives file; a malformed line (``parse`` grammar: string ids without
    whitespace, lists of ids/texts, valid UTF-8), a (query, positive) pair listed twice and,
    with ``corpus``/``exclude`` given, any row failing ``row_problem`` is an error naming the
    line. ``require_negatives``: a row without any negative is an error too (a user's file)."""
    path = Path(path)
    if not path.is_file():
        raise NegbenchError(f"{path}: file not found")
    rows, seen = [], set()
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            row = _row(raw, where(path, n), require_negatives)
            if (row.query_id, row.positive_id) in seen:
                raise NegbenchError(f"{where(path, n)}: pair ({row.query_id!r}, "
                                    f"{row.positive_id!r}) is listed twice")
            seen.add((row.query_id, row.positive_id))
            if corpus is not None:
                problem = row_problem(row, corpus, exclude or {})
                if problem:
                    raise NegbenchError(f"{where(path, n)}: {problem}")
            rows.append(row)
    if not rows:
        raise NegbenchError(f"{path}: negatives file is empty")
    return rows


def _row(raw: bytes, loc: str, require_negatives: bool) -> NegativeRow:
    """One line of a negatives file."""
    shape = ("expected a JSON object: needs query_id and positive_id and a list "
             "negative_ids and/or negative_texts")
    try:
        obj = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise NegbenchError(f"{loc}: not valid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise NegbenchError(f"{loc}: {shape}; invalid JSON ({exc.msg})") from None
    if not isinstance(obj, dict) or not {"query_id", "positive_id"} <= set(obj) or not (
            "negative_ids" in obj or "negative_texts" in obj) or not all(
            isinstance(obj.get(k, []), list) for k in ("negative_ids", "negative_texts")):
        raise NegbenchError(f"{loc}: {shape}")
    negs = parse.text_list(obj.get("negative_ids", []), "negative_ids", loc, ids=True)
    texts = parse.text_list(obj.get("negative_texts", []), "negative_texts", loc)
    if any(not t.strip() for t in texts):
        raise NegbenchError(f"{loc}: empty generated negative text")
    if require_negatives and not (negs or texts):
        raise NegbenchError(f"{loc}: negative_ids / negative_texts are both empty")
    return NegativeRow(parse.identifier(obj["query_id"], "query_id", loc),
                       parse.identifier(obj["positive_id"], "positive_id", loc), negs,
                       *((texts,) if texts else ()))


def row_problem(r: NegativeRow, corpus: Corpus, exclude: dict[str, set[str]]) -> str | None:
    """Why a row cannot be trained on (unknown doc, positive not judged, negative that is a
    judged positive), or None."""
    if r.positive_id not in corpus.docs:
        return f"unknown positive doc id {r.positive_id!r}"
    if r.positive_id not in exclude.get(r.query_id, ()):
        return f"doc {r.positive_id!r} is not a judged positive of query {r.query_id!r}"
    for d in r.negative_ids:
        if d not in corpus.docs:
            return f"unknown negative doc id {d!r}"
        if d == r.positive_id or d in exclude.get(r.query_id, ()):
            return f"negative {d!r} is a judged positive of query {r.query_id!r}"
    return None


def check_negatives(rows: list[NegativeRow], corpus: Corpus, exclude: dict[str, set[str]],
                    source: str = "negatives") -> None:
    """Reject rows with unknown docs, unjudged positives or negatives that are judged positives."""
    for n, r in enumerate(rows, 1):
        problem = row_problem(r, corpus, exclude)
        if problem:
            raise NegbenchError(f"{source} row {n}: {problem}")
