"""``negbench source-bias``: does a model prefer LLM rewrites of NFCorpus docs (Cocktail)?"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from negbench.harness.commands.common import add_cache_dir, add_data_root, add_device
from negbench.harness.errors import NegbenchError

log = logging.getLogger(__name__)

TABLE_COLUMNS = ("rewrite_preference_rate", "nDCG@10_human_index", "delta_nDCG@10",
                 "relative_delta_nDCG@10", "llm_share_of_top10")


def kept_models(folder: Path) -> list[Path]:
    """The trained models a ``negbench run --keep-models`` left in ``folder/models``."""
    from negbench.harness.evaluation.records import read_record

    models = sorted(p for p in (folder / "models").glob("*") if (p / "config.json").exists())
    if not models:
        raise NegbenchError(f"--models-from {folder}: no trained models in {folder / 'models'} "
                            "(run `negbench run ... --keep-models` first)")
    for m in models:
        rec = folder / "records" / f"{m.name}.json"
        if rec.exists() and read_record(rec).get("track") == "query-side":
            raise NegbenchError(f"--models-from {folder}: {m.name} is a query-side query tower "
                                "(its documents were encoded by the frozen base model); "
                                "source bias needs models of a `--track full` run")
    return models


def bias_table(results: list[dict]) -> str:
    """A markdown table, one row per model, of the source-bias measures."""
    from tabulate import tabulate

    rows = [[r["label"], r["relevant_pairs"], *(f"{r[c]:.4f}" for c in TABLE_COLUMNS)]
            for r in results]
    return tabulate(rows, headers=["model", "relevant pairs", *TABLE_COLUMNS],
                    tablefmt="github")


def cmd_source_bias(args) -> int:
    from negbench.harness.data.paths import data_root
    from negbench.harness.io.atomic import write_json_atomic, write_text_atomic
    from negbench.harness.pipeline import preflight
    from negbench.harness.pipeline.folders import check_folder, claim_folder
    from negbench.harness.pipeline.workspace import Workspace
    from negbench.harness.retrieval.models import load_model
    from negbench.suites.registry import get_suite
    from negbench.suites.source_bias import LLM_FILE, load_rewrites, source_bias

    suite = get_suite(args.suite)
    if suite.name != "beir/nfcorpus":
        raise NegbenchError(f"--suite {suite.name}: LLM rewrites are staged for beir/nfcorpus "
                            "only (cocktail-nfcorpus-llm/)")
    folder = Path(args.models_from) if args.models_from else None
    trained = kept_models(folder) if folder else []
    root = data_root(args.data_root)
    if args.output and folder is None:  # checked before the (long) encoding
        model = Path(args.model) if args.model and Path(args.model).exists() else None
        preflight.not_an_input(args.output, [root / suite.staged if suite.staged else None,
                                             (root / LLM_FILE).parent, model], "--output")
        preflight.writable_file(args.output, "--output")
    elif folder is not None:
        preflight.writable_dir(folder, "--models-from (source_bias.json is written there)")
    from negbench.harness.retrieval.device import resolve_device

    ws = Workspace(suite, root, args.cache_dir, args.model, progress=not args.quiet,
                   device=resolve_device(args.device))
    preflight.model_folder(ws.model_name)  # before the (long) encoding
    preflight.judged_test_pairs_present(ws.data.test)
    if folder is not None:  # the folder's runs are of this suite over this data
        check_folder(folder, suite.name, ws.data_fingerprint, "--models-from")
    for path in trained:
        preflight.model_folder(str(path), "--models-from")
    rewrites = load_rewrites(root, ws.data.corpus)
    results = []
    for path in [None, *trained]:  # None = the base model; trained ones load one at a time
        encoder = ws.base_encoder if path is None else ws.encoder_for(
            load_model(str(path), device=ws.device))
        results.append({"label": ws.model_name if path is None else path.name,
                        "suite": suite.name, "split": suite.test,
                        "model": ws.model_name if path is None else str(path),
                        "model_fingerprint": encoder.fingerprint,
                        **source_bias(encoder, ws.data.corpus, rewrites, ws.data.test,
                                      args.max_length)})
    if folder is None:
        print(json.dumps(results[0], indent=2))
        if args.output:
            write_json_atomic(results[0], Path(args.output))
            log.info("written to %s", args.output)
        return 0
    table = bias_table(results)
    print(table)
    claim_folder(folder, suite.name, ws.data_fingerprint, "--models-from")
    write_json_atomic(results, folder / "source_bias.json")
    write_text_atomic(table + "\n", folder / "source_bias.md")
    log.info("written to %s and source_bias.md", folder / "source_bias.json")
    return 0


def register(sub) -> None:
    s = sub.add_parser("source-bias", help="LLM-rewrite vs human-original preference (Cocktail)",
                       description="Index NFCorpus human docs together with their Llama-2 "
                                   "rewrites and report how often the rewrite outscores its "
                                   "original for relevant pairs, and the nDCG@10 change. "
                                   "With --models-from, do it for the base model and every "
                                   "model a `negbench run --keep-models` kept (one row each).")
    s.add_argument("--suite", default="beir/nfcorpus", help="beir/nfcorpus (the staged one)")
    s.add_argument("--model", default=None,
                   help="model name or local folder (default: the suite's model)")
    s.add_argument("--models-from", default=None, metavar="OUTPUT",
                   help="a `negbench run --keep-models` output folder: also score each trained "
                        "model; writes OUTPUT/source_bias.json and OUTPUT/source_bias.md")
    s.add_argument("--max-length", type=int, default=256, help="max_seq_length (default 256)")
    s.add_argument("--output", default=None,
                   help="also write the JSON result here (single-model mode)")
    add_device(s)
    add_data_root(s)
    add_cache_dir(s)
    s.add_argument("--quiet", action="store_true", help="no progress bars")
    s.set_defaults(func=cmd_source_bias)
