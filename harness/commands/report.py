"""``negbench report RESULTS_DIR``: tables with significance, JSON and plots."""

from __future__ import annotations

import logging
import math
from pathlib import Path

from negbench.harness.commands.common import csv_list, name_list
from negbench.harness.errors import NegbenchError

log = logging.getLogger(__name__)

# report writes OUTPUT/PREFIX<suffix> for each of these, and its plots as
# OUTPUT/PREFIX-<plot>.<format> for each --plot-formats format
SUFFIXES = (".md", ".tex", ".csv", "-comparisons.csv", ".json")


def cmd_report(args) -> int:
    from negbench.harness.evaluation.records import read_records
    from negbench.harness.io.atomic import write_text_atomic
    from negbench.harness.pipeline import preflight
    from negbench.harness.pipeline.folders import result_parts
    from negbench.harness.reporting.plots import check_formats, write_plots
    from negbench.harness.reporting.render import (
        comparisons_csv,
        to_csv,
        to_json,
        to_latex,
        to_markdown,
    )
    from negbench.harness.reporting.report import build_report

    folder = Path(args.results_dir)
    if not (folder / "records").is_dir():
        raise NegbenchError(f"{folder}: no records/ folder (expected the --output of "
                            "`negbench run`)")
    if not (math.isfinite(args.alpha) and 0 < args.alpha < 1):
        raise NegbenchError(f"--alpha must be in (0, 1), got {args.alpha}")
    if args.resamples < 1:
        raise NegbenchError(f"--resamples must be >= 1, got {args.resamples}")
    formats = check_formats(csv_list(args.plot_formats))
    out = preflight.writable_dir(args.output or folder, "--output")
    for name in ([f"{args.prefix}{s}" for s in SUFFIXES]
                 + [f"{args.prefix}-plot.{f}" for f in formats]):
        # report.* beside the records is intended (PREFIX-*.<format> lie with them: one name
        # per format stands for the plots); over a record, negatives file or run file it
        # never writes
        preflight.not_an_input(out / name, result_parts(folder), "--output/--prefix")
    records = read_records(folder)
    if args.systems is not None:
        records = select_systems(records, name_list(args.systems, "--systems", "system"), folder)
    rep = build_report(records, name_list(args.measures, "--measures", "measure")
                       if args.measures is not None else None,
                       args.baseline, args.all_pairs, args.test, args.correction, args.alpha,
                       args.resamples, args.seed, mixed_precision=args.mixed_precision)
    from negbench.harness.pipeline.sequential_grid import summary_lines

    rep.notes.extend(summary_lines(folder))  # a sequential grid: seeds per verdict, and why
    out.mkdir(parents=True, exist_ok=True)
    plots = [] if args.no_plots else write_plots(rep, out, args.prefix, formats)
    md = to_markdown(rep, plots)
    files = dict(zip(SUFFIXES, (md, to_latex(rep), to_csv(rep), comparisons_csv(rep),
                                to_json(rep, plots)), strict=True))
    for suffix, text in files.items():
        write_text_atomic(text, out / f"{args.prefix}{suffix}")
    print(md)
    written = [f"{args.prefix}{s}" for s in files] + plots
    log.info("wrote %s to %s", ", ".join(written), out)
    return 0


def select_systems(records: list[dict], names: list[str], folder: Path,
                   option: str = "--systems") -> list[dict]:
    """Only the records of the named systems (sampler names, or a zero-shot row's name); a
    name with no record in the folder is an error naming ``option``."""
    present = {r["name"] for r in records}
    missing = [n for n in names if n not in present]
    if missing:
        raise NegbenchError(f"{option}: no records of {', '.join(missing)} in {folder} "
                            f"(present: {', '.join(sorted(present))})")
    return [r for r in records if r["name"] in names]


def register(sub) -> None:
    r = sub.add_parser("report", help="tables (Markdown, LaTeX, CSV, JSON) with significance "
                                      "tests, and plots, from a results folder",
                       description="Summarize RESULTS_DIR/records: mean ± sd and 95%% interval "
                                   "over seeds per system; against a baseline (or all pairs) "
                                   "the seed-aware test (queries and seeds random) with "
                                   "multiple-comparison correction, its interval and the "
                                   "minimum detectable effect, plus a secondary query-level "
                                   "paired test; plots (PNG, PDF or SVG) incl. a forest plot "
                                   "and per-query differences. Records of "
                                   "different tracks, budgets, suites, models or precisions "
                                   "are refused.")
    r.add_argument("results_dir", metavar="RESULTS_DIR", help="the --output folder of a run")
    r.add_argument("--output", default=None,
                   help="where to write report.* (default: RESULTS_DIR)")
    r.add_argument("--prefix", default="report", help="file name prefix (default: report)")
    r.add_argument("--systems", default=None,
                   help="comma list of the systems to report (sampler names, zero-shot rows "
                        "by their name, e.g. BM25); default: every record in the folder")
    r.add_argument("--measures", default=None,
                   help="comma list of measures (default: all in the records); any case, "
                        "and as ir_measures, trec_eval or MTEB write them (MRR@10, "
                        "ndcg_cut_10)")
    r.add_argument("--baseline", default=None,
                   help="system every other is compared with (default: in-batch if present, "
                        "else the first trained sampler)")
    r.add_argument("--all-pairs", action="store_true", help="compare every pair of systems")
    r.add_argument("--test", choices=["t", "permutation"], default="t",
                   help="secondary query-level paired test on seed-averaged scores: t "
                        "(paired t-test) or permutation (Fisher randomization); default: t. "
                        "The markers use the seed-aware test.")
    r.add_argument("--correction", choices=["holm", "hochberg", "bonferroni", "none"],
                   default="holm",
                   help="multiple-comparison correction per measure over the trained systems' "
                        "comparisons (zero-shot rows apart); hochberg (step-up) is valid "
                        "here, all comparisons sharing the baseline (default: holm)")
    r.add_argument("--alpha", type=float, default=0.05, help="significance level (0.05)")
    r.add_argument("--resamples", type=int, default=10_000,
                   help="permutation/bootstrap resamples (default: 10000)")
    r.add_argument("--seed", type=int, default=0,
                   help="random seed of permutation and bootstrap (default: 0)")
    r.add_argument("--plot-formats", default="png", metavar="FORMATS",
                   help="comma list of plot formats, each plot written in every one: png, "
                        "pdf, svg (default: png), e.g. png,pdf,svg")
    r.add_argument("--no-plots", action="store_true", help="skip the plots")
    r.add_argument("--mixed-precision", action="store_true",
                   help="allow records of different precisions (fp32, bf16: run --precision) "
                        "in one report, with a note counting them (default: refused)")
    r.set_defaults(func=cmd_report)
