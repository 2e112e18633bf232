"""Calibrate the seed-aware test (``stats.seed_test``) on real committed per-query scores,
with the query component in the null.

Nulls (``harness.reporting.simulate``): two simulated samplers with k seeds each whose
population difference is 0, built from a real pair (each trained sampler vs the baseline,
cycling): each side's real per-query means, the pair's systematic per-query differences
centred to 0, over queries drawn with replacement (so the per-query difference variance,
~40% of a real comparison's, is in every simulated grid), plus each side's seed effects and
resampled seed-by-query residuals. "same method" = both sides from one sampler (the old
calibration: no query component). Paired = common random numbers (the same real seed rows
and signs on both sides, correlated seed effects), as when both sides ran the same seeds.
Cross-fitted: ``--crossfit-queries`` queries drawn from the real ones, dealt into
``--folds`` folds, each fold with its own seed effects (one run per fold and seed).

Power: the same grids with A shifted by each effect, at α and at the corrected level α/m
(the Holm family's strictest step, m = ``--family``). MDE: every sampler against the
baseline now (α, α/m) and projected to the cross-fitted design.

Usage (about 1 min on 2 cores)::

    python benchmarks/seed_test_calibration.py --records results/runs/scifact-query-side \\
        --sims 1000
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from scipy import stats as sps

from negbench.harness.evaluation.records import read_records
from negbench.harness.reporting import simulate, stats


def seed_matrices(folder: Path, measure: str) -> dict[str, np.ndarray]:
    """seeds x queries scores per trained sampler with >= 2 seeds (rows in seed order)."""
    records = [r for r in read_records(folder) if r["kind"] == "trained"]
    qids = sorted(records[0]["per_query"][measure])
    out: dict[str, list] = {}
    for r in sorted(records, key=lambda r: (r["name"], r["seed"])):
        out.setdefault(r["name"], []).append([r["per_query"][measure][q] for q in qids])
    return {k: np.array(v) for k, v in out.items() if len(v) >= 2}


def bounds(k: int, n: int) -> str:
    """Clopper-Pearson 95% interval of a rate k/n."""
    lo = 0.0 if k == 0 else float(sps.beta.ppf(0.025, k, n - k + 1))
    hi = 1.0 if k == n else float(sps.beta.ppf(0.975, k + 1, n - k))
    return f"[{lo:.3f}, {hi:.3f}]"


def simulate_rates(seeds, pairs, k, n_sim, effect, paired, rng, levels, same=False,
                   folds=0, n_queries=0, seed_sd=None) -> tuple[list[int], float]:
    """Rejections at each level over ``n_sim`` simulated grids, and the median MDE at the
    first level."""
    hits = [0] * len(levels)
    mdes = []
    for i in range(n_sim):
        a_name, b_name = pairs[i % len(pairs)]
        real_b = seeds[a_name] if same else seeds[b_name]
        if folds:
            a, b, blocks = simulate.crossfit_pair(seeds[a_name], real_b, k, folds, n_queries,
                                                  rng, effect, paired)
        else:
            a, b = simulate.null_pair(seeds[a_name], real_b, k, rng, effect, seed_sd,
                                      paired=paired)
            blocks = None
        st = stats.seed_test(a, b, paired=paired, blocks=blocks)
        for j, level in enumerate(levels):
            hits[j] += st.p < level
        mdes.append(st.mde)
    return hits, float(np.median(mdes))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", default="results/runs/scifact-query-side",
                   help="results folder with records/ (several seeds per sampler)")
    p.add_argument("--measure", default="nDCG@10")
    p.add_argument("--baseline", default="random")
    p.add_argument("--sims", type=int, default=1000)
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--seeds", type=int, default=5, help="seeds per simulated sampler")
    p.add_argument("--family", type=int, default=10,
                   help="comparisons in the corrected family (α/m is the strictest step)")
    p.add_argument("--effects", default="0.005,0.01,0.02")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--crossfit-queries", type=int, default=1109,
                   help="labelled queries of the cross-fitted design (SciFact: 1109)")
    p.add_argument("--seed-sds", default="est,0.004",
                   help="seed main-effect sd of the official-split nulls: 'est' = each real "
                        "sampler's estimate (mostly ~0 at the standard budget), or a number")
    p.add_argument("--rng", type=int, default=0)
    args = p.parse_args()

    t0 = time.time()
    seeds = seed_matrices(Path(args.records), args.measure)
    n_q = next(iter(seeds.values())).shape[1]
    pairs = [(s, args.baseline) for s in sorted(seeds) if s != args.baseline]
    k, alpha = args.seeds, args.alpha
    levels = [alpha, alpha / args.family]
    rng = np.random.default_rng(args.rng)
    print(f"records: {args.records}, {args.measure}: {len(seeds)} samplers x "
          f"{min(len(v) for v in seeds.values())} real seeds, {n_q} queries; {len(pairs)} "
          f"real pairs (each sampler vs {args.baseline}); {k} vs {k} simulated seeds; "
          f"{args.sims} simulated grids per row; two-sided α = {alpha}, corrected α/m = "
          f"{levels[1]:g} (m = {args.family})")
    share = [stats.seed_test(seeds[a], seeds[b], paired=True) for a, b in pairs]
    q_share = [st.components.query / st.n_queries / st.se ** 2 for st in share if st.se > 0]
    print(f"query component's share of Var(A - B) in the real pairs: median "
          f"{np.median(q_share):.2f} (range {min(q_share):.2f}-{max(q_share):.2f})")

    designs = [("official split", 0, n_q),
               (f"cross-fitted {args.folds} folds x {args.crossfit_queries} queries",
                args.folds, args.crossfit_queries)]
    print("\nnull (population difference 0): rejection rate at α [95% interval]")
    for label, folds, n in designs:
        sds = [None] if folds else [None if x == "est" else float(x)
                                    for x in args.seed_sds.split(",")]
        rows = [(f"{name}, seed sd {'est.' if sd is None else sd}", paired, same, sd)
                for sd in sds for name, paired, same in (
                    ("same method (no query comp.)", False, True),
                    ("query comp., seeds unpaired", False, False),
                    ("query comp., seeds paired (CRN)", True, False))]
        for name, paired, same, sd in rows:
            if folds and same:
                continue
            hits, mde = simulate_rates(seeds, pairs, k, args.sims, 0.0, paired, rng, levels,
                                       same, folds, n, sd)
            print(f"  {label:38s} {name:46s}: {hits[0] / args.sims:.3f} "
                  f"{bounds(hits[0], args.sims)}  (median MDE {mde:.4f})")

    effects = [float(x) for x in args.effects.split(",")]
    print("\npower (A shifted by the effect; seeds paired): at α / at α/m")
    for label, folds, n in designs:
        row = []
        for eff in effects:
            hits, _ = simulate_rates(seeds, pairs, k, args.sims, eff, True, rng, levels,
                                     False, folds, n)
            row.append(f"Δ {eff:g}: {hits[0] / args.sims:.2f} / {hits[1] / args.sims:.2f}")
        print(f"  {label:38s} " + ", ".join(row))

    rej = total = 0
    for y in seeds.values():
        for i in range(y.shape[0]):
            rej += stats.seed_test(y[[i]], np.delete(y, i, axis=0)).p < alpha
            total += 1
    print(f"\nreal seeds only (each seed vs its sampler's other seeds): {rej}/{total} rejected")

    print(f"\nMDE (80% power) against {args.baseline} at {k} seeds: now at α / at α/m; "
          f"cross-fitted projection ({args.folds} folds x {args.crossfit_queries} queries) "
          "at α / at α/m")
    for (a, b), st in zip(pairs, share):
        c = st.components
        proj = [stats.projected_mde(c, k, k, args.crossfit_queries, lvl, folds=args.folds)
                for lvl in levels]
        now = [stats.min_detectable_effect(st.se, st.df, lvl) for lvl in levels]
        print(f"  {a:13s} diff {st.diff:+.4f}: {now[0]:.4f} / {now[1]:.4f}; "
              f"{proj[0]:.4f} / {proj[1]:.4f}")
    print(f"\n({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
