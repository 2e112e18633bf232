"""Check zero-shot records against published numbers kept in YAML (pyserini 2CR style).

Reference YAML layout (``harness/reporting/reference/published.yaml``, shipped with the package)::

    <collection>:                 # suite prefix, e.g. beir for beir/scifact
      <reference name>:           # e.g. bm25-flat, all-MiniLM-L6-v2
        source: ...
        system: bm25 | model      # which zero-shot record it applies to
        model: all-MiniLM-L6-v2   # system model: the record's model must match
        eval_max_length: 256      # optional: the record's eval length must match
        tolerance: 5.0e-4         # optional, default OKISH_TOL
        <dataset>: {<measure>: value | {value: v, tolerance: t}}
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from negbench.harness.errors import NegbenchError, first_line

OK_TOL = 1e-4
OKISH_TOL = 5e-4
_META = {"source", "system", "model", "eval_max_length", "tolerance", "note"}


@dataclass
class Check:
    """One (record, measure) checked against one reference number."""

    record: str
    reference: str
    measure: str
    expected: float | None
    measured: float | None
    tolerance: float
    verdict: str  # OK, OKish, FAIL or "SKIP (...)"
    source: str = ""

    @property
    def diff(self) -> float | None:
        if self.expected is None or self.measured is None:
            return None
        return self.measured - self.expected


def load_references(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise NegbenchError(f"{path}: reference file not found (pass --reference FILE; "
                            "negbench ships harness/reporting/reference/published.yaml)")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise NegbenchError(f"{path}: invalid YAML ({first_line(exc)})") from None
    if not isinstance(doc, dict):
        raise NegbenchError(f"{path}: expected a mapping of collections")
    _check_layout(path)
    return doc


def _check_layout(path: Path) -> None:
    """Collections and entries are mappings, every number is finite: anything else is one
    line naming the file and line (walks the YAML nodes, which know their lines)."""
    import math

    root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)

    def fail(node, what: str) -> None:
        raise NegbenchError(f"{path}:{node.start_mark.line + 1}: {what}")

    def number(node, what: str) -> None:
        value = yaml.safe_load(yaml.serialize(node)) if isinstance(node, yaml.ScalarNode) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not math.isfinite(value):
            fail(node, f"{what} must be a finite number")

    for coll_key, coll in root.value:
        if not isinstance(coll, yaml.MappingNode):
            fail(coll, f"collection {coll_key.value!r} must be a mapping of references")
        for ref_key, ref in coll.value:
            if not isinstance(ref, yaml.MappingNode):
                fail(ref, f"reference {ref_key.value!r} must be a mapping")
            for key, val in ref.value:
                if key.value == "tolerance":
                    number(val, "tolerance")
                if key.value in _META:
                    continue
                if not isinstance(val, yaml.MappingNode):
                    fail(val, f"{ref_key.value}.{key.value} must map measures to numbers")
                for m, spec in val.value:
                    if isinstance(spec, yaml.MappingNode):
                        fields = {k.value: v for k, v in spec.value}
                        if "value" not in fields:
                            fail(spec, f"{ref_key.value}.{key.value}.{m.value}: expected a "
                                       "number or {value, tolerance}")
                        for v in fields.values():
                            number(v, f"{ref_key.value}.{key.value}.{m.value}")
                    else:
                        number(spec, f"{ref_key.value}.{key.value}.{m.value}")


def verdict(measured: float, expected: float, tolerance: float = OKISH_TOL) -> str:
    diff = abs(measured - expected)
    if diff <= OK_TOL:
        return "OK"
    if diff <= max(tolerance, OK_TOL):
        return "OKish"
    return "FAIL"


def match_reference(record: dict, refs: dict) -> tuple[str, dict] | None:
    """The reference entry for a zero-shot record, or None if none applies."""
    collection, _, dataset = record["suite"].partition("/")
    zs = record.get("zero_shot") or {}
    for name, entry in (refs.get(collection) or {}).items():
        if not isinstance(entry, dict) or dataset not in entry:
            continue
        system = entry.get("system")
        if system != zs.get("system"):
            continue
        if system == "model" and entry.get("model", name) != zs.get("model"):
            continue
        return name, entry
    return None


def _expected(spec, default_tol: float, where: str) -> tuple[float, float]:
    if isinstance(spec, dict):
        if "value" not in spec:
            raise NegbenchError(f"{where}: expected a number or {{value, tolerance}}")
        return float(spec["value"]), float(spec.get("tolerance", default_tol))
    if not isinstance(spec, (int, float)):
        raise NegbenchError(f"{where}: expected a number, got {spec!r}")
    return float(spec), default_tol


def check_record(record: dict, refs: dict) -> list[Check]:
    """Checks for one zero-shot record (empty if no reference applies)."""
    hit = match_reference(record, refs)
    if hit is None:
        return []
    name, entry = hit
    dataset = record["suite"].partition("/")[2]
    label = f"{record['suite']} {record['name']} (zero-shot)"
    tol = float(entry.get("tolerance", OKISH_TOL))
    out = []
    want_len = entry.get("eval_max_length")
    got_len = (record.get("budget") or {}).get("eval_max_length")
    for measure, spec in entry[dataset].items():
        expected, mtol = _expected(spec, tol, f"reference {name}.{dataset}.{measure}")
        measured = record["metrics"].get(measure)
        if want_len is not None and got_len != want_len:
            v = f"SKIP (eval length differs: {got_len} vs {want_len})"
        elif measured is None:
            v = "SKIP (measure not in record)"
        else:
            v = verdict(measured, expected, mtol)
        out.append(Check(label, name, measure, expected, measured, mtol, v,
                         str(entry.get("source", ""))))
    return out


def check_records(records: list[dict], refs: dict) -> tuple[list[Check], list[str]]:
    """Checks for every zero-shot record; also the names of zero-shot records with no
    reference (trained records are not reproductions and are ignored)."""
    checks, unmatched = [], []
    for rec in records:
        if rec.get("kind") != "zero-shot":
            continue
        found = check_record(rec, refs)
        if found:
            checks.extend(found)
        else:
            unmatched.append(f"{rec['suite']} {rec['name']}")
    return checks, unmatched
