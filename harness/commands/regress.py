"""``negbench regress``: the CI gate (exit 1 on a drop beyond tolerance AND significant)."""

from __future__ import annotations

import logging
from pathlib import Path

from negbench.harness.commands.common import name_list
from negbench.harness.errors import NegbenchError

log = logging.getLogger(__name__)


def cmd_regress(args) -> int:
    from negbench.harness.evaluation.records import read_records
    from negbench.harness.pipeline import preflight
    from negbench.harness.reporting import regress
    from negbench.harness.reporting.stats import CORRECTIONS

    regress.check_gate_params(args.tolerance, args.alpha, args.resamples)
    run = Path(args.run)
    if not (run / "records").is_dir():
        raise NegbenchError(f"{run}: no records/ folder")
    if args.write_baseline:
        preflight.not_an_input(args.write_baseline, [run, args.baseline], "--write-baseline")
        preflight.writable_file(args.write_baseline, "--write-baseline")
    records = read_records(run)
    if args.write_baseline:
        doc = regress.write_baseline(records, Path(args.write_baseline),
                                     name_list(args.measures, "--measures", "measure")
                                     if args.measures is not None else None,
                                     source=str(run))
        print(f"wrote baseline {args.write_baseline}: {len(doc['systems'])} systems x "
              f"{len(doc['measures'])} measures, suite {doc['suite']}, budget "
              f"{doc['budget'].get('name', '-')}")
        return 0
    if not args.baseline:
        raise NegbenchError("give --baseline FILE (or --write-baseline FILE to create one)")
    checks = regress.check(regress.read_baseline(Path(args.baseline)), records,
                           args.tolerance, args.alpha, args.test, args.correction,
                           args.resamples, args.seed, mixed_precision=args.mixed_precision)
    failed = [c for c in checks if c.failed]
    for c in failed:
        print(c.line(args.tolerance, args.test, args.correction, len(checks)))
    if args.verbose:
        for c in checks:
            if not c.failed:
                print(f"ok   {c.system} {c.measure}: {c.baseline:.4f} -> {c.fresh:.4f} "
                      f"(drop {c.drop:+.4f}), seed-aware p={c.p:.2g}, {args.correction} "
                      f"p={c.p_adj:.2g} ({c.detail(args.test)})")
    log.info("regress: %d of %d checks passed (fail = drop > %g and one-sided seed-aware "
             "t-test %s-corrected p < %s)", len(checks) - len(failed), len(checks),
             args.tolerance, CORRECTIONS[args.correction], args.alpha)
    return 1 if failed else 0


def register(sub) -> None:
    r = sub.add_parser("regress", help="CI gate: compare a fresh run with a stored baseline",
                       description="Fail (exit 1, one line per failing measure) when a system's "
                                   "mean drops by more than --tolerance AND the one-sided "
                                   "seed-aware test (queries paired, seeds random) is "
                                   "significant after correction over all checks. "
                                   "--write-baseline stores every seed's per-query scores as "
                                   "the baseline. Records of different tracks, budgets, "
                                   "suites, models, data or precisions are refused, and so "
                                   "is a "
                                   "comparison that checks nothing (no system or measure, a "
                                   "non-finite score, --alpha outside (0, 1), --tolerance "
                                   "outside [0, 1)): exit 2, distinct from exit 1 (a "
                                   "regression).")
    r.add_argument("--run", required=True, help="the --output folder of the fresh run")
    g = r.add_mutually_exclusive_group()
    g.add_argument("--baseline", default=None, help="baseline JSON to compare against")
    g.add_argument("--write-baseline", default=None, metavar="FILE",
                   help="write the run's per-query scores as a baseline JSON and exit")
    r.add_argument("--measures", default=None,
                   help="with --write-baseline: comma list of measures (default: all); any "
                        "case, and as ir_measures, trec_eval or MTEB write them (MRR@10, "
                        "ndcg_cut_10)")
    r.add_argument("--tolerance", type=float, default=0.01,
                   help="largest acceptable drop of a mean (absolute, default 0.01)")
    r.add_argument("--alpha", type=float, default=0.05, help="significance level (0.05)")
    r.add_argument("--test", choices=["t", "permutation"], default="t",
                   help="secondary one-sided query-level test printed beside the seed-aware "
                        "verdict (default: t)")
    r.add_argument("--correction", choices=["holm", "bonferroni", "none"], default="holm",
                   help="correction over all system x measure checks (default: holm)")
    r.add_argument("--resamples", type=int, default=10_000, help="permutation resamples")
    r.add_argument("--seed", type=int, default=0, help="permutation seed")
    r.add_argument("--mixed-precision", action="store_true",
                   help="gate a run against a baseline of another precision (fp32 vs bf16, "
                        "--precision); refused otherwise")
    r.add_argument("--verbose", action="store_true", help="also print the passing checks")
    r.set_defaults(func=cmd_regress)
