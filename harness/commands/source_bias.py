"""``negbench source-bias``: does a model prefer LLM rewrites of NFCorpus docs (Cocktail)?"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from negbench.harness.commands.common import add_cache_dir, add_data_root
from negbench.harness.errors import NegbenchError


def cmd_source_bias(args) -> int:
    from negbench.harness.paths import data_root
    from negbench.harness.records import write_json_atomic
    from negbench.harness.workspace import Workspace
    from negbench.suites.registry import get_suite
    from negbench.suites.source_bias import load_rewrites, source_bias

    suite = get_suite(args.suite)
    if suite.name != "beir/nfcorpus":
        raise NegbenchError(f"--suite {suite.name}: LLM rewrites are staged for beir/nfcorpus "
                            "only (cocktail-nfcorpus-llm/)")
    root = data_root(args.data_root)
    ws = Workspace(suite, root, args.cache_dir, args.model, progress=not args.quiet)
    rewrites = load_rewrites(root, ws.data.corpus)
    result = {"suite": suite.name, "split": suite.test, "model": ws.model_name,
              "model_fingerprint": ws.base_encoder.fingerprint,
              **source_bias(ws.base_encoder, ws.data.corpus, rewrites, ws.data.test,
                            args.max_length)}
    print(json.dumps(result, indent=2))
    if args.output:
        write_json_atomic(result, Path(args.output))
        print(f"written to {args.output}", file=sys.stderr)
    return 0


def register(sub) -> None:
    s = sub.add_parser("source-bias", help="LLM-rewrite vs human-original preference (Cocktail)",
                       description="Index NFCorpus human docs together with their Llama-2 "
                                   "rewrites and report how often the rewrite outscores its "
                                   "original for relevant pairs, and the nDCG@10 change.")
    s.add_argument("--suite", default="beir/nfcorpus", help="beir/nfcorpus (the staged one)")
    s.add_argument("--model", default=None,
                   help="model name or local folder (default: the suite's model)")
    s.add_argument("--max-length", type=int, default=256, help="max_seq_length (default 256)")
    s.add_argument("--output", default=None, help="also write the JSON result here")
    add_data_root(s)
    add_cache_dir(s)
    s.add_argument("--quiet", action="store_true", help="no progress bars")
    s.set_defaults(func=cmd_source_bias)
