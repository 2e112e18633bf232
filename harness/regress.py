"""CI regression gate: a fresh run against a stored baseline of per-query scores.

A check (system x measure) fails only if the mean drop is larger than ``tolerance`` AND the
one-sided paired test (fresh < baseline on the same queries) is significant after correction
over all checks. Either alone is not enough: a tiny but consistent drop is not a regression
worth failing CI for, and a large drop on a few queries can be noise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from negbench.harness import stats
from negbench.harness.errors import NegbenchError
from negbench.harness.records import write_json_atomic
from negbench.harness.report import build_systems

KIND = "negbench-regress-baseline"
_BUDGET_IGNORED = {"seeds"}  # a fresh run may use other seeds than the baseline


def _context(records: list[dict]) -> dict:
    """What must be equal between baseline and run for the comparison to mean anything."""
    if not records:
        raise NegbenchError("no records")
    trained = next((r for r in records if r["kind"] == "trained"), None)
    budget = dict(trained["budget"]) if trained else {}
    for k in _BUDGET_IGNORED:
        budget.pop(k, None)
    ctx = {"suite": records[0]["suite"], "split": records[0]["split"],
           "profile": records[0]["conventions"]["profile"], "budget": budget,
           "model": trained.get("model") if trained else None}
    for r in records:
        if (r["suite"], r["split"], r["conventions"]["profile"]) != (
                ctx["suite"], ctx["split"], ctx["profile"]):
            raise NegbenchError("records of several suites/splits/profiles in one folder")
    return ctx


def make_baseline(records: list[dict], measures: list[str] | None = None,
                  source: str = "") -> dict:
    """Baseline document: context plus each system's per-query scores (mean over seeds)."""
    measures = measures or list(records[0]["metrics"])
    systems = build_systems(records, measures)
    return {
        "kind": KIND, "schema": 1, "source": source, **_context(records),
        "measures": measures,
        "systems": {s.label: {"kind": s.kind, "seeds": s.seeds,
                              "metrics": {m: s.summaries[m].mean for m in measures},
                              "per_query": s.per_query} for s in systems},
    }


def write_baseline(records: list[dict], path: Path, measures: list[str] | None = None,
                   source: str = "") -> dict:
    doc = make_baseline(records, measures, source)
    write_json_atomic(doc, Path(path))
    return doc


def read_baseline(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise NegbenchError(f"{path}: baseline file not found (create it with "
                            "`negbench regress --write-baseline FILE --run DIR`)")
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise NegbenchError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        raise NegbenchError(f"{path}: not a negbench regression baseline")
    return doc


@dataclass
class RegressCheck:
    system: str
    measure: str
    baseline: float
    fresh: float
    drop: float  # baseline - fresh (positive = worse)
    p: float  # one-sided, fresh < baseline
    p_adj: float
    failed: bool

    def line(self, tolerance: float, test: str, correction: str, n: int) -> str:
        return (f"FAIL {self.system} {self.measure}: {self.baseline:.4f} -> {self.fresh:.4f} "
                f"(drop {self.drop:.4f} > tolerance {tolerance:g}), one-sided {test} "
                f"p={self.p:.2g}, {correction} p={self.p_adj:.2g} over {n} checks")


def check(baseline: dict, records: list[dict], tolerance: float = 0.01, alpha: float = 0.05,
          test: str = "t", correction: str = "holm", n_resamples: int = 10_000,
          seed: int = 0) -> list[RegressCheck]:
    """Every (system, measure) of the baseline, checked against the fresh records."""
    if tolerance < 0:
        raise NegbenchError(f"tolerance must be >= 0, got {tolerance}")
    ctx = _context(records)
    for key in ("suite", "split", "profile", "budget", "model"):
        want, got = baseline.get(key), ctx[key]
        if key == "budget":  # a field only one side knows (newer schema) is not a difference
            want = {k: v for k, v in (want or {}).items() if k in got}
            got = {k: v for k, v in got.items() if k in want}
        if want != got:
            raise NegbenchError(f"baseline and run differ in {key}: {want!r} vs {got!r}; "
                                "regenerate the baseline with the same config")
    measures = baseline["measures"]
    fresh = {s.label: s for s in build_systems(records, measures)}
    missing = sorted(set(baseline["systems"]) - set(fresh))
    if missing:
        raise NegbenchError(f"run lacks system(s) {', '.join(missing)} of the baseline")
    out = []
    for name, base in baseline["systems"].items():
        for m in measures:
            _, f, b = stats.aligned(fresh[name].per_query[m], base["per_query"][m],
                                    f"run and baseline {name} ({m})")
            p = stats.p_value(test, f, b, "less", n_resamples, seed)
            out.append(RegressCheck(name, m, float(b.mean()), float(f.mean()),
                                    float(b.mean() - f.mean()), p, p, False))
    for c, p_adj in zip(out, stats.correct([c.p for c in out], correction, alpha)):
        c.p_adj = p_adj
        c.failed = c.drop > tolerance and p_adj < alpha
    return out


def noisy_record(record: dict, run: dict, qrels, sigma: float, seed: int) -> dict:
    """A copy of ``record`` re-evaluated after adding N(0, sigma) noise to every retrieval score
    of its ``run``: a genuinely worse ranking of controlled strength, used to measure the gate's
    power (and in tests as a real drop)."""
    import numpy as np

    from negbench.harness.conventions import get_profile
    from negbench.harness.evaluate import evaluate_run
    from negbench.harness.measures import parse_measures

    rng = np.random.default_rng(seed)
    noisy = {}
    for q in sorted(run):
        hits = run[q]
        noise = rng.normal(0.0, sigma, len(hits))
        noisy[q] = [(d, s + float(e)) for (d, s), e in zip(hits, noise)]
    ev = evaluate_run(qrels, noisy, parse_measures(list(record["metrics"])),
                      get_profile(record["conventions"]["profile"]))
    return {**record, "metrics": ev.means, "per_query": ev.per_query,
            "degraded": {"gaussian_score_noise_sd": sigma, "seed": seed}}
