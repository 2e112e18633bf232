"""Cross-fitted records (``negbench run --folds K``) as the reports see them.

A cross-fitted grid writes one record per sampler, seed and fold, each scored on its fold's
queries. ``merge_folds`` makes one record per sampler and seed from its ``K`` fold records:
per-query scores over every labelled query (the union of the folds), means recomputed from
them, costs summed over the fold runs. ``fold_queries`` recovers the fold assignment from the
records (checked against its sha256) for the seed-aware test, whose queries are nested in
folds (``stats.compare(..., folds=...)``).
"""

from __future__ import annotations

import numpy as np

from negbench.harness.data.crossfit import assignment_sha256, describe_spec, spec_of
from negbench.harness.errors import NegbenchError


def _fold(rec: dict) -> int | None:
    """The fold of a cross-fitted trained record (None: official split, pooled or merged)."""
    if rec.get("kind") != "trained":
        return None
    return (rec.get("crossfit") or {}).get("fold")


def is_crossfit(records: list[dict]) -> bool:
    return any(spec_of(r) is not None for r in records)


def _one_spec(records: list[dict]) -> dict | None:
    specs = {str(spec_of(r)): spec_of(r) for r in records}
    if len(specs) > 1:
        raise NegbenchError("records of different splits or fold specs in one report ("
                            + "; ".join(sorted(describe_spec(s) for s in specs.values()))
                            + "); report one of them at a time")
    return next(iter(specs.values()), None)


def missing_folds(records: list[dict]) -> dict[tuple[str, int], list[int]]:
    """(name, seed) -> the folds without a record, for every cross-fitted system and seed."""
    have: dict[tuple[str, int], set[int]] = {}
    k = None
    for r in records:
        if _fold(r) is not None:
            have.setdefault((r["name"], r["seed"]), set()).add(int(r["crossfit"]["fold"]))
            k = int(r["crossfit"]["folds"])
    return {key: [i for i in range(k) if i not in got] for key, got in have.items()
            if len(got) < (k or 0)}


def _sum(values) -> float | None:
    vals = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return sum(vals) if vals else None


def _merge_fn(reports: list[dict | None]) -> dict | None:
    """The false-negative audits of the folds as one: counts summed, shares recomputed from
    them, the teacher's AUC and control rate averaged, ``chance`` if any fold's teacher was."""
    present = [d for d in reports if isinstance(d, dict)]
    if not present:
        return None
    out = dict(present[0])
    for key in ("negatives", "judged", "ce_above_positive"):
        out[key] = _sum(d.get(key) for d in present)
    for share, count in (("judged_share", "judged"), ("ce_above_positive_share",
                                                     "ce_above_positive")):
        if out.get(count) is not None and out.get("negatives"):
            out[share] = out[count] / out["negatives"]
    for key in ("teacher_auc", "control_rate"):
        vals = [d.get(key) for d in present if d.get(key) is not None]
        out[key] = float(np.mean(vals)) if vals else None
    if any(d.get("teacher_status") == "chance" for d in present):
        out["teacher_status"] = "chance"
    return out


def _merge(name: str, seed: int, recs: list[dict]) -> dict:
    recs = sorted(recs, key=_fold)
    first = recs[0]
    per_query: dict[str, dict[str, float]] = {}
    for measure in first["per_query"]:
        union: dict[str, float] = {}
        for r in recs:
            scores = r["per_query"].get(measure)
            if scores is None:
                raise NegbenchError(f"{name} seed {seed} fold {_fold(r)}: no per-query "
                                    f"scores for {measure}")
            both = set(union) & set(scores)
            if both:
                raise NegbenchError(f"{name} seed {seed}: query {min(both)!r} is in two "
                                    "folds' records")
            union.update(scores)
        per_query[measure] = union
    metrics = {m: float(np.mean(list(per_query[m].values()))) if m in per_query else
               float(np.average([r["metrics"][m] for r in recs],
                                weights=[r.get("num_queries") or 1 for r in recs]))
               for m in first["metrics"]}
    timings = {}
    for r in recs:
        for key, val in (r.get("timings_s") or {}).items():
            timings[key] = round(timings.get(key, 0.0) + float(val), 3)
    merged = {k: v for k, v in first.items() if k != "per_query"}
    merged.update(
        metrics=metrics, per_query=per_query, timings_s=timings,
        num_queries=sum(int(r.get("num_queries") or 0) for r in recs),
        num_missing_queries=sum(int(r.get("num_missing_queries") or 0) for r in recs),
        peak_rss_mb=max((r.get("peak_rss_mb") or 0) for r in recs),
        false_negatives=_merge_fn([r.get("false_negatives") for r in recs]),
        crossfit={**first["crossfit"], "fold": None,
                  "fold_records": [{"fold": _fold(r), "config_hash": r.get("config_hash"),
                                    "file": r.get("_file")} for r in recs]},
        config_hash=",".join(str(r.get("config_hash")) for r in recs),
        negatives={"rows": _sum((r.get("negatives") or {}).get("rows") for r in recs),
                   "per_fold": [r.get("negatives") for r in recs]},
    )
    if isinstance(first.get("mining"), dict):
        merged["mining"] = {**first["mining"], "encode_calls": _sum(
            (r.get("mining") or {}).get("encode_calls") for r in recs)}
    if isinstance(first.get("training"), dict):
        merged["training"] = {**first["training"], **{
            k: _sum((r.get("training") or {}).get(k) for r in recs)
            for k in first["training"] if k.startswith("refresh")}}
    if isinstance(first.get("config"), dict):
        merged["config"] = {k: v for k, v in first["config"].items() if k != "fold"}
    if any("_file" in r for r in recs):
        merged["_file"] = [r.get("_file") for r in recs]
    return merged


def merge_folds(records: list[dict], partial: str = "refuse") -> list[dict]:
    """One record per cross-fitted (system, seed), merged from its fold records (first-seen
    order, at the place of its first fold record); other records unchanged. A seed missing
    folds is refused naming them (``partial="refuse"``) or left out (``"skip"``: a table
    written while the grid still runs)."""
    if not any(_fold(r) is not None for r in records):
        return records
    _one_spec(records)
    missing = missing_folds(records)
    if missing and partial == "refuse":
        (name, seed), folds = next(iter(sorted(missing.items())))
        k = next(int(r["crossfit"]["folds"]) for r in records if _fold(r) is not None)
        more = f" (and {len(missing) - 1} more seed(s))" if len(missing) > 1 else ""
        raise NegbenchError(f"{name} seed {seed}: cross-fitted fold(s) "
                            f"{', '.join(map(str, folds))} of {k} missing{more}; finish the "
                            "grid (the same run command resumes it) or leave the seed out")
    groups: dict[tuple[str, int], list[dict]] = {}
    out: list = []
    for r in records:
        if _fold(r) is None:
            out.append(r)
            continue
        key = (r["name"], r["seed"])
        if key in missing:
            continue
        if key not in groups:
            groups[key] = []
            out.append(key)
        folds = [_fold(x) for x in groups[key]]
        if _fold(r) in folds:
            raise NegbenchError(f"{r['name']} seed {r['seed']}: two records of fold {_fold(r)}")
        groups[key].append(r)
    return [_merge(*item, groups[item]) if isinstance(item, tuple) else item for item in out]


def fold_queries(records: list[dict]) -> list[list[str]] | None:
    """The fold assignment of cross-fitted records (each fold's query ids, from its records'
    per-query scores), checked against the records' assignment sha256; None when the records
    are not cross-fitted or none is a fold record (zero-shot rows only)."""
    folds: dict[int, set[str]] = {}
    spec = None
    for r in records:
        i = _fold(r)
        if i is None:
            continue
        spec = spec_of(r)
        scores = next(iter(r["per_query"].values()), {})
        qids = set(scores)
        if folds.setdefault(int(i), qids) != qids:
            raise NegbenchError(f"{r['name']} seed {r['seed']} fold {i}: its queries differ "
                                "from the other records of that fold")
    if spec is None:
        return None
    k = int(spec["folds"])
    if sorted(folds) != list(range(k)):
        return None
    out = [sorted(folds[i]) for i in range(k)]
    if assignment_sha256(out) != spec["assignment_sha256"]:
        raise NegbenchError("the cross-fitted records' queries do not match their fold "
                            f"assignment ({str(spec['assignment_sha256'])[:12]}): records of "
                            "another assignment or edited records")
    return out


def crossfit_note(records: list[dict]) -> str | None:
    """The line under a cross-fitted table; None for official-split records."""
    spec = _one_spec(records)
    if spec is None:
        return None
    n = max((int(r.get("num_queries") or 0) for r in records if _fold(r) is None), default=0)
    return (f"Cross-fitted: {spec['folds']} folds over all {n:,} labelled queries (train ∪ "
            f"test), fold seed {spec['seed']}; not comparable to official-split numbers. Each "
            f"seed is {spec['folds']} runs (each trained on the other folds, tested on its "
            "own); its scores are over the union of the folds, its costs summed over them.")
