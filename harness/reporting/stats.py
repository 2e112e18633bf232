"""Statistics over result records: seed summaries, the seed-aware test, paired query-level
tests, multiple-comparison correction.

The primary test (``seed_test``) accounts for both levels of randomness, queries and training
seeds: a t-test whose variance is a seed component (the spread of each system's per-seed means,
Welch style) plus a query component (the per-query differences averaged over seeds, minus the
seed-by-query noise already in the seed component), with Satterthwaite degrees of freedom. See
docs/statistics.md for the derivation and its calibration on real records.

The query-level tests (scipy ``ttest_rel``, ``permutation_test``, ``bootstrap``) stay as
secondary information; statsmodels does the correction (``multipletests``).
"""

from __future__ import annotations

import gc
import math
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import stats as sps

from negbench.harness.errors import NegbenchError

TESTS = {"t": "paired t-test (scipy.stats.ttest_rel)",
         "permutation": "Fisher randomization test, paired sign flips "
                        "(scipy.stats.permutation_test)"}
CORRECTIONS = {"holm": "Holm", "hochberg": "Hochberg", "bonferroni": "Bonferroni",
               "none": "no correction"}
# statsmodels' names; Hochberg (step-up) is valid here: the comparisons of a family share
# the baseline, so their test statistics are positively dependent
_STATSMODELS = {"holm": "holm", "hochberg": "simes-hochberg", "bonferroni": "bonferroni"}


@dataclass(frozen=True)
class Summary:
    """Mean over seeds with sample sd and a 95% t-interval (nan with fewer than 2 seeds)."""

    n: int
    mean: float
    sd: float
    ci_low: float
    ci_high: float


def summarize(values: list[float], confidence: float = 0.95) -> Summary:
    """Mean, sd (ddof 1) and Student-t interval of the mean of ``values`` (one per seed)."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise NegbenchError("no values to summarize")
    mean = float(x.mean())
    if x.size < 2:
        return Summary(1, mean, math.nan, math.nan, math.nan)
    sd = float(x.std(ddof=1))
    if sd == 0.0:
        return Summary(int(x.size), mean, 0.0, mean, mean)
    lo, hi = sps.t.interval(confidence, x.size - 1, loc=mean, scale=sps.sem(x))
    return Summary(int(x.size), mean, sd, float(lo), float(hi))


def aligned(a: dict[str, float], b: dict[str, float], what: str = "runs"
            ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Per-query scores of two runs on the same queries, as two vectors in query order."""
    if set(a) != set(b):
        only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
        raise NegbenchError(f"{what} are not on the same queries ({len(only_a)} only in the "
                            f"first, e.g. {only_a[:3]}; {len(only_b)} only in the second, "
                            f"e.g. {only_b[:3]})")
    qids = sorted(a)
    if not qids:
        raise NegbenchError(f"{what} have no per-query scores")
    return qids, np.array([a[q] for q in qids], float), np.array([b[q] for q in qids], float)


def _degenerate_p(d: np.ndarray, alternative: str) -> float | None:
    """p-value when every difference is equal (the tests' statistic is undefined or trivial)."""
    if not np.all(d == d[0]):
        return None
    if d[0] == 0:
        return 1.0
    if alternative == "two-sided" or (alternative == "less") == (d[0] < 0):
        return 0.0
    return 1.0


def paired_t(a: np.ndarray, b: np.ndarray, alternative: str = "two-sided") -> float:
    """p-value of scipy's paired t-test of ``a`` against ``b``."""
    p = _degenerate_p(a - b, alternative)
    if p is not None:
        return p
    return float(sps.ttest_rel(a, b, alternative=alternative).pvalue)


def _mean_diff(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x - y, axis=axis)


def permutation(a: np.ndarray, b: np.ndarray, alternative: str = "two-sided",
                n_resamples: int = 10_000, seed: int = 0) -> float:
    """p-value of the Fisher randomization test: swap each pair's two scores at random
    (``permutation_type="samples"``), statistic = mean difference. Exact when
    ``2**n <= n_resamples``."""
    p = _degenerate_p(a - b, alternative)
    if p is not None:
        return p
    res = sps.permutation_test((a, b), _mean_diff, permutation_type="samples",
                               vectorized=True, n_resamples=n_resamples,
                               alternative=alternative, rng=np.random.default_rng(seed))
    return float(res.pvalue)


def bootstrap_diff_ci(a: np.ndarray, b: np.ndarray, n_resamples: int = 10_000, seed: int = 0,
                      confidence: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean per-query difference ``a - b``."""
    d = a - b
    if np.all(d == d[0]):
        return float(d[0]), float(d[0])
    res = sps.bootstrap((d,), np.mean, n_resamples=n_resamples, confidence_level=confidence,
                        method="percentile", rng=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def cohens_dz(a: np.ndarray, b: np.ndarray) -> float:
    """Standardized paired effect: mean difference / sd of the differences (Cohen's d_z)."""
    d = a - b
    sd = float(d.std(ddof=1)) if d.size > 1 else 0.0
    if sd == 0.0:
        return 0.0 if float(d.mean()) == 0.0 else math.copysign(math.inf, float(d.mean()))
    return float(d.mean()) / sd


def p_value(test: str, a: np.ndarray, b: np.ndarray, alternative: str = "two-sided",
            n_resamples: int = 10_000, seed: int = 0) -> float:
    if test == "t":
        return paired_t(a, b, alternative)
    if test == "permutation":
        return permutation(a, b, alternative, n_resamples, seed)
    raise NegbenchError(f"unknown test {test!r}; known: {', '.join(TESTS)}")


def correct(pvalues: list[float], method: str = "holm", alpha: float = 0.05) -> list[float]:
    """Adjusted p-values (statsmodels ``multipletests``); ``none`` returns them unchanged."""
    from statsmodels.stats.multitest import multipletests

    if method not in CORRECTIONS:
        raise NegbenchError(f"unknown correction {method!r}; known: {', '.join(CORRECTIONS)}")
    if method == "none" or not pvalues:
        return [float(p) for p in pvalues]
    gc.freeze()  # statsmodels' Holm calls gc.collect() each time: a full pass over the
    try:  # process's heap (~0.6 s with a report's records loaded, benchmarks/report_speed.py)
        return [float(p) for p in multipletests(pvalues, alpha=alpha,
                                                method=_STATSMODELS[method])[1]]
    finally:
        gc.unfreeze()


def corrected_alpha(alpha: float, m: int, method: str) -> float:
    """The level a comparison must reach at the correction's strictest step: α / m for Holm,
    Hochberg and Bonferroni (the smallest p is tested there), α without correction."""
    return alpha if method == "none" or m <= 1 else alpha / m


SEED_TEST = ("seed-aware t-test: variance = seed component (per-seed means; paired by seed "
             "where both sides ran the same seeds, else Welch) + query component (per-query "
             "differences), Satterthwaite df")
CORRECTED_ALPHA = "α / m (the correction's first and strictest step; m = the family's size)"


@dataclass(frozen=True)
class Components:
    """Variance components of one comparison, per unit (one seed, one query).

    ``query``: variance over queries of the systematic per-query difference A - B;
    ``seed_x``: variance of a seed's effect on system x's mean score (seed main effect);
    ``inter_x``: seed-by-query variance of x (how much one query's score moves with the seed).
    Deterministic systems (zero-shot) have 0 seed and interaction variance. ``paired``: the
    seeds are paired (common random numbers) and ``seed_a``/``inter_a`` are those of the
    per-seed difference A - B (``seed_b``/``inter_b`` are 0)."""

    query: float
    seed_a: float
    seed_b: float
    inter_a: float
    inter_b: float
    paired: bool = False

    def variance(self, seeds_a: int, seeds_b: int, n_queries: int) -> float:
        """Variance of the difference of means for the given numbers of seeds and queries."""
        if self.paired:
            return self.query / n_queries + (self.seed_a + self.inter_a / n_queries) / seeds_a
        return (self.query / n_queries
                + (self.seed_a + self.inter_a / n_queries) / seeds_a
                + (self.seed_b + self.inter_b / n_queries) / seeds_b)


@dataclass(frozen=True)
class SeedTest:
    """Result of ``seed_test``: difference of means, its seed-aware standard error, df,
    p-value, interval and minimum detectable effect (80% power unless told otherwise)."""

    diff: float
    se: float
    df: float
    t: float
    p: float
    ci_low: float
    ci_high: float
    mde: float
    seeds_a: int
    seeds_b: int
    n_queries: int
    seed_variance: str  # "estimated", "borrowed" (one side has 1 seed), "none" (not estimable)
    components: Components
    paired: bool = False  # seeds paired (same seeds on both sides: common random numbers)
    blocks: int = 1  # query blocks (cross-fitting folds) the queries are nested in


def two_way(y: np.ndarray) -> tuple[float, float]:
    """(sample variance of the per-seed means, seed-by-query mean square) of a seeds x queries
    matrix (two-way ANOVA without replication)."""
    k, n = y.shape
    seed_means = y.mean(axis=1)
    resid = y - seed_means[:, None] - y.mean(axis=0)[None, :] + y.mean()
    return float(seed_means.var(ddof=1)), float((resid ** 2).sum() / ((k - 1) * (n - 1)))


def _seed_estimate(y: np.ndarray) -> tuple[float, float, float]:
    """(variance of one seed's mean score, seed-by-query mean square, df of the first) of a
    seeds x queries matrix. The first is floored at MS_inter / n: a seed's mean varies at least
    by its seed-by-query noise, which n queries estimate precisely, while k - 1 df of seed means
    can come out far too small by chance. Where the floor binds, the estimate *is*
    MS_inter / n and carries its (k - 1)(n - 1) df; otherwise the seed means' k - 1."""
    vm, inter = two_way(y)
    k, n = y.shape
    if vm < inter / n:
        return inter / n, inter, float((k - 1) * (n - 1))
    return vm, inter, float(k - 1)


def _quantiles(alpha: float, power: float, df: float, alternative: str) -> float:
    crit = sps.t.ppf(1 - (alpha / 2 if alternative == "two-sided" else alpha), df)
    return float(crit + sps.t.ppf(power, df))


def min_detectable_effect(se: float, df: float, alpha: float = 0.05, power: float = 0.8,
                          alternative: str = "two-sided") -> float:
    """Smallest true difference the t-test detects with probability ``power`` at level ``alpha``
    given its standard error and df: ``(t_{1-alpha/2} + t_{power}) * se``."""
    if se == 0.0:
        return 0.0
    return _quantiles(alpha, power, df, alternative) * se


def power_at(effect: float, se: float, df: float, alpha: float = 0.05) -> float:
    """Probability that the two-sided t-test at ``alpha`` rejects when the true difference is
    ``effect`` (noncentral t with the comparison's se and df)."""
    if se == 0.0:
        return 1.0 if effect else alpha
    crit = sps.t.ppf(1 - alpha / 2, df)
    nc = abs(effect) / se
    if not math.isfinite(df):
        return float(sps.norm.sf(crit - nc) + sps.norm.cdf(-crit - nc))
    return float(sps.nct.sf(crit, df, nc) + sps.nct.cdf(-crit, df, nc))


def satterthwaite(terms: list[tuple[float, float]]) -> float:
    """Satterthwaite df of a sum of independent variance estimates ``[(value, df), ...]``
    (each value's sign does not matter: it enters squared)."""
    total = sum(v for v, _ in terms)
    denom = sum(v * v / d for v, d in terms if d > 0 and v != 0)
    return math.inf if denom == 0 else total * total / denom


@dataclass(frozen=True)
class _Block:
    """One block of queries (all queries, or one cross-fitting fold): its difference of means
    and the variance terms ``[(value, df), ...]`` of that difference."""

    diff: float
    terms: list[tuple[float, float, str]]  # (value, df, which estimate)
    comps: Components
    how: str
    paired: bool


def _query_terms(s2q: float, n: int, inter_terms: list[tuple[float, float, str]]
                 ) -> list[tuple[float, float, str]]:
    """The query part: the per-query differences' variance / n minus the seed-by-query noise
    already counted in the seed part, dropped (both) when the difference is not positive."""
    if s2q / n - sum(v for v, _, _ in inter_terms) > 0:
        return [(s2q / n, n - 1, "query")] + [(-v, df, key) for v, df, key in inter_terms]
    return []


def _merged(terms: list[tuple[float, float, str]]) -> list[tuple[float, float]]:
    """``(value, df)`` per distinct estimate: terms that reuse one estimate (a seed variance
    floored at MS_inter / n and the MS_inter / n subtracted from the query part) are one term,
    so they cancel instead of counting twice in the Satterthwaite df."""
    out: dict[str, list[float]] = {}
    for v, df, key in terms:
        out.setdefault(key, [0.0, df])[0] += v
    return [(v, df) for v, df in out.values() if v != 0.0]


def _paired_block(a: np.ndarray, b: np.ndarray) -> _Block:
    """Seeds paired (same seeds on both sides): the two-way analysis of the per-seed
    differences A - B (seed s of A and seed s of B share data order and draws)."""
    d = a - b
    k, n = d.shape
    v_seed, inter, df_seed = _seed_estimate(d)
    dq = d.mean(axis=0)
    s2q = float(dq.var(ddof=1))
    floored = df_seed > k - 1
    terms = [(v_seed / k, df_seed, "ms" if floored else "seed")] + _query_terms(
        s2q, n, [(inter / (k * n), (k - 1) * (n - 1), "ms")])
    comps = Components(max(0.0, s2q - inter / k), max(0.0, v_seed - inter / n), 0.0, inter, 0.0,
                       paired=True)
    return _Block(float(dq.mean()), terms, comps, "estimated", True)


def _unpaired_block(a: np.ndarray, b: np.ndarray, random_a: bool, random_b: bool) -> _Block:
    n, ka, kb = a.shape[1], a.shape[0], b.shape[0]
    d = a.mean(axis=0) - b.mean(axis=0)
    s2d = float(d.var(ddof=1))
    sides = {"a": (a, random_a), "b": (b, random_b)}
    k = {"a": ka, "b": kb}
    # side -> (variance of its per-seed means, its seed-by-query mean square, df of the first)
    est = {s: _seed_estimate(y) for s, (y, rnd) in sides.items() if rnd and y.shape[0] >= 2}
    need = [s for s, (y, rnd) in sides.items() if rnd and y.shape[0] < 2]
    if not est and not need:
        how = "fixed"  # both deterministic: only queries vary
    elif need:
        how = "borrowed" if est else "none"
    else:
        how = "estimated"
    # one (seed, interaction) estimate per estimated side; a 1-seed side borrows the other's,
    # which then counts with weight 1/k_other + 1/1 (one estimate, its df once)
    weight = {s: 1 / k[s] + (len(need) if len(est) == 1 else 0) for s in est}
    seed_terms = [(est[s][0] * weight[s], est[s][2],
                   f"ms-{s}" if est[s][2] > k[s] - 1 else f"seed-{s}") for s in est]
    inter_terms = [(est[s][1] * weight[s] / n, (k[s] - 1) * (n - 1), f"ms-{s}") for s in est]
    terms = seed_terms + _query_terms(s2d, n, inter_terms)
    donor = next(iter(est.values())) if len(est) == 1 else None
    inter = {s: est[s][1] if s in est else (donor[1] if s in need and donor else 0.0)
             for s in k}
    seedv = {s: max(0.0, est[s][0] - est[s][1] / n) if s in est
             else (max(0.0, donor[0] - donor[1] / n) if s in need and donor else 0.0)
             for s in k}
    comps = Components(max(0.0, s2d - inter["a"] / ka - inter["b"] / kb), seedv["a"],
                       seedv["b"], inter["a"], inter["b"])
    return _Block(float(d.mean()), terms, comps, how, False)


def _block(a: np.ndarray, b: np.ndarray, random_a: bool, random_b: bool, paired: bool
           ) -> _Block:
    if paired and random_a and random_b and a.shape[0] == b.shape[0] >= 2:
        return _paired_block(a, b)
    return _unpaired_block(a, b, random_a, random_b)


def seed_test(a: np.ndarray, b: np.ndarray, random_a: bool = True, random_b: bool = True,
              alternative: str = "two-sided", alpha: float = 0.05, power: float = 0.8,
              confidence: float = 0.95, paired: bool = False,
              blocks: list[np.ndarray] | None = None) -> SeedTest:
    """Seed-aware test of mean(A) = mean(B) from seeds x queries score matrices (same queries,
    same column order). ``random_x`` False marks a deterministic system (zero-shot): no seed
    variance.

    Unpaired (``paired`` False, or seeds that do not match): Var(diff) = Var_q / n +
    sum_x V_x / k_x. V_x = sample variance of x's per-seed means (k_x - 1 df), floored at
    MS_inter_x / n (a seed mean varies at least by its seed-by-query noise; where the floor
    binds it carries (k_x - 1)(n - 1) df). Var_q = variance of the seed-averaged per-query
    differences minus sum_x MS_inter_x / k_x (that noise is already in V_x), floored at 0.
    Paired (``paired`` True and both sides have the same k >= 2 seeds, row s of A and row s of
    B being one seed: common random numbers): the same analysis on the per-seed differences
    A - B, whose seed variance already nets out what the two sides share. df by Satterthwaite.
    A trained system with one seed borrows the other side's seed variance; with no seed
    variance estimable at all the test is the paired t-test on the seed-averaged scores
    (``seed_variance == "none"``).

    ``blocks``: column indices of query blocks the queries are nested in (cross-fitting: each
    fold's queries were evaluated by its own runs). The difference and its variance are the
    query-weighted sums of the blocks' (weights n_f / n, variances times (n_f / n)^2)."""
    a, b = np.atleast_2d(np.asarray(a, float)), np.atleast_2d(np.asarray(b, float))
    if a.shape[1] != b.shape[1] or a.shape[1] < 2:
        raise NegbenchError(f"seed test needs the same >= 2 queries on both sides, got "
                            f"{a.shape[1]} and {b.shape[1]}")
    n, ka, kb = a.shape[1], a.shape[0], b.shape[0]
    cols = [np.asarray(c, int) for c in blocks] if blocks else [np.arange(n)]
    if sorted(int(i) for c in cols for i in c) != list(range(n)):
        raise NegbenchError("query blocks must partition the queries (each exactly once)")
    if any(c.size < 2 for c in cols):
        raise NegbenchError("every query block (fold) needs >= 2 queries")
    parts = [_block(a[:, c], b[:, c], random_a, random_b, paired) for c in cols]
    whole = parts[0] if len(cols) == 1 else _block(a, b, random_a, random_b, paired)
    weights = [c.size / n for c in cols]
    diff = float(sum(w * p.diff for w, p in zip(weights, parts)))
    terms = [(w * w * v, df) for i, (w, p) in enumerate(zip(weights, parts))
             for v, df in _merged([(v, df, f"{i}-{key}") for v, df, key in p.terms])]
    var = sum(v for v, _ in terms)
    df = satterthwaite(terms) if var > 0 else math.inf
    se = math.sqrt(max(var, 0.0))
    info = {"seeds_a": ka, "seeds_b": kb, "n_queries": n, "seed_variance": whole.how,
            "components": whole.comps, "paired": whole.paired, "blocks": len(cols)}
    if se == 0.0:
        p = _degenerate_p(np.array([diff]), alternative)
        return SeedTest(diff, 0.0, df, math.copysign(math.inf, diff) if diff else 0.0, p,
                        diff, diff, 0.0, **info)
    t = diff / se
    if alternative == "two-sided":
        p = 2 * sps.t.sf(abs(t), df)
    elif alternative == "less":
        p = sps.t.cdf(t, df)
    elif alternative == "greater":
        p = sps.t.sf(t, df)
    else:
        raise NegbenchError(f"unknown alternative {alternative!r}")
    half = sps.t.ppf(1 - (1 - confidence) / 2, df) * se
    return SeedTest(diff, se, float(df), float(t), float(p), diff - half, diff + half,
                    min_detectable_effect(se, df, alpha, power, alternative), **info)


def projected_se_df(comps: Components, seeds_a: int, seeds_b: int, n_queries: int,
                    random_a: bool = True, random_b: bool = True, folds: int = 1
                    ) -> tuple[float, float]:
    """Standard error and Satterthwaite df of the difference for other numbers of seeds,
    queries and cross-fitting folds, from estimated variance components. With K folds of equal
    size each (fold, seed) run moves only its fold's queries, so a seed main effect enters
    divided by K (and brings K (k - 1) df)."""
    ka, kb = (seeds_a if random_a else 1), (seeds_b if random_b else 1)
    q = comps.query / n_queries
    sides = ([(comps.seed_a, comps.inter_a, ka)] if comps.paired else
             [(comps.seed_a, comps.inter_a, ka), (comps.seed_b, comps.inter_b, kb)])
    terms = [(q, n_queries - 1)] + [((seed / folds + inter / n_queries) / k, folds * (k - 1))
                                    for seed, inter, k in sides if k > 1]
    var = sum(v for v, _ in terms)
    return math.sqrt(var), satterthwaite(terms)


def projected_mde(comps: Components, seeds_a: int, seeds_b: int, n_queries: int,
                  alpha: float = 0.05, power: float = 0.8, random_a: bool = True,
                  random_b: bool = True, folds: int = 1) -> float:
    """Minimum detectable effect (two-sided) for other numbers of seeds, queries and folds,
    from the estimated variance components."""
    se, df = projected_se_df(comps, seeds_a, seeds_b, n_queries, random_a, random_b, folds)
    return min_detectable_effect(se, df, alpha, power)


def mde_floor(comps: Components, n_queries: int, alpha: float = 0.05,
              power: float = 0.8) -> float:
    """The MDE with infinitely many seeds: what the query component alone leaves."""
    return min_detectable_effect(math.sqrt(comps.query / n_queries), n_queries - 1, alpha,
                                 power)


def seeds_needed(comps: Components, effect: float, n_queries: int, alpha: float = 0.05,
                 power: float = 0.8, folds: int = 1, max_seeds: int = 1000) -> int | None:
    """The fewest seeds per side (>= 2) whose projected MDE is <= ``effect``; None when even
    ``max_seeds`` do not reach it (the query floor, ``mde_floor``, may be above it)."""
    if mde_floor(comps, n_queries, alpha, power) > effect:
        return None
    lo, hi = 2, max_seeds
    if projected_mde(comps, hi, hi, n_queries, alpha, power, folds=folds) > effect:
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if projected_mde(comps, mid, mid, n_queries, alpha, power, folds=folds) <= effect:
            hi = mid
        else:
            lo = mid + 1
    return lo


@dataclass
class Comparison:
    """System ``a`` against system ``b`` on one measure, over the same queries.

    Primary (markers, regress gate): the seed-aware test (``p``, ``ci_low``/``ci_high``,
    ``mde``). Secondary: the query-level paired ``test`` on seed-averaged scores (``p_query``),
    its bootstrap interval and Cohen's d_z."""

    a: str
    b: str
    measure: str
    n_queries: int
    seeds_a: int
    seeds_b: int
    mean_a: float
    mean_b: float
    diff: float  # mean of a - b
    se: float  # seed-aware standard error of diff
    df: float  # Satterthwaite df
    ci_low: float  # seed-aware 95% interval of diff
    ci_high: float
    mde: float  # minimum detectable effect, 80% power, two-sided alpha (uncorrected)
    seed_variance: str  # "estimated", "borrowed" or "none" (see ``seed_test``)
    paired: bool  # seeds paired (both sides ran the same seeds: common random numbers)
    p: float  # seed-aware, two-sided
    diff_ci_low: float  # query-level percentile bootstrap 95% interval of diff
    diff_ci_high: float
    dz: float  # Cohen's d_z of the seed-averaged per-query differences
    test: str  # the secondary query-level test
    p_query: float
    p_adj: float = math.nan
    significant: bool = False
    p_query_adj: float = math.nan
    mde_corrected: float = math.nan  # the MDE at the corrected alpha (``CORRECTED_ALPHA``)
    family: int = 0  # size of the correction family this comparison was corrected in
    folds: int = 1  # query blocks (cross-fitting folds) the queries are nested in
    # the estimated variance components (projections: ``projected_mde``); not exported
    components: Components | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        """Every exported field (the variance components are not among them)."""
        out = asdict(self)
        out.pop("components")
        return out

    @classmethod
    def exported(cls) -> list[str]:
        return [f for f in cls.__dataclass_fields__ if f != "components"]


Scores = dict[str, float] | list[dict[str, float]]


def _matrix(runs: Scores, qids: list[str], what: str) -> np.ndarray:
    runs = [runs] if isinstance(runs, dict) else list(runs)
    if not runs:
        raise NegbenchError(f"{what}: no runs")
    for r in runs:
        aligned({q: 0.0 for q in qids}, r, what)
    return np.array([[r[q] for q in qids] for r in runs], float)


def paired_seeds(seeds_a: list[int], seeds_b: list[int]) -> bool:
    """Whether two trained systems' seeds pair up (the same >= 2 seeds): negbench derives the
    batch order, torch stream and per-pair draws from the seed, so seed s of A and seed s of
    B share them (common random numbers)."""
    return len(seeds_a) >= 2 and sorted(seeds_a) == sorted(seeds_b)


def query_blocks(qids: list[str], folds: list[list[str]] | None) -> list[np.ndarray] | None:
    """Column indices of each fold's queries in ``qids`` order (None without folds); every
    query must be in exactly one fold."""
    if not folds:
        return None
    where = {q: i for i, q in enumerate(qids)}
    seen = [q for f in folds for q in f]
    if len(seen) != len(set(seen)) or set(seen) != set(where):
        raise NegbenchError("the folds do not partition the compared queries (a query in no "
                            "fold, in two folds, or a fold query that was not scored)")
    return [np.array([where[q] for q in f], int) for f in folds]


def compare(name_a: str, a: Scores, name_b: str, b: Scores, measure: str, test: str = "t",
            alternative: str = "two-sided", n_resamples: int = 10_000, seed: int = 0,
            random_a: bool = True, random_b: bool = True, alpha: float = 0.05,
            paired: bool = False, folds: list[list[str]] | None = None) -> Comparison:
    """Compare two systems given as one per-query dict (one run) or a list of them (one per
    seed): seed-aware test (primary) and query-level ``test`` on the seed-averaged scores
    (secondary); uncorrected p-values. ``paired``: the i-th seed of A and of B are one seed
    (common random numbers). ``folds``: query ids per cross-fitting fold (queries nested in
    folds, see ``seed_test``)."""
    what = f"{name_a} and {name_b} ({measure})"
    first_a = a if isinstance(a, dict) else a[0]
    first_b = b if isinstance(b, dict) else b[0]
    qids, _, _ = aligned(first_a, first_b, what)
    ya, yb = _matrix(a, qids, what), _matrix(b, qids, what)
    x, y = ya.mean(axis=0), yb.mean(axis=0)
    blocks = query_blocks(qids, folds)
    st = seed_test(ya, yb, random_a, random_b, alternative, alpha, paired=paired, blocks=blocks)
    lo, hi = bootstrap_diff_ci(x, y, n_resamples, seed)
    return Comparison(name_a, name_b, measure, int(x.size), st.seeds_a, st.seeds_b,
                      float(x.mean()), float(y.mean()), float((x - y).mean()), st.se, st.df,
                      st.ci_low, st.ci_high, st.mde, st.seed_variance, st.paired, st.p, lo, hi,
                      cohens_dz(x, y), test, p_value(test, x, y, alternative, n_resamples, seed),
                      folds=st.blocks, components=st.components)


def correct_family(comparisons: list[Comparison], method: str = "holm",
                   alpha: float = 0.05) -> None:
    """Fill ``p_adj``/``significant`` (seed-aware), ``p_query_adj`` and ``mde_corrected``
    (the MDE at ``corrected_alpha``) of one family of comparisons in place."""
    level = corrected_alpha(alpha, len(comparisons), method)
    for c, p in zip(comparisons, correct([c.p for c in comparisons], method, alpha)):
        c.p_adj = p
        c.significant = p < alpha
        c.family = len(comparisons)
        c.mde_corrected = min_detectable_effect(c.se, c.df, level) if math.isfinite(
            c.mde) else math.nan
    for c, p in zip(comparisons, correct([c.p_query for c in comparisons], method, alpha)):
        c.p_query_adj = p
