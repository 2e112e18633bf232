"""Statistics over result records: seed summaries, paired tests on per-query scores, correction.

scipy does the tests (``ttest_rel``, ``permutation_test``, ``bootstrap``, ``t.interval``) and
statsmodels the multiple-comparison correction (``multipletests``); this module only feeds
them aligned per-query vectors and names the results.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats as sps

from negbench.harness.errors import NegbenchError

TESTS = {"t": "paired t-test (scipy.stats.ttest_rel)",
         "permutation": "Fisher randomization test, paired sign flips "
                        "(scipy.stats.permutation_test)"}
CORRECTIONS = {"holm": "Holm", "bonferroni": "Bonferroni", "none": "no correction"}


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
    return [float(p) for p in multipletests(pvalues, alpha=alpha, method=method)[1]]


@dataclass
class Comparison:
    """System ``a`` against system ``b`` on one measure, over the same queries."""

    a: str
    b: str
    measure: str
    n_queries: int
    mean_a: float
    mean_b: float
    diff: float  # mean of a - b
    diff_ci_low: float  # bootstrap 95% interval of the mean difference
    diff_ci_high: float
    dz: float  # Cohen's d_z
    test: str
    p: float
    p_adj: float = math.nan
    significant: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def compare(name_a: str, a: dict[str, float], name_b: str, b: dict[str, float], measure: str,
            test: str = "t", alternative: str = "two-sided", n_resamples: int = 10_000,
            seed: int = 0) -> Comparison:
    """Paired comparison of two per-query score dicts (uncorrected p)."""
    _, x, y = aligned(a, b, f"{name_a} and {name_b} ({measure})")
    lo, hi = bootstrap_diff_ci(x, y, n_resamples, seed)
    return Comparison(name_a, name_b, measure, int(x.size), float(x.mean()), float(y.mean()),
                      float((x - y).mean()), lo, hi, cohens_dz(x, y), test,
                      p_value(test, x, y, alternative, n_resamples, seed))


def correct_family(comparisons: list[Comparison], method: str = "holm",
                   alpha: float = 0.05) -> None:
    """Fill ``p_adj`` and ``significant`` of one family of comparisons in place."""
    for c, p in zip(comparisons, correct([c.p for c in comparisons], method, alpha)):
        c.p_adj = p
        c.significant = p < alpha
