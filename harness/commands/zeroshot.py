"""``negbench zero-shot``: only the reference rows (BM25 and the untouched base model)."""

from __future__ import annotations

import logging

from negbench.harness.commands.common import (
    add_cache_dir,
    add_data_root,
    add_device,
    add_prompts,
    csv_list,
)
from negbench.harness.errors import NegbenchError

log = logging.getLogger(__name__)

SYSTEMS = ("bm25", "model")


def cmd_zero_shot(args) -> int:
    from negbench.harness.data.paths import given_root
    from negbench.harness.evaluation.records import read_records
    from negbench.harness.io.atomic import write_text_atomic
    from negbench.harness.pipeline import preflight
    from negbench.harness.pipeline.folders import claim_folder
    from negbench.harness.pipeline.grid import zero_shot_current
    from negbench.harness.pipeline.run_records import zero_shot_bm25, zero_shot_model
    from negbench.harness.pipeline.workspace import Workspace
    from negbench.harness.reporting.table import results_table
    from negbench.harness.retrieval.device import resolve_device
    from negbench.harness.training.budget import get_budget
    from negbench.suites.registry import get_suite

    systems = csv_list(args.systems)
    unknown = sorted(set(systems) - set(SYSTEMS))
    if unknown or not systems:
        raise NegbenchError(f"--systems {args.systems!r}: choose from {', '.join(SYSTEMS)}")
    suite = get_suite(args.suite)
    budget = get_budget(args.budget, suite.budgets.get(args.budget))
    out = preflight.writable_dir(args.output, "--output")  # nothing is written before this
    root = given_root(args.data_root)  # None: the default places, else the cache as it is
    ws = Workspace(suite, root, args.cache_dir, args.model, progress=not args.quiet,
                   device=resolve_device(args.device), query_prompt=args.query_prompt,
                   doc_prompt=args.doc_prompt)
    if "model" in systems:
        preflight.model_folder(ws.model_name)
        preflight.prompts_text(ws, {"--query-prompt": args.query_prompt,
                                    "--doc-prompt": args.doc_prompt})
    preflight.suite_data(ws)
    claim_folder(out, ws.suite.name, ws.data_fingerprint)  # the first write, after the checks
    if "bm25" in systems:
        log.info("[negbench] zero-shot BM25")
        zero_shot_bm25(ws, budget, out)
    if "model" in systems:
        log.info("[negbench] zero-shot %s (eval max_seq_length %d)", ws.model_name,
                 budget.eval_max_length)
        zero_shot_model(ws, budget, out)
    records = [r for r in read_records(out)  # only rows of this suite, data, model, budget
               if zero_shot_current(r, ws, budget, (r.get("zero_shot") or {}).get("system"))]
    table = results_table(records, list(suite.measures))
    write_text_atomic(table, out / "table.md")
    preflight.held_out(ws)  # a warning at the end (a failure stays one line)
    print(table)
    log.info("records and runs written to %s", out)
    return 0


def register(sub) -> None:
    z = sub.add_parser("zero-shot", help="evaluate the zero-shot reference rows (BM25, base model)",
                       description="Evaluate BM25 and/or the untouched base model on a suite's "
                                   "test split, no training. Records land in OUTPUT/records/; "
                                   "check them with `negbench reproduce OUTPUT`.")
    z.add_argument("--suite", required=True,
                   help="suite name (see `negbench suites`), path of a local BEIR folder, or "
                        "irds:ID[,train=ID][,dev=ID][,profile=P] for any ir_datasets id")
    z.add_argument("--budget", default="standard",
                   help="named budget; sets eval max_seq_length and retrieve_k "
                        "(default: standard, eval length 256 as in MTEB)")
    z.add_argument("--output", required=True, help="folder for records/, runs/ and table.md")
    z.add_argument("--systems", default="bm25,model",
                   help="comma list of bm25, model (default: both)")
    z.add_argument("--model", default=None,
                   help="base model: all-MiniLM-L6-v2, a local folder or a Hugging Face id "
                        "(default: the suite's model)")
    add_prompts(z)
    add_device(z)
    add_data_root(z)
    add_cache_dir(z)
    z.add_argument("--quiet", action="store_true", help="no progress bars")
    z.set_defaults(func=cmd_zero_shot)
