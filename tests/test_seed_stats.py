"""The seed-aware test on the committed SciFact records (11 samplers x 3 seeds, 300 queries):
calibration under a null built from real seeds, power, MDE, reference equivalences, and the
refusal to compare records of different tracks/budgets/suites/models."""

from __future__ import annotations

import itertools
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from negbench.harness.errors import NegbenchError
from negbench.harness.reporting import simulate, stats
from negbench.harness.reporting.comparability import check_comparable

RUN = Path(__file__).resolve().parents[1] / "results" / "legacy-16-steps" / "scifact"
MEASURE = "nDCG@10"
ALPHA = 0.05


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((RUN / "records").glob("*.json"))]


@pytest.fixture(scope="module")
def seeds(records) -> dict[str, np.ndarray]:
    """Sampler -> its real seeds x queries nDCG@10 matrix (queries in one order)."""
    qids = sorted(records[0]["per_query"][MEASURE])
    out: dict[str, list] = {}
    for r in records:
        if r["kind"] == "trained":
            out.setdefault(r["name"], []).append([r["per_query"][MEASURE][q] for q in qids])
    assert len(out) >= 10 and all(len(v) >= 3 for v in out.values())
    return {k: np.array(v) for k, v in out.items()}


def _rejections(seeds, k: int, seed_sd: float | None, n_sim: int, effect: float = 0.0,
                rng_seed: int = 0) -> tuple[float, float]:
    """Rejection rates (seed-aware, query-level paired t on seed means) over ``n_sim``
    comparisons of two synthetic "samplers" built from the same real sampler's seeds (cycling
    over the samplers); A is shifted by ``effect``."""
    rng = np.random.default_rng(rng_seed)
    names = sorted(seeds)
    seed_aware = query_level = 0
    for i in range(n_sim):
        real = seeds[names[i % len(names)]]
        a = simulate.synthetic_seeds(real, k, rng, seed_sd) + effect
        b = simulate.synthetic_seeds(real, k, rng, seed_sd)
        seed_aware += stats.seed_test(a, b, alpha=ALPHA).p < ALPHA
        query_level += stats.paired_t(a.mean(axis=0), b.mean(axis=0)) < ALPHA
    return seed_aware / n_sim, query_level / n_sim


@pytest.mark.parametrize(("k", "seed_sd"), [(3, 0.004), (3, None), (5, 0.004)])
def test_null_false_positive_rate_is_at_most_alpha(seeds, k, seed_sd):
    """Same method, different seeds: the seed-aware test rejects <= alpha (+ 2.5 Monte Carlo
    sd); the query-level test on seed means, which ignores seed variance, does not."""
    n_sim = 400
    rate, naive = _rejections(seeds, k, seed_sd, n_sim)
    tol = 2.5 * math.sqrt(ALPHA * (1 - ALPHA) / n_sim)
    assert rate <= ALPHA + tol, f"seed-aware false-positive rate {rate:.3f}"
    if seed_sd:  # the simulation really carries seed variance: ignoring it is anti-conservative
        assert naive > ALPHA + tol, f"query-level rate {naive:.3f}"


def test_a_real_difference_is_detected(seeds):
    """A shift of 0.015 nDCG@10 (the dense-vs-random size in the literature) with seed sd
    0.004 and 5 seeds is found most of the time; 10 seeds find 0.01."""
    power5, _ = _rejections(seeds, 5, 0.004, 200, effect=0.015, rng_seed=1)
    power10, _ = _rejections(seeds, 10, 0.004, 200, effect=0.01, rng_seed=2)
    assert power5 >= 0.75 and power10 >= 0.75, (power5, power10)


def test_mde_shrinks_with_seeds_and_is_the_80_percent_power_point(seeds):
    comps = stats.seed_test(seeds["dense"], seeds["in-batch"]).components
    mdes = [stats.projected_mde(comps, k, k, 300) for k in (2, 3, 5, 10, 30)]
    assert all(x > y > 0 for x, y in itertools.pairwise(mdes)), mdes
    assert stats.projected_mde(comps, 5, 5, 1000) < mdes[2]  # more queries help too
    # the MDE printed for a comparison matches the power actually achieved at that effect
    real = seeds["random"]
    st = stats.seed_test(simulate.synthetic_seeds(real, 5, np.random.default_rng(3), 0.004),
                         simulate.synthetic_seeds(real, 5, np.random.default_rng(4), 0.004))
    mde = stats.projected_mde(st.components, 5, 5, real.shape[1])
    rng = np.random.default_rng(5)
    hits = sum(stats.seed_test(simulate.synthetic_seeds(real, 5, rng, 0.004) + mde,
                               simulate.synthetic_seeds(real, 5, rng, 0.004)).p < ALPHA
               for _ in range(200))
    assert 0.6 <= hits / 200 <= 0.97, hits


def test_equals_welch_when_only_seeds_vary(seeds):
    """No per-query difference beyond seed offsets: the test is Welch's t-test on seed means."""
    b = seeds["margin"]
    a = b[[2, 0, 1]] + np.array([[0.012], [0.02], [-0.004]])
    st = stats.seed_test(a, b)
    ref = sps.ttest_ind(a.mean(axis=1), b.mean(axis=1), equal_var=False)
    assert st.seed_variance == "estimated"
    assert st.p == pytest.approx(ref.pvalue, rel=1e-9)
    assert st.df == pytest.approx(ref.df, rel=1e-9)


def test_equals_paired_t_for_deterministic_systems(records, seeds):
    """Zero-shot (no seeds) against a one-seed run with no seed variance to borrow: the paired
    t-test on per-query scores, flagged as such."""
    qids = sorted(records[0]["per_query"][MEASURE])
    bm25 = next(r for r in records if r["kind"] == "zero-shot" and r["name"] == "BM25")
    x = np.array([bm25["per_query"][MEASURE][q] for q in qids])
    y = seeds["dense"][0]
    st = stats.seed_test(x[None, :], y[None, :], random_a=False)
    assert st.seed_variance == "none"
    assert st.p == pytest.approx(sps.ttest_rel(x, y).pvalue, rel=1e-9)
    fixed = stats.seed_test(x[None, :], y[None, :], random_a=False, random_b=False)
    assert fixed.seed_variance == "fixed" and fixed.p == pytest.approx(st.p)
    # with three seeds the trained side's seed variance widens the interval
    three = stats.seed_test(x[None, :], seeds["dense"], random_a=False)
    assert three.seed_variance == "estimated" and three.se > 0


def test_one_sided_and_borrowed(seeds):
    a, b = seeds["in-batch"][:1] - 0.01, seeds["in-batch"][1:]
    two = stats.seed_test(a, b)
    less = stats.seed_test(a, b, alternative="less")
    assert two.seed_variance == "borrowed" and two.diff < 0
    assert less.p == pytest.approx(two.p / 2, rel=1e-9)
    assert stats.seed_test(a, b, alternative="greater").p == pytest.approx(1 - less.p)
    assert less.mde < two.mde  # one-sided needs a smaller effect


def test_identical_systems_are_not_different(seeds):
    st = stats.seed_test(seeds["dense"], seeds["dense"].copy())
    assert st.diff == 0 and st.p == 1.0


def test_real_records_are_comparable_and_edits_are_named(records):
    check_comparable(records)  # zero-shot rows carry no training budget/track: still fine
    edited = [dict(r) for r in records]
    edited[0]["track"] = "short"
    edited[1]["budget"] = {**edited[1]["budget"], "name": "smoke"}
    edited[2]["track"] = "full"  # explicit default = absent
    with pytest.raises(NegbenchError) as err:
        check_comparable(edited)
    msg = str(err.value)
    assert "\n" not in msg and "track differs" in msg and "budget differs" in msg
    assert "short: 1" in msg and "smoke: 1" in msg
    assert "suite" not in msg.split("not comparable:")[1].split(";")[0]
    zs = [dict(r) for r in records]
    for r in zs:
        if r["kind"] == "zero-shot":
            r["model"], r["budget"] = "other-model", {"eval_max_length": 64}
    check_comparable(zs)
    zs[-1]["suite"] = "beir/nfcorpus"
    with pytest.raises(NegbenchError, match="suite differs"):
        check_comparable(zs)


def _report(folder: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "negbench.harness.cli", "report", str(folder), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


@pytest.fixture()
def small_run(tmp_path) -> Path:
    """Copies of the real records of in-batch, dense, random (3 seeds each) and BM25."""
    (tmp_path / "records").mkdir()
    for p in (RUN / "records").glob("*.json"):
        if p.name.split("-seed")[0] in ("in-batch", "dense", "random") or "bm25.json" in p.name:
            shutil.copy(p, tmp_path / "records" / p.name)
    return tmp_path


@pytest.mark.parametrize(("field", "value", "expect"), [
    ("track", "short", "track differs (full: 8, short: 1 records)"),
    ("budget", "smoke", "budget differs (smoke: 1, standard: 8 records)"),
    ("model", "bert-base-uncased", "model differs"),
])
def test_report_refuses_mixed_records_in_one_line(small_run, field, value, expect):
    p = small_run / "records" / "dense-seed42.json"
    rec = json.loads(p.read_text())
    rec[field] = {**rec["budget"], "name": value} if field == "budget" else value
    p.write_text(json.dumps(rec))
    proc = _report(small_run, "--no-plots")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("negbench: error:")
    assert expect in proc.stderr
    assert not (small_run / "report.md").exists()


def test_report_prints_seed_aware_verdicts_mde_and_forest_plot(small_run):
    proc = _report(small_run)
    assert proc.returncode == 0, proc.stderr
    assert (small_run / "report-forest.png").stat().st_size > 0
    doc = json.loads((small_run / "report.json").read_text())
    fam = [c for c in doc["comparisons"] if c["measure"] == MEASURE]
    assert {c["a"] for c in fam} == {"BM25", "dense", "random"}
    for c in fam:
        assert c["ci_low"] < c["diff"] < c["ci_high"] and c["mde"] > 0
        assert f"| {c['mde']:.4f} |" in proc.stdout  # the MDE is printed beside it
    dense = next(c for c in fam if c["a"] == "dense")
    # the seed-aware interval is wider than the query-level one (seed variance added)
    assert dense["ci_high"] - dense["ci_low"] > dense["diff_ci_high"] - dense["diff_ci_low"]
    assert dense["seeds_a"] == dense["seeds_b"] == 3 and dense["seed_variance"] == "estimated"
