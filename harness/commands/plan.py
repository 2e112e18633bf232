"""``negbench plan RESULTS_DIR --effect X``: the seeds (and folds) a grid needs to detect X."""

from __future__ import annotations

import math
from pathlib import Path

from negbench.harness.commands.common import add_data_root
from negbench.harness.errors import NegbenchError


def labelled_queries(suite_name: str, data_root: str | None) -> int | None:
    """Queries with a judged relevant document in the suite's train and test splits (what
    cross-fitting deals into folds); None when the suite's data cannot be read here."""
    from negbench.harness.data.paths import given_root
    from negbench.suites.loading import load_suite_data
    from negbench.suites.registry import get_suite

    try:
        data = load_suite_data(get_suite(suite_name), given_root(data_root))
        qids = set()
        for split in (data.train, data.test):
            qids |= {q for q, judged in split.qrels.items() if any(r >= 1 for r in
                                                                     judged.values())}
    except NegbenchError:
        return None
    return len(qids) or None


def cmd_plan(args) -> int:
    from negbench.harness.evaluation.records import read_records
    from negbench.harness.reporting.plan import plan, to_markdown
    from negbench.harness.reporting.report import build_report

    folder = Path(args.results_dir)
    if not (folder / "records").is_dir():
        raise NegbenchError(f"{folder}: no records/ folder (expected the --output of "
                            "`negbench run`)")
    if not (math.isfinite(args.effect) and args.effect > 0):
        raise NegbenchError(f"--effect must be a positive difference, got {args.effect}")
    if not 0 < args.power < 1:
        raise NegbenchError(f"--power must be in (0, 1), got {args.power}")
    if not (math.isfinite(args.alpha) and 0 < args.alpha < 1):
        raise NegbenchError(f"--alpha must be in (0, 1), got {args.alpha}")
    if args.folds < 2:
        raise NegbenchError(f"--folds must be >= 2, got {args.folds}")
    records = read_records(folder)
    measures = [args.measure] if args.measure else None
    rep = build_report(records, measures, args.baseline, correction=args.correction,
                       alpha=args.alpha, n_resamples=200)
    designs = []
    crossfit = any(r.get("crossfit") for r in records)
    if not crossfit:
        n = args.queries or labelled_queries(rep.suite, args.data_root)
        if n and n > rep.num_queries:
            designs.append((f"cross-fitted, {args.folds} folds x {n} queries", n, args.folds))
    needs = plan(rep, args.effect, args.power, designs, args.max_seeds)
    print(to_markdown(needs, rep, args.effect, args.power))
    if not crossfit and not designs:
        print("(No cross-fitted projection: the suite's labelled queries are not readable "
              "here; give --queries N or --data-root.)")
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "plan", help="seeds and folds needed to detect an effect, from a finished grid",
        description="From a finished grid's variance components (per comparison of the "
                    "trained systems against the baseline), the seeds per sampler needed to "
                    "detect --effect with --power at the corrected level (the correction's "
                    "strictest step, α/m), on the grid's own queries and cross-fitted over all "
                    "labelled queries; 'unreachable' where the query component alone is too "
                    "large. Also the MDE now, at α and at the corrected level.",
        epilog="example: negbench plan results/runs/scifact-query-side --effect 0.005 "
               "--baseline random")
    p.add_argument("results_dir", metavar="RESULTS_DIR", help="--output of `negbench run`")
    p.add_argument("--effect", type=float, required=True,
                   help="the true difference to detect, in the measure's units (e.g. 0.005)")
    p.add_argument("--power", type=float, default=0.8, help="power to reach (default: 0.8)")
    p.add_argument("--baseline", default=None,
                   help="baseline system (default: the report's, in-batch if present)")
    p.add_argument("--measure", default=None,
                   help="measure (default: the records' first); any case, and as ir_measures, "
                        "trec_eval or MTEB write them (MRR@10, ndcg_cut_10)")
    p.add_argument("--correction", choices=["holm", "hochberg", "bonferroni", "none"],
                   default="holm", help="the correction the verdicts use (default: holm)")
    p.add_argument("--alpha", type=float, default=0.05, help="family-wise level (0.05)")
    p.add_argument("--folds", type=int, default=5,
                   help="folds of the cross-fitted design projected to (default: 5)")
    p.add_argument("--queries", type=int, default=None, metavar="N",
                   help="labelled queries of the cross-fitted design (default: the suite's "
                        "train ∪ test queries with a relevant document, read from the data)")
    p.add_argument("--max-seeds", type=int, default=1000,
                   help="search seeds up to this many per sampler (default: 1000)")
    add_data_root(p)
    p.set_defaults(func=cmd_plan)
