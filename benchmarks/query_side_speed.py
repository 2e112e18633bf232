"""Query-side training step: negbench's loop against a plain loop, measured in one process.

The plain loop is what an independent re-implementation did: re-tokenize every batch with the
model's tokenizer, pad it to its longest query, one forward, AdamW (foreach), default threads.
negbench's loop (``harness.training.query_side``) tokenizes once, encodes each batch in groups
of similar length and uses fused AdamW. Both see the same batches of real SciFact training
queries against the same frozen document vectors (random unit vectors: their values do not
change the cost). Prints seconds per step, the ratio, and the largest loss difference between
the two computations in eval mode (no dropout), which must be ~0: the speed-up does not change
what is learned.

    python benchmarks/query_side_speed.py [--steps 10] [--batch 64]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from negbench.harness.data.paths import data_root
from negbench.harness.retrieval.models import load_model
from negbench.harness.training.losses import MNRL, LossBatch
from negbench.harness.training.query_side import encode_length_grouped, set_cpu_threads
from negbench.suites.loading import load_suite_data
from negbench.suites.registry import get_suite


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--max-length", type=int, default=64)
    args = ap.parse_args()
    data = load_suite_data(get_suite("beir/scifact"), data_root())
    queries = [data.train.queries[q] for q in sorted(data.train.queries)]
    rng = np.random.default_rng(0)
    batches = [[queries[i] for i in rng.choice(len(queries), args.batch, replace=False)]
               for _ in range(args.steps + 1)]  # +1 warm-up step, not timed
    g = torch.Generator().manual_seed(0)
    docs = torch.nn.functional.normalize(torch.randn(2 * args.batch, 384, generator=g), dim=-1)
    cols = [docs[:args.batch], docs[args.batch:]]

    def plain(model, opt, texts):
        feats = model.tokenize(texts)  # pads to the batch's longest query
        model.max_seq_length = args.max_length
        q = model(feats)["sentence_embedding"]
        return MNRL()(LossBatch(q, cols))

    def negbench(model, opt, texts, tok=None):
        ids = model.tokenizer(texts, truncation=True, max_length=args.max_length)["input_ids"]
        return MNRL()(LossBatch(encode_length_grouped(model, model.tokenizer, ids), cols))

    # same loss in eval mode: the grouped forward computes the same function
    m = load_model("all-MiniLM-L6-v2", max_seq_length=args.max_length).eval()
    with torch.no_grad():
        diffs = [abs(plain(m, None, b).item() - negbench(m, None, b).item()) for b in batches[:3]]
    timings = {}
    for name, fn, fused in (("plain", plain, False), ("negbench", negbench, True)):
        if name == "negbench":
            set_cpu_threads()
        model = load_model("all-MiniLM-L6-v2", max_seq_length=args.max_length).train()
        opt = torch.optim.AdamW(model.parameters(), lr=2e-5, weight_decay=0.0,
                                **({"fused": True} if fused else {"foreach": True}))
        for i, texts in enumerate(batches):
            if i == 1:
                t0 = time.perf_counter()
            loss = fn(model, opt, texts)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        timings[name] = (time.perf_counter() - t0) / args.steps
    print(f"threads {torch.get_num_threads()}, batch {args.batch}, query length "
          f"{args.max_length}, {args.steps} timed steps")
    print(f"plain loop     {timings['plain']:.3f} s/step")
    print(f"negbench loop  {timings['negbench']:.3f} s/step")
    print(f"speed-up       {timings['plain'] / timings['negbench']:.2f}x")
    print(f"max |loss difference| (eval mode, 3 batches): {max(diffs):.2e}")


if __name__ == "__main__":
    main()
