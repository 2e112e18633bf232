"""``negbench leaderboard DIR... --output site/``: one static HTML page."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


def cmd_leaderboard(args) -> int:
    from negbench.harness.errors import NegbenchError
    from negbench.harness.io.atomic import write_text_atomic
    from negbench.harness.pipeline import preflight
    from negbench.harness.pipeline.folders import result_parts
    from negbench.harness.reporting.leaderboard import build_page

    if args.resamples < 1:
        raise NegbenchError(f"--resamples must be >= 1, got {args.resamples}")
    out = preflight.writable_dir(args.output, "--output")
    preflight.not_an_input(Path(out) / "index.html",
                           [p for d in args.results_dirs for p in result_parts(d)], "--output")
    page = build_page([Path(d) for d in args.results_dirs], args.resamples)
    write_text_atomic(page, Path(out) / "index.html")
    log.info("wrote %s", Path(out) / "index.html")
    return 0


def register(sub) -> None:
    r = sub.add_parser("leaderboard", help="a static HTML leaderboard page from results folders",
                       description="Write OUTPUT/index.html (no server needed): per suite and "
                                   "track, systems x measures with mean ± sd over seeds and the "
                                   "seed-aware significance marks of `negbench report`, the "
                                   "forest plot, provenance on hover or click, sortable "
                                   "columns.",
                       epilog="example: negbench leaderboard results/runs/scifact-query-side-h100 "
                              "results/runs/nfcorpus-query-side-h100 --output site/")
    r.add_argument("results_dirs", nargs="+", metavar="DIR", help="--output folders of runs")
    r.add_argument("--output", required=True, help="folder for index.html")
    r.add_argument("--resamples", type=int, default=2000,
                   help="bootstrap/permutation resamples (default: 2000)")
    r.set_defaults(func=cmd_leaderboard)
