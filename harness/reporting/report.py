"""Build a report from a results folder: systems (seed summaries) and comparisons.

A *system* is one zero-shot record or one trained sampler over all its seeds. Comparisons use
the seed-aware test (``stats.seed_test``: queries and seeds both random) for the verdict, and
a query-level paired test on the seed-averaged per-query scores as secondary information.
Records of different tracks, budgets, suites or models are refused
(``comparability.check_comparable``). Rendering lives in ``report_render``, plots in
``reporting.plots``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from negbench.harness.errors import NegbenchError
from negbench.harness.evaluation.conventions import get_profile
from negbench.harness.evaluation.measures import select_measures
from negbench.harness.reporting import stats
from negbench.harness.reporting.comparability import (
    PRECISION_FIELDS,
    check_comparable,
    describe,
    differences,
)
from negbench.harness.reporting.crossfit import crossfit_note, fold_queries, merge_folds


@dataclass
class System:
    """One row of the table."""

    name: str
    kind: str  # "zero-shot" or "trained"
    records: list[dict]
    per_query: dict[str, dict[str, float]]  # measure -> qid -> mean over seeds
    summaries: dict[str, stats.Summary]  # measure -> summary over seeds

    @property
    def label(self) -> str:
        return f"{self.name} (zero-shot)" if self.kind == "zero-shot" else self.name

    @property
    def seeds(self) -> list[int]:
        return sorted(r["seed"] for r in self.records if "seed" in r)

    @property
    def random(self) -> bool:
        """Trained systems vary with the seed; zero-shot ones are deterministic."""
        return self.kind == "trained"

    def seed_scores(self, measure: str) -> list[dict[str, float]]:
        """Per-query scores of ``measure``, one dict per seed (record)."""
        return [r["per_query"][measure] for r in self.records]

    def extra(self, key: str, field_name: str) -> stats.Summary | None:
        """Summary over seeds of ``record[key][field_name]`` if every seed carries it."""
        vals = [(r.get(key) or {}).get(field_name) for r in self.records]
        if not vals or any(v is None for v in vals):
            return None
        return stats.summarize([float(v) for v in vals])


@dataclass
class Report:
    suite: str
    split: str
    profile: str
    profile_description: str
    num_queries: int
    budget: dict | None
    model: str | None
    measures: list[str]
    systems: list[System]
    baseline: str  # reference for markers and the per-query difference plot
    all_pairs: bool  # compare every pair, not only each system against the baseline
    test: str
    correction: str
    alpha: float
    n_resamples: int
    seed: int
    comparisons: list[stats.Comparison] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def system(self, name: str) -> System:
        for s in self.systems:
            if name in (s.name, s.label):
                return s
        raise NegbenchError(f"no system {name!r} in the results; known: "
                            f"{', '.join(s.name for s in self.systems)}")

    def comparison(self, a: str, b: str, measure: str) -> stats.Comparison | None:
        for c in self.comparisons:
            if (c.a, c.b, c.measure) == (a, b, measure):
                return c
        return None


def _same(records: list[dict], key: str, what: str) -> object:
    values = {json.dumps(r.get(key), sort_keys=True) for r in records}
    if len(values) > 1:
        raise NegbenchError(f"records disagree on {what} ({', '.join(sorted(values))}); "
                            "report one suite/split/profile per folder")
    return records[0].get(key)


def _mean_per_query(records: list[dict], measure: str, label: str) -> dict[str, float]:
    first = records[0]["per_query"].get(measure)
    if first is None:
        raise NegbenchError(f"{label}: record has no per-query scores for {measure}")
    qids = sorted(first)
    for r in records[1:]:
        stats.aligned(first, r["per_query"].get(measure, {}), f"{label} seeds ({measure})")
    return {q: float(np.mean([r["per_query"][measure][q] for r in records])) for q in qids}


def build_systems(records: list[dict], measures: list[str]) -> list[System]:
    """Zero-shot records first (file order), then trained samplers (first-seen order).
    Cross-fitted records: a seed is the union of its fold records (``crossfit.merge_folds``;
    a seed missing folds is refused naming them)."""
    records = merge_folds(records)
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        if r.get("kind") not in ("zero-shot", "trained"):
            raise NegbenchError(f"record {r.get('name')!r} has unknown kind {r.get('kind')!r}")
        groups.setdefault((r["kind"], r["name"]), []).append(r)
    systems = []
    for kind in ("zero-shot", "trained"):
        for (k, name), recs in groups.items():
            if k != kind:
                continue
            if kind == "trained":
                recs = sorted(recs, key=lambda r: r["seed"])
                configs = {json.dumps({**r.get("config", {}), "seed": None}, sort_keys=True)
                           for r in recs}
                if len(configs) > 1:
                    raise NegbenchError(f"sampler {name!r}: records with different "
                                        "parameters or budgets in one folder")
                seeds = [r["seed"] for r in recs]
                if len(set(seeds)) != len(seeds):
                    raise NegbenchError(f"sampler {name!r}: duplicate seeds {seeds}")
            elif len(recs) > 1:
                raise NegbenchError(f"{len(recs)} zero-shot records named {name!r}")
            label = name if kind == "trained" else f"{name} (zero-shot)"
            for m in measures:
                missing = [r.get("seed", "-") for r in recs if m not in r["metrics"]]
                if missing:
                    raise NegbenchError(f"{label}: no {m} in records (seeds {missing})")
            per_query = {m: _mean_per_query(recs, m, label) for m in measures}
            summaries = {m: stats.summarize([r["metrics"][m] for r in recs]) for m in measures}
            systems.append(System(name, kind, recs, per_query, summaries))
    return systems


def families(rep: Report, comparisons: list[stats.Comparison]
             ) -> tuple[list[stats.Comparison], list[stats.Comparison]]:
    """The correction families of one measure: (the trained systems' comparisons, against the
    baseline or every trained pair; those with a zero-shot side, corrected apart). Either may
    be empty."""
    trained: list[stats.Comparison] = []
    other: list[stats.Comparison] = []
    for c in comparisons:
        both = rep.system(c.a).random and rep.system(c.b).random
        (trained if both else other).append(c)
    return trained, other


def family_note(rep: Report) -> str:
    """One line under each table: what was corrected together."""
    corr = stats.CORRECTIONS[rep.correction]
    trained, zero = families(rep, [c for c in rep.comparisons if c.measure == rep.measures[0]])
    what = ("every pair of trained systems" if rep.all_pairs
            else f"the trained systems vs `{rep.baseline}`")
    line = (f"{corr} family (per measure): {what}, {len(trained)} comparisons"
            if trained else "No comparison between trained systems")
    if zero:
        line += (f"; the {len(zero)} comparisons with a zero-shot row are corrected as their "
                 "own family")
    return line + "."


def default_baseline(systems: list[System]) -> str:
    """``in-batch`` if present (the no-mining baseline), else the first trained system."""
    trained = [s.name for s in systems if s.kind == "trained"]
    if "in-batch" in trained:
        return "in-batch"
    return trained[0] if trained else systems[0].name


def build_report(records: list[dict], measures: list[str] | None = None,
                 baseline: str | None = None, all_pairs: bool = False, test: str = "t",
                 correction: str = "holm", alpha: float = 0.05, n_resamples: int = 10_000,
                 seed: int = 0, mixed_precision: bool = False) -> Report:
    """Summaries per system and paired comparisons (against ``baseline`` or all pairs),
    corrected per measure (one family = the comparisons of one measure). Records of
    different precisions (fp32, bf16) are refused unless ``mixed_precision`` (then a note
    counts them)."""
    if not records:
        raise NegbenchError("no records to report")
    if test not in stats.TESTS:
        raise NegbenchError(f"unknown test {test!r}; known: {', '.join(stats.TESTS)}")
    if correction not in stats.CORRECTIONS:
        raise NegbenchError(f"unknown correction {correction!r}; known: "
                            f"{', '.join(stats.CORRECTIONS)}")
    if not 0 < alpha < 1:
        raise NegbenchError(f"alpha must be in (0, 1), got {alpha}")
    check_comparable(records, mixed_precision=mixed_precision)
    suite = _same(records, "suite", "the suite")
    split = _same(records, "split", "the split")
    profile = _same(records, "conventions", "the conventions")["profile"]
    measures = (list(records[0]["metrics"]) if measures is None else  # any spelling
                select_measures(measures, (m for r in records for m in r["metrics"])))
    systems = build_systems(records, measures)
    folds = fold_queries(records)  # cross-fitted: queries nested in folds in the seed test
    trained = next((r for s in systems if s.kind == "trained" for r in s.records), None)
    rep = Report(suite, split, profile, get_profile(profile).description,
                 systems[0].records[0].get("num_queries", 0),
                 trained["budget"] if trained else None,
                 trained.get("model") if trained else None, measures, systems,
                 "", all_pairs, test, correction, alpha, n_resamples, seed)
    rep.baseline = rep.system(baseline).name if baseline else default_baseline(systems)
    if all_pairs:
        pairs = [(a.name, b.name) for a, b in combinations(systems, 2)]
    else:
        pairs = [(s.name, rep.baseline) for s in systems if s.name != rep.baseline]
    for m in measures:
        done = [stats.compare(a, rep.system(a).seed_scores(m), b, rep.system(b).seed_scores(m),
                              m, test, n_resamples=n_resamples, seed=seed,
                              random_a=rep.system(a).random, random_b=rep.system(b).random,
                              alpha=alpha, folds=folds,
                              paired=stats.paired_seeds(rep.system(a).seeds,
                                                        rep.system(b).seeds))
                for a, b in pairs]
        for family in families(rep, done):
            stats.correct_family(family, correction, alpha)
        rep.comparisons.extend(done)
    if not pairs:
        rep.notes.append("Only one system: no comparisons.")
    mixed = differences(records)
    if any(f in mixed for f in PRECISION_FIELDS):
        rep.notes.append("Mixed precisions (--mixed-precision): " + describe(
            {f: c for f, c in mixed.items() if f in PRECISION_FIELDS}) + ".")
    cross = crossfit_note([r for s in systems for r in s.records])
    if cross:
        rep.notes.append(cross)
    return rep
