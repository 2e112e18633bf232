"""Statistics on real per-query scores: two BM25 configurations and a noised run on SciFact."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from negbench.harness.evaluation.conventions import get_profile
from negbench.harness.evaluation.evaluate import evaluate_run
from negbench.harness.evaluation.measures import parse_measures
from negbench.harness.reporting import stats


def _per_query(scifact, run) -> dict[str, float]:
    ev = evaluate_run(scifact.test.qrels, run, parse_measures(["nDCG@10"]), get_profile("beir"))
    return ev.per_query["nDCG@10"]


@pytest.fixture(scope="module")
def systems(scifact, cache_dir):
    """Real per-query nDCG@10 of: BM25 (0.9, 0.4), BM25 (1.2, 0.75), BM25 (0.9, 0.4) with
    N(0, 2) noise on its scores (a genuinely worse ranking)."""
    from negbench.harness.retrieval.bm25 import BM25

    queries = scifact.test.queries
    run = BM25(scifact.corpus, cache_dir).search(queries, 100)
    other = BM25(scifact.corpus, cache_dir, k1=1.2, b=0.75).search(queries, 100)
    rng = np.random.default_rng(7)
    noisy = {q: [(d, s + rng.normal(0, 2.0)) for d, s in hits] for q, hits in run.items()}
    return {"bm25": _per_query(scifact, run), "bm25-default": _per_query(scifact, other),
            "bm25-noisy": _per_query(scifact, noisy)}


def test_paired_t_equals_scipy_and_the_formula(systems):
    _, a, b = stats.aligned(systems["bm25"], systems["bm25-default"])
    p = stats.paired_t(a, b)
    assert abs(p - sps.ttest_rel(a, b).pvalue) <= 1e-9
    d = a - b
    t = d.mean() / (d.std(ddof=1) / math.sqrt(d.size))
    assert abs(p - 2 * sps.t.sf(abs(t), d.size - 1)) <= 1e-9
    assert 0 < p < 1


def test_permutation_equals_scipy_with_fixed_seed(systems):
    _, a, b = stats.aligned(systems["bm25"], systems["bm25-noisy"])
    p = stats.permutation(a, b, n_resamples=2000, seed=11)
    ref = sps.permutation_test((a, b), lambda x, y, axis: np.mean(x - y, axis=axis),
                               permutation_type="samples", vectorized=True, n_resamples=2000,
                               rng=np.random.default_rng(11)).pvalue
    assert abs(p - ref) <= 1e-9
    assert p == stats.permutation(a, b, n_resamples=2000, seed=11)  # reproducible


def test_permutation_is_exact_sign_flip_test_on_small_samples(systems):
    """12 queries with differences: scipy enumerates all 2^12 swaps; check by brute force."""
    _, a, b = stats.aligned(systems["bm25"], systems["bm25-noisy"])
    d = a - b
    idx = np.flatnonzero(d != 0)[:12]
    a, b, d = a[idx], b[idx], d[idx]
    observed = abs(d.mean())
    flips = np.array(list(itertools.product([1, -1], repeat=d.size)))
    brute = np.mean(np.abs((flips * d).mean(axis=1)) >= observed - 1e-12)
    assert abs(stats.permutation(a, b, n_resamples=10_000) - brute) <= 1e-9


def test_corrected_p_values_equal_statsmodels_and_holm_by_hand(systems):
    names = list(systems)
    raw = [stats.compare(x, systems[x], y, systems[y], "nDCG@10").p
           for x, y in itertools.combinations(names, 2)]
    for method in ("holm", "bonferroni"):
        ref = multipletests(raw, method=method)[1]
        assert np.allclose(stats.correct(raw, method), ref, atol=1e-12, rtol=0)
    order = np.argsort(raw)
    m, running, holm = len(raw), 0.0, [0.0] * len(raw)
    for k, i in enumerate(order):
        running = max(running, min(1.0, (m - k) * raw[i]))
        holm[i] = running
    assert np.allclose(stats.correct(raw, "holm"), holm, atol=1e-12, rtol=0)
    assert stats.correct(raw, "none") == raw


def test_identical_runs_are_not_significant(systems):
    c = stats.compare("a", systems["bm25"], "b", dict(systems["bm25"]), "nDCG@10")
    stats.correct_family([c])
    assert c.diff == 0 and c.dz == 0 and c.p == 1.0 and not c.significant
    assert (c.diff_ci_low, c.diff_ci_high) == (0.0, 0.0)


def test_a_real_drop_is_detected_with_effect_size(systems):
    family = [stats.compare("bm25-noisy", systems["bm25-noisy"], "bm25", systems["bm25"],
                            "nDCG@10", test=t) for t in ("t", "permutation")]
    stats.correct_family(family, "holm")
    for c in family:
        assert c.diff < 0 and c.significant
        assert c.diff_ci_low < c.diff < c.diff_ci_high < 0
        assert c.dz < 0
    assert family[0].mean_b - family[0].mean_a == pytest.approx(-family[0].diff)


def test_seed_summary_is_the_student_t_interval():
    vals = [0.61, 0.64, 0.62]
    s = stats.summarize(vals)
    half = sps.t.ppf(0.975, 2) * np.std(vals, ddof=1) / math.sqrt(3)
    assert s.mean == pytest.approx(np.mean(vals))
    assert (s.ci_low, s.ci_high) == pytest.approx((s.mean - half, s.mean + half))
    one = stats.summarize([0.5])
    assert one.mean == 0.5 and math.isnan(one.sd) and math.isnan(one.ci_low)


def test_runs_on_different_queries_are_an_error(systems):
    from negbench.harness.errors import NegbenchError

    partial = dict(list(systems["bm25"].items())[:10])
    with pytest.raises(NegbenchError, match="not on the same queries"):
        stats.compare("a", systems["bm25"], "b", partial, "nDCG@10")
