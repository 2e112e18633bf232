"""CI regression gate: a fresh run against a stored baseline of per-query scores.

A check (system x measure) fails only if the mean drop is larger than ``tolerance`` AND the
one-sided seed-aware test (``stats.seed_test``, fresh < baseline; queries paired, seeds
random) is significant after correction over all checks. Either alone is not enough: a tiny
but consistent drop is not a regression worth failing CI for, and a large drop on a few queries
can be noise. The baseline stores every seed's per-query scores (schema 2), so a one-seed
fresh run borrows the baseline's seed variance; schema-1 baselines (seed means only) and
one-seed-each checks fall back to query-level variance (``seed_variance == "none"``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from negbench.harness.data.fingerprint import FIELD
from negbench.harness.errors import NegbenchError
from negbench.harness.evaluation.measures import select_measures
from negbench.harness.evaluation.records import INTEGRITY
from negbench.harness.io.atomic import write_json_atomic
from negbench.harness.reporting import stats
from negbench.harness.reporting.comparability import (
    check_comparable,
    encoding_precision,
    precision,
    track,
)
from negbench.harness.reporting.report import build_systems

KIND = "negbench-regress-baseline"
# a fresh run may use other seeds than the baseline; the false-negative audit's teacher reads a
# run, it does not change it (both are left out of the config hash too, runner.RunConfig)
_BUDGET_IGNORED = {"seeds", "teacher_steps"}


def _context(records: list[dict]) -> dict:
    """What must be equal between baseline and run for the comparison to mean anything."""
    if not records:
        raise NegbenchError("no records")
    trained = next((r for r in records if r["kind"] == "trained"), None)
    budget = dict(trained["budget"]) if trained else {}
    for k in _BUDGET_IGNORED:
        budget.pop(k, None)
    ctx = {"suite": records[0]["suite"], "split": records[0]["split"],
           "profile": records[0]["conventions"]["profile"],
           "track": track(trained) if trained else None, "budget": budget,
           "model": trained.get("model") if trained else None,
           # zero-shot rows have no training budget, but an eval length and depth of their own
           "zero_shot_budgets": {r["name"]: dict(r.get("budget") or {}) for r in records
                                 if r["kind"] == "zero-shot"},
           FIELD: records[0].get(FIELD),
           "precision": _precisions(records)}
    for r in records:
        if (r["suite"], r["split"], r["conventions"]["profile"]) != (
                ctx["suite"], ctx["split"], ctx["profile"]):
            raise NegbenchError("records of several suites/splits/profiles in one folder")
    return ctx


def _precisions(records: list[dict]) -> dict[str, str | None]:
    """Training and encoding precision of a run's records (fp32 or bf16; the records agree,
    ``check_comparable``)."""
    trained = [r for r in records if r["kind"] == "trained"]
    encoded = [e for r in records if (e := encoding_precision(r)) is not None]
    return {"training": precision(trained[0]) if trained else None,
            "encoding": encoded[0] if encoded else None}


def make_baseline(records: list[dict], measures: list[str] | None = None,
                  source: str = "") -> dict:
    """Baseline document: context plus each system's per-query scores, the mean over seeds
    (``per_query``) and every seed's (``per_seed``: measure -> one dict per seed, in ``seeds``
    order)."""
    check_comparable(records, "the run's records")
    measures = (select_measures(measures, (m for r in records for m in r["metrics"]))
                if measures else list(records[0]["metrics"]))  # any spelling
    systems = build_systems(records, measures)
    return {
        "kind": KIND, "schema": 2, "source": source, **_context(records),
        "measures": measures,
        "systems": {s.label: {"kind": s.kind, "seeds": s.seeds,
                              "metrics": {m: s.summaries[m].mean for m in measures},
                              "per_query": s.per_query,
                              "per_seed": {m: s.seed_scores(m) for m in measures}}
                    for s in systems},
    }


def write_baseline(records: list[dict], path: Path, measures: list[str] | None = None,
                   source: str = "") -> dict:
    doc = make_baseline(records, measures, source)
    write_json_atomic(doc, Path(path))
    return doc


def read_baseline(path: Path) -> dict:
    """A baseline file, checked: something to compare (systems and measures) and only finite
    scores; anything else is a one-line error naming the file (the gate fails closed)."""
    path = Path(path)
    if not path.is_file():
        raise NegbenchError(f"{path}: baseline file not found (create it with "
                            "`negbench regress --write-baseline FILE --run DIR`)")
    try:
        doc = json.loads(path.read_bytes().decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise NegbenchError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        raise NegbenchError(f"{path}: not a negbench regression baseline")
    problem = _baseline_problem(doc)
    if problem:
        raise NegbenchError(f"{path}: {problem}")
    return doc


def _baseline_problem(doc: dict) -> str | None:
    measures, systems = doc.get("measures"), doc.get("systems")
    if not isinstance(measures, list) or not measures or \
            not all(isinstance(m, str) for m in measures):
        return "measures is empty or not a list of names: the gate would check nothing"
    if not isinstance(systems, dict) or not systems:
        return "systems is empty: the gate would check nothing"
    for name, sys_ in systems.items():
        if not isinstance(sys_, dict) or sys_.get("kind") not in ("zero-shot", "trained"):
            return f"system {name!r} is not a baseline system"
        for m in measures:
            runs = (sys_.get("per_seed") or {}).get(m) or [(sys_.get("per_query") or {}).get(m)]
            metric = (sys_.get("metrics") or {}).get(m, 0.0)
            for scores in runs:
                if not isinstance(scores, dict) or not scores:
                    return f"system {name!r} has no per-query scores for {m}"
                if not all(_finite(v) for v in [metric, *scores.values()]):
                    return f"system {name!r} has a non-finite {m} score (NaN or infinite)"
    return None


def _finite(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_gate_params(tolerance: float, alpha: float, n_resamples: int) -> None:
    """Parameters under which the gate can fail at all: 0 < alpha < 1, 0 <= tolerance < 1
    (scores lie in [0, 1]), at least one resample."""
    if not (math.isfinite(alpha) and 0 < alpha < 1):
        raise NegbenchError(f"--alpha must be in (0, 1), got {alpha}")
    if not (math.isfinite(tolerance) and 0 <= tolerance < 1):
        raise NegbenchError(f"--tolerance must be in [0, 1), got {tolerance}")
    if n_resamples < 1:
        raise NegbenchError(f"--resamples must be >= 1, got {n_resamples}")


@dataclass
class RegressCheck:
    system: str
    measure: str
    baseline: float
    fresh: float
    drop: float  # baseline - fresh (positive = worse)
    p: float  # seed-aware, one-sided, fresh < baseline
    p_adj: float
    failed: bool
    seeds_fresh: int = 1
    seeds_baseline: int = 1
    mde: float = math.nan  # one-sided, 80% power, before correction
    seed_variance: str = "none"
    p_query: float = math.nan  # secondary query-level test on seed means, one-sided

    def detail(self, test: str) -> str:
        how = {"none": "; query-level variance only: one seed each, no seed variance",
               "borrowed": "; seed variance borrowed from the side with several seeds"}.get(
            self.seed_variance, "")
        return (f"{self.seeds_fresh} vs {self.seeds_baseline} seeds, MDE {self.mde:.4f}, "
                f"query-level {test} p={self.p_query:.2g}{how}")

    def line(self, tolerance: float, test: str, correction: str, n: int) -> str:
        return (f"FAIL {self.system} {self.measure}: {self.baseline:.4f} -> {self.fresh:.4f} "
                f"(drop {self.drop:.4f} > tolerance {tolerance:g}), one-sided seed-aware "
                f"p={self.p:.2g}, {correction} p={self.p_adj:.2g} over {n} checks "
                f"({self.detail(test)})")


def _baseline_seeds(system: dict, measure: str) -> list[dict[str, float]]:
    """Every seed's per-query scores (schema 2), else the seed mean as one run (schema 1)."""
    per_seed = (system.get("per_seed") or {}).get(measure)
    return per_seed if per_seed else [system["per_query"][measure]]


def _shared(want: dict | None, got: dict, what: str) -> tuple[dict, dict]:
    """The fields of two budgets that both sides record (a field only one side knows, from a
    newer schema, is not a difference); none in common while the run has some is an error."""
    want = want or {}
    shared = set(want) & set(got)
    if got and not shared:
        raise NegbenchError(f"the baseline records no {what} to compare with the run's "
                            f"{sorted(got)}; regenerate the baseline")
    return ({k: v for k, v in want.items() if k in shared},
            {k: v for k, v in got.items() if k in shared})


_NONE = object()  # a key one side lacks


def _difference(what: str, want: object, got: object) -> str:
    """``budget: batch_size 32 vs 64`` naming each differing key of two dicts (a key one side
    lacks: ``-``), or ``track: 'full' vs 'short'`` for other values."""
    if not (isinstance(want, dict) and isinstance(got, dict)):
        return f"{what}: {want!r} vs {got!r}"
    keys = sorted((k for k in set(want) | set(got) if want.get(k, _NONE) != got.get(k, _NONE)),
                  key=str)
    return f"{what}: " + ", ".join(f"{k} {want.get(k, '-')!r} vs {got.get(k, '-')!r}"
                                   for k in keys)


def check(baseline: dict, records: list[dict], tolerance: float = 0.01, alpha: float = 0.05,
          test: str = "t", correction: str = "holm", n_resamples: int = 10_000,
          seed: int = 0, mixed_precision: bool = False) -> list[RegressCheck]:
    """Every (system, measure) of the baseline, checked against the fresh records with the
    one-sided seed-aware test; ``test`` is the secondary query-level test. Baseline and run
    must share their precision (fp32, bf16) unless ``mixed_precision``."""
    check_gate_params(tolerance, alpha, n_resamples)
    problem = _baseline_problem(baseline)
    if problem:
        raise NegbenchError(f"baseline: {problem}")
    check_comparable(records, "the run's records")
    ctx = _context(records)
    for key in ("suite", "split", "profile", "track", "budget", "model", FIELD):
        want, got = baseline.get(key), ctx[key]
        if key == "track" and got is not None:
            want = want or "full"  # baselines written before tracks existed
        if key == "budget":
            want, got = _shared(want, got, "budget")
        if want != got:
            raise NegbenchError(f"baseline and run differ in {_difference(key, want, got)}; "
                                "regenerate the baseline with the same config and data")
    # baselines written before precisions were recorded come from fp32 runs: each precision
    # the run has (None: no trained row, or nothing encoded) was fp32 there
    want = baseline.get("precision") or {k: v and "fp32" for k, v in ctx["precision"].items()}
    if want != ctx["precision"] and not mixed_precision:
        what = _difference("precision", want, ctx["precision"])
        raise NegbenchError(f"baseline and run differ in {what}; regenerate the baseline at "
                            "the run's precision, or compare them with --mixed-precision")
    for name, budget in ctx["zero_shot_budgets"].items():
        if name in {s.removesuffix(" (zero-shot)") for s in baseline["systems"]}:
            want = (baseline.get("zero_shot_budgets") or {}).get(name)
            want, got = _shared(want, budget, f"zero-shot {name} budget")
            if want != got:
                raise NegbenchError("baseline and run differ in the "
                                    f"{_difference(f'budget of zero-shot {name}', want, got)}; "
                                    "regenerate the baseline")
    measures = baseline["measures"]
    fresh = {s.label: s for s in build_systems(records, measures)}
    missing = sorted(set(baseline["systems"]) - set(fresh))
    if missing:
        raise NegbenchError(f"run lacks system(s) {', '.join(missing)} of the baseline")
    out = []
    for name, base in baseline["systems"].items():
        random = base["kind"] == "trained"
        for m in measures:
            what = f"run and baseline {name} ({m})"
            runs_f, runs_b = fresh[name].seed_scores(m), _baseline_seeds(base, m)
            qids, _, _ = stats.aligned(runs_f[0], runs_b[0], what)
            f = np.array([[r[q] for q in qids] for r in runs_f])
            b = np.array([[r[q] for q in qids] for r in runs_b])
            for r in runs_f[1:] + runs_b[1:]:
                stats.aligned(runs_f[0], r, what)
            st = stats.seed_test(f, b, random, random, "less", alpha)
            fm, bm = f.mean(axis=0), b.mean(axis=0)
            out.append(RegressCheck(
                name, m, float(bm.mean()), float(fm.mean()), float(bm.mean() - fm.mean()), st.p,
                st.p, False, st.seeds_a, st.seeds_b, st.mde, st.seed_variance,
                stats.p_value(test, fm, bm, "less", n_resamples, seed)))
    if not out:
        raise NegbenchError("nothing to compare: the baseline has no system x measure check")
    if not all(math.isfinite(v) for c in out for v in (c.baseline, c.fresh, c.p)):
        bad = next(c for c in out if not all(math.isfinite(v) for v in (c.baseline, c.fresh,
                                                                        c.p)))
        raise NegbenchError(f"{bad.system} {bad.measure}: a non-finite score or p-value "
                            "(NaN): the gate cannot decide")
    for c, p_adj in zip(out, stats.correct([c.p for c in out], correction, alpha)):
        c.p_adj = p_adj
        c.failed = c.drop > tolerance and p_adj < alpha
    return out


def noisy_record(record: dict, run: dict, qrels, sigma: float, seed: int) -> dict:
    """A copy of ``record`` re-evaluated after adding N(0, sigma) noise to every retrieval score
    of its ``run``: a genuinely worse ranking of controlled strength, used to measure the gate's
    power (and in tests as a real drop). Unsealed: the copy drops the record's ``integrity``
    seal (no run wrote it), so readers check it by its scores alone."""
    from negbench.harness.evaluation.conventions import get_profile
    from negbench.harness.evaluation.evaluate import evaluate_run
    from negbench.harness.evaluation.measures import parse_measures

    rng = np.random.default_rng(seed)
    noisy = {}
    for q in sorted(run):
        hits = run[q]
        noise = rng.normal(0.0, sigma, len(hits))
        noisy[q] = [(d, s + float(e)) for (d, s), e in zip(hits, noise)]
    ev = evaluate_run(qrels, noisy, parse_measures(list(record["metrics"])),
                      get_profile(record["conventions"]["profile"]))
    kept = {k: v for k, v in record.items() if k != INTEGRITY}
    return {**kept, "metrics": ev.means, "per_query": ev.per_query,
            "degraded": {"gaussian_score_noise_sd": sigma, "seed": seed}}
