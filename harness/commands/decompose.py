"""``negbench decompose RECIPE_DIR CONTROLLED_DIR``: a method's gain over static negatives,
split into what its negatives bring and what its loss and schedule bring."""

from __future__ import annotations

import math
from pathlib import Path

from negbench.harness.errors import NegbenchError


def cmd_decompose(args) -> int:
    from negbench.harness.evaluation.measures import select_measures
    from negbench.harness.evaluation.records import read_records
    from negbench.harness.io.atomic import write_text_atomic
    from negbench.harness.pipeline import preflight
    from negbench.harness.pipeline.folders import result_parts
    from negbench.harness.reporting.comparability import check_comparable
    from negbench.harness.reporting.decompose import decompose, to_markdown

    folders = [Path(args.recipe_dir), Path(args.controlled_dir)]
    for f in folders:
        if not (f / "records").is_dir():
            raise NegbenchError(f"{f}: no records/ folder (expected the --output of "
                                "`negbench run`)")
    if not (math.isfinite(args.alpha) and 0 < args.alpha < 1):
        raise NegbenchError(f"--alpha must be in (0, 1), got {args.alpha}")
    if args.output:
        out = Path(args.output)
        preflight.writable_file(out, "--output")
        for f in folders:
            preflight.not_an_input(out, result_parts(f), "--output")
    recipe, controlled = (read_records(f) for f in folders)
    check_comparable([r for r in recipe + controlled if r.get("kind") == "trained"],
                     f"records in {folders[0]} and {folders[1]}")
    measure = select_measures([args.measure], (m for r in recipe + controlled
                                               for m in r["metrics"]))[0]  # any spelling
    rows = decompose(recipe, controlled, measure, args.baseline, args.alpha, args.resamples)
    md = to_markdown(rows, measure, args.baseline)
    if args.output:
        write_text_atomic(md, Path(args.output))
    print(md)
    return 0


def register(sub) -> None:
    d = sub.add_parser(
        "decompose", help="split each method's gain over static negatives into negatives "
                          "vs loss + schedule (a recipe grid and a controlled grid)",
        description="For every method in both folders: total = recipe - baseline; negatives "
                    "= controlled - baseline, split into window (its window-matched control "
                    "- baseline) and dynamic (controlled - control); loss + schedule = recipe "
                    "- controlled. Seed-aware 95%% intervals, Holm over all components, the "
                    "minimum detectable effect at the corrected level; 'not separated' where "
                    "the corrected test does not reject.",
        epilog="example: negbench decompose results/runs/scifact-query-side "
               "results/runs/scifact-query-side-controlled")
    d.add_argument("recipe_dir", metavar="RECIPE_DIR", help="--output of a `run --mode recipe`")
    d.add_argument("controlled_dir", metavar="CONTROLLED_DIR",
                   help="--output of a `run --mode controlled` of the same suite and budget")
    d.add_argument("--baseline", default="dense",
                   help="the static baseline, present in either folder (default: dense)")
    d.add_argument("--measure", default="nDCG@10",
                   help="measure (default: nDCG@10); any case, and as ir_measures, trec_eval "
                        "or MTEB write them (MRR@10, ndcg_cut_10)")
    d.add_argument("--alpha", type=float, default=0.05, help="family-wise level (0.05)")
    d.add_argument("--resamples", type=int, default=2000,
                   help="bootstrap resamples of the secondary query-level interval (2000)")
    d.add_argument("--output", default=None, metavar="FILE.md",
                   help="also write the table to this file (never over a record or run file)")
    d.set_defaults(func=cmd_decompose)
