"""``negbench reproduce RESULTS_DIR``: zero-shot records vs published numbers (exit 1 on FAIL)."""

from __future__ import annotations

import logging
from pathlib import Path

from negbench.harness.errors import NegbenchError

log = logging.getLogger(__name__)

# Shipped with the package (pyproject package-data), so `negbench reproduce` finds it from any
# working directory; in the repository: harness/reporting/reference/published.yaml.
DEFAULT_REFERENCE = Path(__file__).resolve().parents[1] / "reporting" / "reference" / "published.yaml"


def cmd_reproduce(args) -> int:
    from tabulate import tabulate

    from negbench.harness.evaluation.records import read_records
    from negbench.harness.reporting.reproduce import OK_TOL, check_records, load_references

    folder = Path(args.results_dir)
    if not (folder / "records").is_dir():
        raise NegbenchError(f"{folder}: no records/ folder")
    refs = load_references(Path(args.reference))
    records = read_records(folder)
    checks, unmatched = check_records(records, refs)
    if not checks:
        raise NegbenchError(f"{folder}: no zero-shot record matches a reference in "
                            f"{args.reference}" + (f" (zero-shot records: {', '.join(unmatched)})"
                                                   if unmatched else ""))
    rows = [[c.record, c.reference, c.measure, f"{c.expected:.5f}",
             "-" if c.measured is None else f"{c.measured:.5f}",
             "-" if c.diff is None else f"{c.diff:+.5f}", c.verdict] for c in checks]
    print(tabulate(rows, headers=["record", "reference", "measure", "expected", "measured",
                                  "diff", "verdict"], tablefmt="github", disable_numparse=True))
    print(f"\nOK: |diff| <= {OK_TOL:g}; OKish: |diff| <= tolerance (default 5e-4 or the "
          f"reference's own); FAIL otherwise. References: {args.reference}")
    profiles = sorted({r["conventions"]["profile"] for r in records if r["kind"] == "zero-shot"})
    print(f"Measured under convention profile(s): {', '.join(profiles)}.")
    for name in unmatched:
        log.warning("no reference for zero-shot record %s", name)
    failed = [c for c in checks if c.verdict == "FAIL"]
    if failed:
        log.error("reproduce: %d of %d checks FAILED", len(failed), len(checks))
        return 1
    return 0


def register(sub) -> None:
    r = sub.add_parser("reproduce", help="check zero-shot records against published numbers",
                       description="Compare each zero-shot record in RESULTS_DIR/records with "
                                   "the expected numbers in a reference YAML. Verdicts: OK "
                                   "(<= 1e-4), OKish (<= 5e-4 or the reference's tolerance), "
                                   "FAIL; exit status 1 if any check fails.")
    r.add_argument("results_dir", metavar="RESULTS_DIR", help="the --output folder of a run")
    r.add_argument("--reference", default=str(DEFAULT_REFERENCE),
                   help="reference YAML (default: the published numbers shipped with negbench, "
                        "harness/reporting/reference/published.yaml in the repository)")
    r.set_defaults(func=cmd_reproduce)
