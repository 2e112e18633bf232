"""Calibrate the seed-aware test (``stats.seed_test``) on real committed per-query scores.

Null: two "samplers" that are the same method run with different seeds. Each is ``k`` synthetic
seeds built from one real sampler's real seeds (``stats.synthetic_seeds``: the real per-query
means + a seed effect N(0, sd^2) + seed-by-query noise resampled from the real seeds'
residuals), cycling over the samplers of the folder. The false-positive rate should be <= alpha;
the query-level paired t-test on seed means (which ignores seed variance) is shown for contrast.
Power: the same with A shifted by an effect. Real-only check: each real seed of each sampler
against that sampler's other real seeds (1 vs 2 seeds; the single seed borrows the seed
variance). MDE: every sampler against the baseline, projected to 3, 5 and 10 seeds.

Usage (about 30 s on 2 cores)::

    python benchmarks/seed_test_calibration.py --records results/legacy-16-steps/scifact \\
        --sims 1000
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
from scipy import stats as sps

from negbench.harness.evaluation.records import read_records
from negbench.harness.reporting import stats


def seed_matrices(folder: Path, measure: str) -> dict[str, np.ndarray]:
    records = [r for r in read_records(folder) if r["kind"] == "trained"]
    qids = sorted(records[0]["per_query"][measure])
    out: dict[str, list] = {}
    for r in sorted(records, key=lambda r: (r["name"], r["seed"])):
        out.setdefault(r["name"], []).append([r["per_query"][measure][q] for q in qids])
    return {k: np.array(v) for k, v in out.items() if len(v) >= 2}


def upper95(k: int, n: int) -> float:
    """Clopper-Pearson 95% upper bound of a rate k/n."""
    return 1.0 if k == n else float(sps.beta.ppf(0.975, k + 1, n - k))


def simulate(seeds: dict[str, np.ndarray], k: int, seed_sd: float | None, n_sim: int,
             effect: float, alpha: float, rng: np.random.Generator) -> tuple[int, int, float]:
    """(seed-aware rejections, query-level rejections, median MDE) over ``n_sim`` comparisons."""
    names = sorted(seeds)
    hits = naive = 0
    mdes = []
    for i in range(n_sim):
        real = seeds[names[i % len(names)]]
        a = stats.synthetic_seeds(real, k, rng, seed_sd) + effect
        b = stats.synthetic_seeds(real, k, rng, seed_sd)
        st = stats.seed_test(a, b, alpha=alpha)
        hits += st.p < alpha
        naive += stats.paired_t(a.mean(axis=0), b.mean(axis=0)) < alpha
        mdes.append(st.mde)
    return hits, naive, float(np.median(mdes))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", default="results/legacy-16-steps/scifact",
                   help="results folder with records/ (several seeds per sampler)")
    p.add_argument("--measure", default="nDCG@10")
    p.add_argument("--sims", type=int, default=1000)
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--seeds", default="1,3,5",
                   help="seeds per simulated sampler (1: no seed variance estimable)")
    p.add_argument("--seed-sds", default="0,0.004,est",
                   help="simulated seed sd ('est' = estimated per real sampler)")
    p.add_argument("--effects", default="0.01,0.015")
    p.add_argument("--baseline", default="in-batch")
    p.add_argument("--rng", type=int, default=0)
    args = p.parse_args()

    t0 = time.time()
    seeds = seed_matrices(Path(args.records), args.measure)
    n_q = next(iter(seeds.values())).shape[1]
    print(f"records: {args.records}, {args.measure}: {len(seeds)} samplers x "
          f"{min(len(v) for v in seeds.values())}-{max(len(v) for v in seeds.values())} real "
          f"seeds, {n_q} queries; alpha {args.alpha}, two-sided; {args.sims} simulated "
          "comparisons per row")
    for name, y in sorted(seeds.items()):
        comps = stats.seed_test(y, y).components
        print(f"  {name:10s} seed means sd {y.mean(axis=1).std(ddof=1):.4f}, seed-by-query sd "
              f"{math.sqrt(comps.inter_a):.3f}, seed main effect sd {math.sqrt(comps.seed_a):.4f}")
    ks = [int(x) for x in args.seeds.split(",")]
    sds = [None if x == "est" else float(x) for x in args.seed_sds.split(",")]
    rng = np.random.default_rng(args.rng)

    print("\nnull (same method, other seeds): false-positive rate [95% upper bound]")
    for k in ks:
        for sd in sds:
            hits, naive, mde = simulate(seeds, k, sd, args.sims, 0.0, args.alpha, rng)
            label = "estimated" if sd is None else f"{sd:g}"
            print(f"  {k} vs {k} seeds, seed sd {label:9s}: seed-aware {hits / args.sims:.3f} "
                  f"[{upper95(hits, args.sims):.3f}]  query-level t {naive / args.sims:.3f}  "
                  f"(median MDE {mde:.4f})")

    print("\npower (A shifted by the effect), seed sd 0.004")
    for k in sorted({*(k for k in ks if k > 1), 10}):
        row = []
        for eff in (float(x) for x in args.effects.split(",")):
            hits, _, mde = simulate(seeds, k, 0.004, args.sims, eff, args.alpha, rng)
            row.append(f"effect {eff:g}: {hits / args.sims:.3f}")
        print(f"  {k} vs {k} seeds: {', '.join(row)} (median MDE {mde:.4f})")

    rej = naive = total = 0
    for y in seeds.values():
        for i in range(y.shape[0]):
            rest = np.delete(y, i, axis=0)
            rej += stats.seed_test(y[[i]], rest, alpha=args.alpha).p < args.alpha
            naive += stats.paired_t(y[i], rest.mean(axis=0)) < args.alpha
            total += 1
    print(f"\nreal seeds only (each seed vs the sampler's other seeds): seed-aware rejects "
          f"{rej}/{total}, query-level t {naive}/{total}")

    if args.baseline in seeds:
        print(f"\nMDE (80% power, alpha {args.alpha}) against {args.baseline}, from each "
              "comparison's variance components, at 3 / 5 / 10 seeds per sampler:")
        for name, y in sorted(seeds.items()):
            if name == args.baseline:
                continue
            st = stats.seed_test(y, seeds[args.baseline], alpha=args.alpha)
            proj = " / ".join(f"{stats.projected_mde(st.components, k, k, n_q):.4f}"
                              for k in (3, 5, 10))
            print(f"  {name:10s} diff {st.diff:+.4f}, p {st.p:.3f}, MDE now {st.mde:.4f}; "
                  f"{proj}")
    print(f"\n({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
