"""``negbench eval``: score a TREC run file on a suite's test qrels with the suite's conventions.

Needs only the qrels, so it works for MS MARCO here although its passages are not staged.
"""

from __future__ import annotations

import logging
from pathlib import Path

from negbench.harness.commands.common import add_data_root, name_list

log = logging.getLogger(__name__)


def cmd_eval(args) -> int:
    from tabulate import tabulate

    from negbench.harness.data.paths import given_root
    from negbench.harness.evaluation.conventions import get_profile
    from negbench.harness.evaluation.evaluate import evaluate_run
    from negbench.harness.evaluation.measures import parse_measures
    from negbench.harness.io.atomic import write_json_atomic
    from negbench.harness.io.trec_files import check_run_against_qrels, read_trec_run
    from negbench.harness.pipeline import preflight
    from negbench.suites.loading import load_test_qrels
    from negbench.suites.registry import get_suite

    if args.output:  # checked before reading: the result must not replace its own input
        preflight.not_an_input(args.output, [args.run], "--output")
        preflight.writable_file(args.output, "--output")
    suite = get_suite(args.suite)
    measures = parse_measures(name_list(args.measures, "--measures", "measure")
                              if args.measures is not None else suite.measures)
    profile = get_profile(suite.profile)
    root = given_root(args.data_root)  # None: the default places, else the cache as it is
    run = read_trec_run(Path(args.run))
    test = load_test_qrels(suite, root)
    preflight.judged_test_pairs_present(test)
    check_run_against_qrels(run, test.qrels, Path(args.run), test.source or suite.test)
    ev = evaluate_run(test.qrels, run, measures, profile)
    extra = sorted(set(run) - set(test.qrels))
    print(tabulate([[m, f"{v:.4f}"] for m, v in ev.means.items()], headers=["measure", "mean"],
                   tablefmt="github"))
    print(f"\n{suite.name} ({suite.test}): mean over {ev.num_queries:,} queries; "
          f"{ev.num_missing:,} absent from the run scored 0; {len(extra):,} run queries not in "
          f"the qrels ignored.\nConventions ({profile.name}): {profile.description}")
    if args.output:
        write_json_atomic({"kind": "eval", "suite": suite.name, "split": suite.test,
                           "run": str(args.run), "metrics": ev.means,
                           "num_queries": ev.num_queries, "num_missing_queries": ev.num_missing,
                           "conventions": {"profile": profile.name,
                                           "description": profile.description},
                           "per_query": ev.per_query}, Path(args.output))
        log.info("written to %s", args.output)
    return 0


def register(sub) -> None:
    e = sub.add_parser("eval", help="score a TREC run file on a suite's test qrels",
                       description="Evaluate a TREC run (qid Q0 docid rank score tag) on the "
                                   "suite's test split with its convention profile and "
                                   "measures. Needs only the qrels (works for MS MARCO "
                                   "without the passages).")
    e.add_argument("--suite", required=True,
                   help="suite name (see `negbench suites`) or irds:ID[,profile=P] for any "
                        "ir_datasets id with qrels")
    e.add_argument("--run", required=True, help="TREC run file")
    e.add_argument("--measures", default=None,
                   help="comma list of measures (default: the suite's), e.g. RR@10,R@1000; "
                        "any case, and as ir_measures, trec_eval or MTEB write them (MRR@10, "
                        "ndcg_cut_10)")
    e.add_argument("--output", default=None, help="also write the result as JSON here")
    add_data_root(e)
    e.set_defaults(func=cmd_eval)
