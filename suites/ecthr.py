"""ECtHR-PCR (Santosh et al., LREC-COLING 2024): prior-case retrieval at the European Court of
Human Rights.

Published layout (github.com/TUMLegalTech/ECHR-PCR, ``echr_pcr_dataset.json``): one JSON object
mapping each application number to ``{"facts": [sentences], "law": [sentences], "date": ...,
"citations": [application numbers]}``. The Hugging Face export (``RashidHaddad/ECTHR-PCR``) has
the same fields as records with an ``appno`` column (``citations`` may be a string holding a
Python list); both, and JSON Lines, are read.

Query = the facts of a case; documents = every case (facts + law); relevant = the cases it
cites that are in the dataset and decided strictly before it. Splits are temporal by judgment
date (``params.train_before`` / ``params.dev_before``); a query's candidate pool is the cases
decided before it (``SuiteData.restrict_run`` / ``SuiteData.pool``).
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from negbench.harness.data.collection import Corpus, Split, check_doc
from negbench.harness.errors import NegbenchError
from negbench.harness.io import parse
from negbench.suites.definition import Suite
from negbench.suites.loaders import register_loader
from negbench.suites.suite_data import SuiteData, judged_positives

DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d")


@dataclass(frozen=True)
class Case:
    appno: str
    date: str  # ISO yyyy-mm-dd
    facts: tuple[str, ...]
    law: tuple[str, ...]
    citations: tuple[str, ...]


def parse_date(value, where: str) -> str:
    """ISO ``yyyy-mm-dd`` from the formats found in ECtHR exports (ISO with time accepted)."""
    text = str(value).strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "")).date().isoformat()
    except ValueError:
        pass
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    raise NegbenchError(f"{where}: unreadable date {text!r}")


def _sentences(value, where: str, key: str) -> tuple[str, ...]:
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise NegbenchError(f"{where}: {key!r} is not a list literal") from None
    elif isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise NegbenchError(f"{where}: {key!r} must be a list of sentences")
    texts = (parse.text(s, f"{key}[{i}]", where) for i, s in enumerate(value))
    return tuple(t.strip() for t in texts if t.strip())


def read_cases(path: Path) -> dict[str, Case]:
    """Read the dataset file (JSON object by appno, JSON list of records, or JSON Lines)."""
    path = Path(path)
    if not path.is_file():
        raise NegbenchError(f"{path}: ECtHR-PCR file not found (echr_pcr_dataset.json)")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NegbenchError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError:
        try:
            raw = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise NegbenchError(f"{path}: neither JSON nor JSON Lines ({exc.msg})") from None
    if isinstance(raw, dict):
        items = [(str(k), v) for k, v in raw.items() if not k.startswith("_")]
    elif isinstance(raw, list):
        if not all(isinstance(r, dict) and "appno" in r for r in raw):
            raise NegbenchError(f"{path}: records need an 'appno' field")
        items = [(str(r["appno"]), r) for r in raw]
    else:
        raise NegbenchError(f"{path}: expected a JSON object keyed by application number")
    cases: dict[str, Case] = {}
    for appno, rec in items:
        where = f"{path}: case {appno}"
        if appno in cases:
            raise NegbenchError(f"{where}: duplicate application number")
        missing = [k for k in ("facts", "law", "date", "citations") if k not in rec]
        if missing:
            raise NegbenchError(f"{where}: missing field(s) {missing}")
        cases[appno] = Case(appno, parse_date(rec["date"], where),
                            _sentences(rec["facts"], where, "facts"),
                            _sentences(rec["law"], where, "law"),
                            tuple(str(c) for c in _sentences(rec["citations"], where,
                                                             "citations")))
    if not cases:
        raise NegbenchError(f"{path}: no cases")
    return cases


def temporal_split(cases: dict[str, Case], train_before: str, dev_before: str
                   ) -> dict[str, list[str]]:
    """Case ids per split by judgment date: train < ``train_before`` <= dev < ``dev_before``
    <= test."""
    if not train_before < dev_before:
        raise NegbenchError(f"need train_before < dev_before, got {train_before}, {dev_before}")
    out: dict[str, list[str]] = {"train": [], "dev": [], "test": []}
    for appno in sorted(cases):
        d = cases[appno].date
        out["train" if d < train_before else "dev" if d < dev_before else "test"].append(appno)
    return out


def relevant_priors(case: Case, cases: dict[str, Case]) -> list[str]:
    """Cited cases present in the dataset and decided strictly before ``case``."""
    return sorted({c for c in case.citations
                   if c in cases and c != case.appno and cases[c].date < case.date})


@register_loader("ecthr")
def load_ecthr(suite: Suite, data_root: Path | None = None) -> SuiteData:
    path = suite.collection_path()
    if path is None:
        raise NegbenchError(f"{suite.name}: point --collection or ${suite.collection_env} at "
                            "echr_pcr_dataset.json (github.com/TUMLegalTech/ECHR-PCR)")
    cases = read_cases(path)
    p = suite.params
    train_before = str(p.get("train_before", "2015-01-01"))
    dev_before = str(p.get("dev_before", "2017-01-01"))
    for v in (train_before, dev_before):
        date.fromisoformat(v)
    doc_fields = p.get("doc_fields", ["facts", "law"])
    docs: dict = {}
    for appno, c in sorted(cases.items()):
        body = " ".join(s for f in doc_fields for s in getattr(c, f))
        docs[appno] = check_doc(appno, "", body, docs, f"{path}: case {appno}")
    corpus = Corpus(docs, source=str(path))
    parts = temporal_split(cases, train_before, dev_before)
    splits = {}
    dropped = 0
    for name, ids in parts.items():
        queries, qrels = {}, {}
        for appno in ids:
            rel = relevant_priors(cases[appno], cases)
            facts = " ".join(cases[appno].facts)
            if not rel or not facts:
                dropped += 1
                continue
            queries[appno] = facts
            qrels[appno] = {d: 1 for d in rel}
        splits[name] = Split(name, queries, qrels, f"{path} [{name}]")
    for name in ("train", "test"):
        if not splits[name].qrels:
            raise NegbenchError(f"{path}: the {name} split is empty with train_before="
                                f"{train_before}, dev_before={dev_before}")
    dates = {a: c.date for a, c in cases.items()}
    info = {"cases": len(cases), "queries_without_prior_citations": dropped,
            "train_before": train_before, "dev_before": dev_before,
            **{f"{k}_queries": len(s.queries) for k, s in splits.items()}}
    dev = splits["dev"] if splits["dev"].qrels else None
    return SuiteData(corpus, splits["train"], splits["test"],
                     judged_positives(*splits.values()), dev=dev,
                     query_dates=dates, doc_dates=dates, info=info)
