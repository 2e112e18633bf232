"""In-memory retrieval data (corpus, queries, qrels) and the checks every loader applies."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from negbench.harness.errors import NegbenchError

Qrels = dict[str, dict[str, int]]


@dataclass(frozen=True)
class Doc:
    """A document; ``text`` is what models see (BEIR "flat": title + " " + body)."""

    doc_id: str
    title: str
    body: str

    @property
    def text(self) -> str:
        return f"{self.title} {self.body}".strip() if self.title else self.body.strip()


@dataclass
class Split:
    """Queries and qrels of one split over a shared corpus."""

    name: str
    queries: dict[str, str]
    qrels: Qrels
    source: str = ""

    def positives(self, min_rel: int = 1) -> dict[str, list[str]]:
        """Judged relevant doc ids per query (relevance >= ``min_rel``), sorted for determinism."""
        out = {}
        for qid, judged in self.qrels.items():
            pos = sorted(d for d, r in judged.items() if r >= min_rel)
            if pos:
                out[qid] = pos
        return out


@dataclass
class Corpus:
    """Documents by id, in a fixed (sorted) order used for every index."""

    docs: dict[str, Doc]
    source: str = ""
    _ids: list[str] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if not self._ids:
            self._ids = sorted(self.docs)

    @property
    def ids(self) -> list[str]:
        return self._ids

    def texts(self) -> list[str]:
        return [self.docs[d].text for d in self._ids]

    def fingerprint(self) -> str:
        """sha256 over ids and texts: identifies the corpus in caches and provenance."""
        h = hashlib.sha256()
        for d in self._ids:
            h.update(d.encode())
            h.update(b"\0")
            h.update(self.docs[d].text.encode())
            h.update(b"\0")
        return h.hexdigest()

    def __len__(self) -> int:
        return len(self.docs)


def validate_split(corpus: Corpus, split: Split) -> None:
    """Raise a one-line NegbenchError when qrels name unknown ids or texts are empty."""
    where = split.source or split.name
    if not split.qrels:
        raise NegbenchError(f"{where}: qrels are empty")
    for qid, judged in split.qrels.items():
        if qid not in split.queries:
            raise NegbenchError(f"{where}: qrels name query id {qid!r} that is not in the queries")
        for did in judged:
            if did not in corpus.docs:
                raise NegbenchError(f"{where}: qrels name doc id {did!r} that is not in the corpus")
    for qid in split.qrels:
        if not split.queries[qid].strip():
            raise NegbenchError(f"{where}: query {qid!r} has empty text")


def check_doc(doc_id: str, title: str, body: str, seen: dict, where: str) -> Doc:
    """Build a Doc, rejecting duplicate ids and empty texts with a one-line error."""
    if not doc_id:
        raise NegbenchError(f"{where}: document without an id")
    if doc_id in seen:
        raise NegbenchError(f"{where}: duplicate doc id {doc_id!r}")
    doc = Doc(doc_id, title or "", body or "")
    if not doc.text:
        raise NegbenchError(f"{where}: document {doc_id!r} has empty text")
    return doc
