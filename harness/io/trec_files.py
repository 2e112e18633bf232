"""Strict readers for TREC run and qrels files (one-line errors naming file and line)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from negbench.harness.errors import NegbenchError, where
from negbench.harness.io import parse
from negbench.harness.io.atomic import write_text_atomic

if TYPE_CHECKING:
    from negbench.harness.data.collection import Qrels

# a ranked list: (doc id, score), best first
Hits = list[tuple[str, float]]


def sort_hits(hits: Hits) -> Hits:
    """trec_eval order: score descending, ties broken by doc id descending (deterministic)."""
    return sorted(hits, key=lambda h: (h[1], h[0]), reverse=True)

BOM = b"\xef\xbb\xbf"


def _rows(path: Path, ncols: tuple[int, ...]):
    """Yield (line number, columns) of a whitespace-separated file; CRLF ok, a BOM or bytes
    that are not UTF-8 rejected with the line number."""
    path = Path(path)
    if not path.is_file():
        raise NegbenchError(f"{path}: file not found")
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, 1):
            if raw.startswith(BOM):  # at line 1, or mid-file where two files were joined
                what = "file" if n == 1 else "line"
                raise NegbenchError(f"{where(path, n)}: {what} starts with a byte-order mark (BOM)")
            try:
                cols = raw.decode("utf-8").split()
            except UnicodeDecodeError:
                raise NegbenchError(f"{where(path, n)}: not valid UTF-8") from None
            if not cols:
                continue
            if len(cols) not in ncols:
                want = " or ".join(str(c) for c in ncols)
                raise NegbenchError(f"{where(path, n)}: expected {want} columns, got {len(cols)}")
            yield n, cols


def read_trec_run(path: Path) -> dict[str, Hits]:
    """``qid Q0 docid rank score tag`` -> {qid: [(docid, score)]} in trec_eval order.

    A doc listed twice for one query is an error (trec_eval would silently count it twice).
    """
    run: dict[str, dict[str, float]] = {}
    for n, (qid, _, did, _rank, score, *_tag) in _rows(path, (6,)):
        value = parse.score(score, where(path, n))
        hits = run.setdefault(qid, {})
        if did in hits:
            raise NegbenchError(f"{where(path, n)}: doc {did!r} appears twice for query {qid!r}")
        hits[did] = value
    if not run:
        raise NegbenchError(f"{path}: run file is empty")
    return {q: sort_hits(list(h.items())) for q, h in run.items()}


def read_trec_qrels(path: Path) -> Qrels:
    """``qid iter docid rel`` (the iteration column may be ``0`` or ``Q0``) -> {qid: {docid: rel}}."""
    qrels: Qrels = {}
    for n, (qid, _, did, rel) in _rows(path, (4,)):
        value = parse.relevance(rel, where(path, n))
        judged = qrels.setdefault(qid, {})
        if did in judged:
            raise NegbenchError(f"{where(path, n)}: query {qid!r} judges doc {did!r} twice")
        judged[did] = value
    if not qrels:
        raise NegbenchError(f"{path}: qrels file is empty")
    return qrels


def check_run_against_qrels(run: dict[str, Hits], qrels: Qrels, run_path: Path,
                            qrels_path: Path) -> None:
    """A run sharing no query with the qrels would score 0 everywhere: reject it by name."""
    judged = {q for q, j in qrels.items() if any(r >= 1 for r in j.values())}
    if not judged & set(run):
        sample = ", ".join(repr(q) for q in sorted(run)[:3])
        raise NegbenchError(f"{run_path}: no query in common with the qrels {qrels_path} "
                            f"(run queries start {sample})")


def write_trec_run(run: dict, path: Path, tag: str) -> None:
    """TREC run format: ``qid Q0 docid rank score tag``."""
    lines = []
    for q in sorted(run):
        for rank, (d, s) in enumerate(run[q], 1):
            lines.append(f"{q} Q0 {d} {rank} {s:.6f} {tag}\n")
    write_text_atomic("".join(lines), path)
