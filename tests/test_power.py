"""The seed-aware test's power fixes (issue 29): the floored seed term's df, paired seeds,
query blocks (cross-fitting), the MDE at the corrected level, the correction family, and a null
that carries the query component, calibrated on the committed standard-budget SciFact records."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from negbench.harness.evaluation.records import read_records
from negbench.harness.reporting import simulate, stats
from negbench.harness.reporting.render import legend, to_markdown
from negbench.harness.reporting.report import build_report

RECORDS = Path(__file__).resolve().parents[1] / "results" / "runs" / "scifact-query-side"
MEASURE = "nDCG@10"


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return read_records(RECORDS)


@pytest.fixture(scope="module")
def seeds(records) -> dict[str, np.ndarray]:
    """seeds x queries nDCG@10 of every trained sampler (rows in seed order)."""
    trained = sorted((r for r in records if r["kind"] == "trained"),
                     key=lambda r: (r["name"], r["seed"]))
    qids = sorted(trained[0]["per_query"][MEASURE])
    out: dict[str, list] = {}
    for r in trained:
        out.setdefault(r["name"], []).append([r["per_query"][MEASURE][q] for q in qids])
    return {k: np.array(v) for k, v in out.items()}


def test_a_floored_seed_term_carries_the_interaction_df(seeds):
    """Where the seed means vary less than MS_inter / n, the estimate is MS_inter / n and has
    (k - 1)(n - 1) df, not k - 1: against a zero-shot row it cancels the interaction term the
    query part subtracts, leaving the paired t-test's n - 1 df."""
    rng = np.random.default_rng(0)
    base = seeds["dense"].mean(axis=0)
    noise = rng.normal(0, 0.05, size=(5, base.size))
    y = base + noise - noise.mean(axis=1, keepdims=True)  # seed means all equal: floor binds
    value, inter, df = stats._seed_estimate(y)
    assert value == pytest.approx(inter / y.shape[1])
    assert df == (5 - 1) * (base.size - 1)
    zero_shot = seeds["random"][0]
    st = stats.seed_test(y, zero_shot[None, :], random_b=False)
    assert st.df == pytest.approx(base.size - 1)
    d = y.mean(axis=0) - zero_shot
    assert st.p == pytest.approx(sps.ttest_1samp(d, 0).pvalue, rel=1e-6)


def test_paired_seeds_net_out_what_the_sides_share(seeds):
    """B = A + a per-seed shift (the same for every query of the seed): paired, the difference
    is the shift alone and the test is the one-sample t-test on the k shifts; unpaired, A's
    and B's seed spreads both count."""
    a = seeds["dense"]
    shift = np.array([0.004, -0.002, 0.006, 0.001, 0.003])
    b = a - shift[:, None]
    paired = stats.seed_test(a, b, paired=True)
    assert paired.paired and paired.df == pytest.approx(4)
    assert paired.p == pytest.approx(sps.ttest_1samp(shift, 0).pvalue, rel=1e-6)
    unpaired = stats.seed_test(a, b)
    assert not unpaired.paired and unpaired.se > 1.5 * paired.se
    assert stats.paired_seeds([13, 42, 87], [87, 13, 42])
    assert not stats.paired_seeds([13, 42], [13, 43]) and not stats.paired_seeds([13], [13])


def test_query_blocks_combine_the_folds_variances(seeds):
    """Cross-fitting: queries nested in folds, each fold scored by its own runs; the
    difference is the query-weighted mean of the folds' and its variance the weighted sum."""
    a, b = seeds["dense"], seeds["random"]
    blocks = [np.arange(0, 150), np.arange(150, 300)]
    whole = stats.seed_test(a, b, blocks=blocks)
    parts = [stats.seed_test(a[:, c], b[:, c]) for c in blocks]
    assert whole.blocks == 2
    assert whole.diff == pytest.approx(sum(p.diff for p in parts) / 2)
    assert whole.se ** 2 == pytest.approx(sum(p.se ** 2 for p in parts) / 4)
    with pytest.raises(Exception, match="partition"):
        stats.seed_test(a, b, blocks=[np.arange(0, 150), np.arange(140, 300)])


def test_the_report_states_the_mde_at_the_corrected_level_and_its_family(records):
    rep = build_report(records, [MEASURE], baseline="random")
    trained = [c for c in rep.comparisons if c.seeds_a > 1 and c.seeds_b > 1]
    zero = [c for c in rep.comparisons if c not in trained]
    assert trained and zero
    m = len(trained)
    for c in trained:
        assert c.family == m and c.paired
        assert c.mde_corrected == pytest.approx(
            stats.min_detectable_effect(c.se, c.df, 0.05 / m))
        assert c.mde_corrected > c.mde
    assert all(c.family == len(zero) for c in zero)
    text = "\n".join(legend(rep))
    assert f"the trained systems vs `random`, {m} comparisons" in text
    assert "corrected as their own family" in text
    assert "at the corrected level" in text
    md = to_markdown(rep)
    assert "MDE (holm)" in md


def test_hochberg_is_offered():
    p = [0.02, 0.03, 0.04]  # Holm: 0.06 each, nothing at 0.05; Hochberg (step-up): 0.04 each
    assert stats.correct(p, "holm") == pytest.approx([0.06, 0.06, 0.06])
    assert stats.correct(p, "hochberg") == pytest.approx([0.04, 0.04, 0.04])


def test_a_null_with_the_query_component_rejects_near_alpha(seeds):
    """2,000 simulated 5 vs 5 seed grids, half paired (common random numbers), whose two
    systems have the real per-query differences of two samplers, centred to a zero population
    difference, over 300 queries drawn with replacement: the seed-aware test rejects 3-6%."""
    rng = np.random.default_rng(1)
    pairs = [("dense", "random"), ("margin", "random"), ("simans", "dense"),
             ("denoised", "in-batch")]
    n_sim, hits = 2000, 0
    for i in range(n_sim):
        a, b = pairs[i % len(pairs)]
        paired = i % 2 == 1
        x, y = simulate.null_pair(seeds[a], seeds[b], 5, rng, paired=paired)
        hits += stats.seed_test(x, y, paired=paired).p < 0.05
    assert 0.03 <= hits / n_sim <= 0.06


def test_simulated_nulls_carry_the_real_query_component(seeds):
    """The per-query difference variance of a simulated null is the real one; built from one
    sampler (no query component) it lacks the systematic part, the estimated sigma2_q."""
    rng = np.random.default_rng(2)
    real = (seeds["dense"].mean(axis=0) - seeds["random"].mean(axis=0)).var(ddof=1)
    sims = [np.var(np.subtract(*[m.mean(axis=0) for m in simulate.null_pair(
        seeds["dense"], seeds["random"], 5, rng)]), ddof=1) for _ in range(50)]
    assert np.mean(sims) == pytest.approx(real, rel=0.25)
    same = [np.var(simulate.synthetic_seeds(seeds["dense"], 5, rng).mean(axis=0)
                   - simulate.synthetic_seeds(seeds["dense"], 5, rng).mean(axis=0), ddof=1)
            for _ in range(50)]
    systematic = stats.seed_test(seeds["dense"], seeds["random"]).components.query
    assert np.mean(sims) - np.mean(same) == pytest.approx(systematic, rel=0.25)


def test_power_at_matches_simulation(seeds):
    """The noncentral-t power of a comparison agrees with simulated grids at its MDE."""
    rng = np.random.default_rng(3)
    a, b = seeds["dense"], seeds["random"]
    st = stats.seed_test(a, b)
    assert stats.power_at(st.mde, st.se, st.df) == pytest.approx(0.8, abs=0.01)
    hits = 0
    for _ in range(400):
        x, y = simulate.null_pair(a, b, 5, rng, effect=st.mde)
        hits += stats.seed_test(x, y).p < 0.05
    assert 0.6 <= hits / 400 <= 0.95
    assert math.isclose(stats.power_at(0.0, st.se, st.df), 0.05, abs_tol=1e-6)


def test_plan_finds_the_fewest_seeds_and_says_unreachable(seeds):
    """``seeds_needed`` returns the smallest k whose projected MDE clears the effect; below the
    query floor nothing is reachable; cross-fitting (more queries, seed part / K) lowers it."""
    comps = stats.seed_test(seeds["dense"], seeds["random"], paired=True).components
    level = 0.05 / 10
    floor = stats.mde_floor(comps, 300, level)
    assert stats.seeds_needed(comps, floor * 0.99, 300, level) is None
    k = stats.seeds_needed(comps, floor * 1.3, 300, level)
    assert k is not None and k >= 2
    assert stats.projected_mde(comps, k, k, 300, level) <= floor * 1.3
    if k > 2:
        assert stats.projected_mde(comps, k - 1, k - 1, 300, level) > floor * 1.3
    assert stats.mde_floor(comps, 1109, level) < floor
    assert (stats.projected_mde(comps, 5, 5, 1109, level, folds=5)
            < stats.projected_mde(comps, 5, 5, 1109, level))


def test_plan_command_prints_seeds_per_design(capsys):
    from negbench.harness.cli import main

    assert main(["plan", str(RECORDS), "--effect", "0.02", "--baseline", "random",
                 "--queries", "1109"]) == 0
    out = capsys.readouterr().out
    assert "α/m = 0.003125 (m = 16 comparisons" in out
    assert "seeds: cross-fitted, 5 folds x 1109 queries" in out
    assert main(["plan", str(RECORDS), "--effect", "-1"]) == 2
    assert "--effect must be a positive" in capsys.readouterr().err


def test_error_spending_levels_sum_to_alpha():
    from negbench.harness.reporting import sequential

    for rule in sequential.RULES:
        levels = sequential.look_levels([5, 10, 20], 0.05, rule)
        assert sum(levels) == pytest.approx(0.05)
        assert all(x > 0 for x in levels)
    obf = sequential.look_levels([5, 10, 20], 0.05, "obrien-fleming")
    assert obf[0] < 1e-3 < obf[-1]  # strict early, most of α at the end
    assert sequential.schedule(5, 20) == [5, 10, 20]
    assert sequential.schedule(5, 30) == [5, 10, 20, 30]
    assert sequential.extend_seeds([13, 42, 87, 123, 2024], 7) == [13, 42, 87, 123, 2024,
                                                                   10000, 10001]


def test_a_sequential_grid_stops_where_the_effect_is_huge_and_continues_where_not(records):
    """At the first look (5 of at most 20 seeds, O'Brien-Fleming level ~1e-4) in-batch vs
    random (-0.018) already separates; curriculum vs random (0.000) stays open."""
    from negbench.harness.reporting import sequential

    rep = build_report(records, [MEASURE], baseline="random")
    family = [c for c in rep.comparisons if c.seeds_a > 1 and c.seeds_b > 1]
    level = sequential.look_levels([5, 10, 20], 0.05)[0]
    verdicts = {v.a: v for v in sequential.decide(family, 1, level, 0.005, last=False)}
    assert verdicts["in-batch"].status == "separated"
    assert verdicts["curriculum"].status == "continue"
    assert verdicts["curriculum"].mde_corrected > 0.005
    final = {v.a: v for v in sequential.decide(family, 3, level, 0.005, last=True)}
    assert final["curriculum"].status == "stopped at max seeds"
    easy = {v.a: v for v in sequential.decide(family, 1, level, 0.05, last=False)}
    assert easy["curriculum"].status == "resolved"  # a 0.05 effect would have been seen
