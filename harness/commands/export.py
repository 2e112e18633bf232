"""``negbench export``: a run's mined negatives in the formats trainers read."""

from __future__ import annotations

import logging
from pathlib import Path

from negbench.harness.commands.common import add_data_root
from negbench.harness.errors import NegbenchError

log = logging.getLogger(__name__)


def pick_record(run_dir: Path, sampler: str | None, seed: int | None) -> dict:
    """The one trained record of ``run_dir`` with a negatives file (narrowed by sampler and
    seed); several or none is an error listing the choices."""
    from negbench.harness.evaluation.records import read_records

    if not (run_dir / "records").is_dir():
        raise NegbenchError(f"{run_dir}: no records/ folder (give the --output of a run)")
    found = [r for r in read_records(run_dir) if r.get("kind") == "trained"
             and (r.get("negatives") or {}).get("file")
             and sampler in (None, r.get("name")) and seed in (None, r.get("seed"))]
    if len(found) != 1:
        choices = ", ".join(f"{r['name']} seed {r['seed']}" for r in found)
        raise NegbenchError(
            f"{run_dir}: {len(found)} runs with mined negatives match"
            + (f" ({choices}); pick one with --sampler NAME --seed N" if found else ""))
    return found[0]


def cmd_export(args) -> int:
    from negbench.harness.data.fingerprint import data_fingerprint, matches
    from negbench.harness.data.paths import given_root
    from negbench.harness.io.digest import sha256_file
    from negbench.harness.io.negative_formats import export_rows
    from negbench.harness.io.negatives import read_negatives
    from negbench.harness.pipeline import preflight
    from negbench.suites.loading import load_suite_data
    from negbench.suites.registry import get_suite

    run_dir = Path(args.run_dir)
    rec = pick_record(run_dir, args.sampler, args.seed)
    neg_path = run_dir / rec["negatives"]["file"]
    # before anything is written; the record names the file, maybe outside RUN_DIR
    preflight.not_an_input(args.output, [run_dir, neg_path], "--output")
    if not neg_path.is_file() or sha256_file(neg_path) != rec["negatives"]["sha256"]:
        raise NegbenchError(f"{neg_path}: missing or not the file its record names (sha256)")
    suite = get_suite(rec["suite"])
    data = load_suite_data(suite, given_root(args.data_root))
    if not matches(rec, data_fingerprint(data)):
        raise NegbenchError(f"{rec['suite']}: the data differs from the run's (fingerprint)")
    rows = read_negatives(neg_path, data.corpus, data.exclude)
    n = export_rows(rows, data.corpus, data.train, args.format, Path(args.output))
    log.info("%d (query, positive) pairs of %s seed %s written to %s (%s); train on them, or "
             "read them back with --samplers from-file --param from-file.path=%s", n,
             rec["name"], rec["seed"], args.output, args.format, args.output)
    return 0


def register(sub) -> None:
    e = sub.add_parser("export", help="write a run's mined negatives for another trainer",
                       description="Write the negatives a sampler mined in RUN_DIR (the "
                                   "--output of `negbench run`) as a sentence-transformers "
                                   "dataset (st: anchor/positive/negative_1..n, saved with "
                                   "datasets), FlagEmbedding JSONL or Tevatron JSONL. The "
                                   "from-file sampler reads all three back.")
    e.add_argument("run_dir", metavar="RUN_DIR")
    e.add_argument("--format", required=True, choices=["st", "flagembedding", "tevatron"])
    e.add_argument("--output", required=True,
                   help="file (JSONL formats) or folder (st) to write")
    e.add_argument("--sampler", default=None, help="which run (when RUN_DIR has several)")
    e.add_argument("--seed", type=int, default=None, help="which seed (when several)")
    add_data_root(e)
    e.set_defaults(func=cmd_export)
