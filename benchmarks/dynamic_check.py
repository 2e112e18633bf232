"""Device check of the dynamic samplers' training path (refresh hook, batch composition) on
CPU or CUDA, without BM25, a teacher or MiniLM's weights: a random tiny BERT (hidden 32, two
layers) with MiniLM's tokenizer, a BEIR-format SciFact folder, 12 steps x batch 64 at lr 1e-3
(bf16 on CUDA). Full track: dense, ance, ngame, curriculum, tas-balanced (its TAS-B batches
over dense negatives); query-side: adore, ngame; every one refreshing every 4 steps where it
refreshes. Prints and writes per run: optimizer steps, pairs seen, refreshes, re-encoded texts,
refresh seconds and how many pairs' negatives differ from the mined ones at the end.

    python benchmarks/dynamic_check.py --scifact DIR --tokenizer DIR --device cuda --output F
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

RUNS = [("full", "dense", {}), ("full", "ance", {"refresh_every": "4"}),
        ("full", "ngame", {"refresh_every": "4"}), ("full", "curriculum", {"refresh_every": "4"}),
        ("full", "tas-balanced", {}), ("query-side", "adore", {"refresh_every": "4"}),
        ("query-side", "ngame", {"refresh_every": "4"})]


def tiny_model(tokenizer: str, out: Path) -> Path:
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(tokenizer)
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2,
                     num_attention_heads=2, intermediate_size=64, max_position_embeddings=512)
    BertModel(cfg).save_pretrained(out / "hf")
    tok.save_pretrained(out / "hf")
    SentenceTransformer(modules=[Transformer(str(out / "hf"), max_seq_length=64),
                                 Pooling(32, "mean"), Normalize()], device="cpu").save(
        str(out / "st"))
    return out / "st"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scifact", required=True, help="BEIR-format SciFact folder")
    ap.add_argument("--tokenizer", required=True, help="a folder with MiniLM's tokenizer")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--work", default="/tmp/negbench-dynamic-check")
    ap.add_argument("--output", default=None, help="JSON file for the per-run facts")
    args = ap.parse_args()

    from negbench.harness.data.beir_folder import load_beir_folder
    from negbench.harness.retrieval.encoder import CachedEncoder, SentenceTransformerEncoder
    from negbench.harness.retrieval.models import load_model
    from negbench.harness.training.budget import get_budget
    from negbench.harness.training.dynamic import TrainingPlan
    from negbench.harness.training.full import train_full
    from negbench.harness.training.pairs import training_pairs
    from negbench.harness.training.query_side import train_query_side
    from negbench.strategies.base import MiningContext
    from negbench.strategies.registry import get_sampler

    dev, work = args.device, Path(args.work)
    precision = "bf16" if dev.startswith("cuda") else "fp32"
    corpus, train = load_beir_folder(Path(args.scifact), "train")
    _, test = load_beir_folder(Path(args.scifact), "test", corpus)
    exclude: dict[str, set[str]] = {}
    for split in (train, test):
        for q, judged in split.qrels.items():
            exclude.setdefault(q, set()).update(d for d, r in judged.items() if r > 0)
    st = tiny_model(args.tokenizer, work / "tiny")
    enc = CachedEncoder(SentenceTransformerEncoder(load_model(str(st), device=dev),
                                                   batch_size=64 if dev == "cpu" else 256,
                                                   progress=False), work / "cache")
    ctx = MiningContext(corpus=corpus, train=train, exclude=exclude, seed=13, max_length=64,
                        dense=lambda: enc, bm25=lambda: None,
                        extra={"cache_dir": work / "cache"}, device=dev)
    budget = dataclasses.replace(get_budget("smoke"), steps=12, batch_size=64,
                                 learning_rate=1e-3)
    doc_vectors = enc.encode(corpus.texts(), "doc", 64)
    drow = {d: i for i, d in enumerate(corpus.ids)}
    results = {}
    for track, name, params in RUNS:
        sampler = get_sampler(name).from_dict(params)
        miner = get_sampler("dense")() if name == "tas-balanced" else sampler  # no BM25 here
        rows = miner.mine(ctx)
        k = 1 if sampler.uses_negatives else 0
        pairs = training_pairs(rows, corpus, train, k, exclude)
        mined = list(pairs.doc_ids[-1])
        plan = sampler.training_plan(ctx, budget, track) or TrainingPlan()
        model = load_model(str(st), device=dev)
        t0 = time.perf_counter()
        if track == "full":
            train_full(model, pairs, budget, 13, work / "trainer" / name, dev, precision, False,
                       progress=False, plan=plan, corpus=corpus, exclude=exclude)
        else:
            train_query_side(model, pairs, doc_vectors, drow, {}, budget, 13, dev, precision,
                             False, progress=False, plan=plan, corpus=corpus, exclude=exclude)
        facts = {"wall_s": round(time.perf_counter() - t0, 2), **plan.facts(pairs),
                 "changed_vs_mined": sum(a != b for a, b in zip(mined, pairs.doc_ids[-1]))
                 if k else 0}
        results[f"{track}/{name}"] = facts
        print(track, name, json.dumps(facts), flush=True)
        if (facts["optimizer_steps"], facts["pairs_seen"]) != (12, 12 * 64):
            print(f"FAIL {track}/{name}: steps/pairs differ from the budget", file=sys.stderr)
            return 1
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=1) + "\n")
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
