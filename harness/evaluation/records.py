"""Result records: one JSON per run with metrics, per-query scores and full provenance."""

from __future__ import annotations

import hashlib
import json
import math
import platform
import resource
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from negbench.harness.errors import NegbenchError
from negbench.harness.evaluation.measures import parse_measure
from negbench.harness.io.atomic import write_json_atomic

SCHEMA = 1
INTEGRITY = "integrity"  # the seal: {"sha256": ..., "covers": ...}
_COVERS = ("every other field: sha256 of json.dumps(record without 'integrity', sort_keys=True, "
           "separators=(',', ':'))")
_UNUSED = "the record is not used: restore the file or remove it (`run` then recomputes it)"
_PACKAGES = ("negbench", "torch", "sentence-transformers", "transformers", "faiss-cpu", "ranx",
             "ir-datasets", "pyserini", "numpy", "datasets", "accelerate")


def library_versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for pkg in _PACKAGES:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux ru_maxrss is KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_provenance(isolated: bool) -> dict:
    """How a record's ``peak_rss_mb`` was measured, and so what it covers."""
    how = "getrusage(RUSAGE_SELF).ru_maxrss on Linux (peak resident set size), MiB"
    if isolated:
        return {"scope": "run", "method": how,
                "note": "a process that ran only this run (--isolate or --executor ray|slurm): "
                        "the run's own peak, interpreter, imports and data loading included"}
    return {"scope": "process", "method": how,
            "note": "the grid's process, shared with the runs and zero-shot rows before this "
                    "one: an upper bound for this run; --isolate measures each run alone"}


def content_sha256(rec: dict) -> str:
    """sha256 of ``rec``'s canonical JSON, its ``integrity`` field left out."""
    body = {k: v for k, v in json.loads(json.dumps(rec)).items() if k != INTEGRITY}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"))
                          .encode()).hexdigest()


def seal(rec: dict) -> dict:
    """A copy of ``rec`` with its ``integrity`` seal (the sha256 of everything else)."""
    return {**rec, INTEGRITY: {"sha256": content_sha256(rec), "covers": _COVERS}}


def write_record(rec: dict, path: Path) -> dict:
    """Seal ``rec`` and write it atomically to ``path`` (the one record writer); returns the
    sealed record."""
    sealed = seal(rec)
    write_json_atomic(sealed, path)
    return sealed


def read_records(folder: Path) -> list[dict]:
    """All records under ``folder/records`` (sorted by file name), each checked by
    ``read_record``."""
    return [read_record(p) for p in sorted((Path(folder) / "records").glob("*.json"))]


def read_record(path: Path) -> dict:
    """One record; a file that is not one (unreadable, not JSON, missing or mistyped fields,
    a score that is not a finite number) or that fails its check (``integrity_problem``: an
    edited sealed record, a score out of range, a mean that is not its per-query scores'
    mean) is a one-line error naming the file."""
    try:
        rec = json.loads(Path(path).read_bytes().decode("utf-8"))
    except OSError as exc:
        raise NegbenchError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise NegbenchError(f"{path}: not valid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise NegbenchError(f"{path}:{exc.lineno}: not a record: invalid JSON ({exc.msg})") \
            from None
    problem = record_problem(rec)
    if problem:
        raise NegbenchError(f"{path}: not a negbench record: {problem}")
    problem = integrity_problem(rec)
    if problem:
        raise NegbenchError(f"{path}: {problem}; {_UNUSED}")
    return rec


def record_problem(rec: object) -> str | None:
    """Why ``rec`` is not a usable record, or None."""
    if not isinstance(rec, dict):
        return "expected a JSON object"
    if rec.get("kind") not in ("zero-shot", "trained"):
        return f"kind {rec.get('kind')!r} is not 'zero-shot' or 'trained'"
    for key in ("name", "suite", "split"):
        if not isinstance(rec.get(key), str):
            return f"{key} must be a string"
    if not isinstance(rec.get("conventions"), dict) or \
            not isinstance(rec["conventions"].get("profile"), str):
        return "conventions.profile must be a string"
    if rec["kind"] == "trained" and (not isinstance(rec.get("seed"), int)
                                     or not isinstance(rec.get("budget"), dict)):
        return "a trained record needs an integer seed and a budget object"
    metrics, per_query = rec.get("metrics"), rec.get("per_query")
    if not isinstance(metrics, dict) or not metrics or not isinstance(per_query, dict):
        return "metrics and per_query must be non-empty objects"
    for m, v in metrics.items():
        if not _finite(v):
            return f"metrics[{m!r}] = {v!r} is not a finite number"
        scores = per_query.get(m)
        if not isinstance(scores, dict) or not scores:
            return f"per_query[{m!r}] must be a non-empty object"
        bad = next((q for q, x in scores.items() if not _finite(x)), None)
        if bad is not None:
            return f"per_query[{m!r}][{bad!r}] = {scores[bad]!r} is not a finite number"
    return None


def integrity_problem(rec: dict) -> str | None:
    """Why a well-formed record (``record_problem`` is None) cannot be trusted, or None: its
    seal does not match its contents, a score lies outside its measure's range, a per-query
    list disagrees with ``num_queries``, or a mean is not the mean of its per-query scores
    (queries absent from the run are stored as 0, so the mean is over every stored score).
    Records without a seal (the committed ones) are checked by the last three only."""
    if INTEGRITY in rec:
        stamp = rec[INTEGRITY]
        if not isinstance(stamp, dict) or not isinstance(stamp.get("sha256"), str):
            return "integrity must be an object with a sha256 string"
        if stamp["sha256"] != content_sha256(rec):
            return "record was edited after it was written (sha256 mismatch)"
    for m, mean in rec["metrics"].items():
        try:
            low, high = parse_measure(m).range
        except NegbenchError:
            return f"metrics[{m!r}] is not a known measure"
        scores = rec["per_query"][m]
        bad = next((q for q, x in scores.items() if not low <= x <= high), None)
        if bad is not None:
            return (f"per_query[{m!r}][{bad!r}] = {scores[bad]!r} is outside {m}'s range "
                    f"[{low:g}, {high:g}]")
        n = rec.get("num_queries")
        if isinstance(n, int) and len(scores) != n:
            return f"per_query[{m!r}] holds {len(scores)} scores but num_queries is {n}"
        expected = math.fsum(scores.values()) / len(scores)
        if not math.isclose(mean, expected, rel_tol=1e-9, abs_tol=1e-12):
            return (f"metrics[{m!r}] = {mean!r} is not the mean of its {len(scores)} per-query "
                    f"scores ({expected:.6g})")
    return None


def _finite(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


