"""The data fingerprint: what every reusable artefact is keyed by besides its config.

A record, a run's stage manifest, a zero-shot row and a regression baseline store the sha256
of the data they came from: the corpus (ids and texts), every split's queries and qrels, and
the suite's candidate pools and taxonomy when it has them. Reuse compares it with the data
loaded now (``matches``); an artefact without one (written before fingerprints existed) is
readable by ``report``/``reproduce`` but never reused. The config hash stays as it was, so
committed records keep their hashes.
"""

from __future__ import annotations

import hashlib
import json

FIELD = "data_fingerprint"


def _update(h, *parts: str) -> None:
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")


def split_fingerprint(split) -> str:
    """sha256 over a split's queries (id, text) and qrels (query, doc, relevance), sorted."""
    h = hashlib.sha256()
    for qid in sorted(split.queries):
        _update(h, "q", qid, split.queries[qid])
    for qid in sorted(split.qrels):
        for did, rel in sorted(split.qrels[qid].items()):
            _update(h, "r", qid, did, str(rel))
    return h.hexdigest()


def data_fingerprint(data) -> str:
    """sha256 over a ``SuiteData``: corpus, train/test/dev splits, pools and taxonomy."""
    h = hashlib.sha256()
    _update(h, "corpus", data.corpus.fingerprint())
    for name in ("train", "test", "dev"):
        split = getattr(data, name)
        _update(h, name, split_fingerprint(split) if split is not None else "-")
    extras = {"query_dates": data.query_dates, "doc_dates": data.doc_dates,
              "parents": {d: sorted(p) for d, p in (data.parents or {}).items()}}
    if getattr(data, "candidates", None) is not None:  # only then: other suites keep their hashes
        extras["candidates"] = {"first_stage": data.first_stage, "lists": data.candidates}
    _update(h, json.dumps(extras, sort_keys=True))
    return h.hexdigest()


def matches(artefact: dict | None, fingerprint: str) -> bool:
    """True when ``artefact`` (a record, manifest or baseline) names the data ``fingerprint``;
    one that names none, or other data, is not reusable."""
    return isinstance(artefact, dict) and artefact.get(FIELD) == fingerprint
