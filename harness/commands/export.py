"""``negbench export``: a run's mined negatives in the formats trainers read."""

from __future__ import annotations

from negbench.harness.commands.common import add_cache_dir, add_data_root, add_device
from negbench.harness.pipeline.exporting import SCORES


def cmd_export(args) -> int:
    from negbench.harness.pipeline.exporting import export_negatives

    export_negatives(args.run_dir, args.format, args.output, args.sampler, args.seed,
                     args.data_root, args.cache_dir, args.device, args.scores)
    return 0


def register(sub) -> None:
    e = sub.add_parser("export", help="write a run's mined negatives for another trainer",
                       description="Write the negatives a sampler mined in RUN_DIR (the "
                                   "--output of `negbench run`) as a sentence-transformers "
                                   "dataset (st: anchor/positive/negative_1..n, saved with "
                                   "datasets), FlagEmbedding JSONL (one line per query, with "
                                   "pos_scores/neg_scores and the run's query prompt) or "
                                   "Tevatron JSONL. The from-file sampler reads all three "
                                   "back.")
    e.add_argument("run_dir", metavar="RUN_DIR")
    e.add_argument("--format", required=True, choices=["st", "flagembedding", "tevatron"])
    e.add_argument("--output", required=True,
                   help="file (JSONL formats) or folder (st) to write")
    e.add_argument("--sampler", default=None, help="which run (when RUN_DIR has several)")
    e.add_argument("--seed", type=int, default=None, help="which seed (when several)")
    e.add_argument("--scores", default="auto", choices=SCORES,
                   help="flagembedding: where pos_scores/neg_scores come from: teacher (the "
                        "sampler's cross-encoder, its scores as the sampler saw them), model "
                        "(the run's base model, "
                        "the dot product dense miners rank by), auto (teacher when the sampler "
                        "mined with one, else model) or none (default: auto)")
    add_data_root(e)
    add_cache_dir(e)
    add_device(e)
    e.set_defaults(func=cmd_export)
