"""Why negbench's and sentence-transformers' mined negatives differ on a suite: simulate
``mine_hard_negatives``' text-level rules on negbench's own dense ranking, one rule at a time.

sentence-transformers works on texts, negbench on ids. ``mine_hard_negatives`` (i) de-duplicates
the corpus by text (of two documents with the same text only the first is ranked), (ii) bans
every document whose text is a positive's text, and (iii) pools the positives of queries with
the same text. negbench ranks every document id, bans the query's judged ids, and keys queries
by id. This script takes negbench's ranking of the training queries (base model, cached
embeddings), applies the rules, mines the same window (ranks 10-100, 5 negatives, ``top``) and
prints how far each variant agrees with negbench's ``dense`` negatives, the figures
``benchmarks/mining_vs_st.py`` prints for the two tools. A variant with all three rules that
reproduces those figures explains the difference.

    python benchmarks/st_text_rules.py [--suite beir-nfcorpus] [--cache-dir DIR]

It also counts negbench negatives whose text is one of the query's positives' texts.
"""

from __future__ import annotations

import argparse
import os
from collections import defaultdict
from pathlib import Path

DATA = Path(os.environ.get("NEGBENCH_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
PARAMS = {"range_min": 10, "range_max": 100, "num_negatives": 5, "sampling": "top"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--suite", default="beir-nfcorpus", help="a BEIR folder under the data root")
    ap.add_argument("--cache-dir", default=None, help="negbench cache (default: its default)")
    args = ap.parse_args()

    from negbench.harness.pipeline.workspace import Workspace
    from negbench.strategies.base import MiningContext, training_pairs
    from negbench.strategies.dense_candidates import dense_candidates
    from negbench.strategies.registry import get_sampler
    from negbench.suites.registry import get_suite

    ws = Workspace(get_suite(str(DATA / args.suite)), model="all-MiniLM-L6-v2", progress=False,
                   cache_dir=Path(args.cache_dir) if args.cache_dir else None)
    data = ws.data
    ctx = MiningContext(corpus=data.corpus, train=data.train, exclude=data.exclude, seed=13,
                        max_length=256, dense=lambda: ws.base_encoder, bm25=lambda: ws.bm25,
                        extra={"cache_dir": ws.cache_dir})
    mined = {(r.query_id, r.positive_id): r.negative_ids
             for r in get_sampler("dense").from_dict(PARAMS).mine(ctx)}
    pairs = training_pairs(data.train)
    rankings = dense_candidates(ctx, 4 * PARAMS["range_max"]).rankings
    text = {d: data.corpus.docs[d].text for d in data.corpus.ids}
    first: dict[str, str] = {}
    for d in data.corpus.ids:
        first.setdefault(text[d], d)
    qtext = data.train.queries
    by_query: dict[str, set[str]] = defaultdict(set)  # positives' texts per query id
    by_text: dict[str, set[str]] = defaultdict(set)  # ... pooled over queries with one text
    for q, p in pairs:
        by_query[q].add(text[p])
        by_text[qtext[q]].add(text[p])

    def window(q: str, dedup: bool, ban_text: bool, pool: bool) -> tuple[str, ...]:
        banned = (by_text[qtext[q]] if pool else by_query[q]) if ban_text else set()
        seen: set[str] = set()
        out: list[str] = []
        for d, _ in rankings[q]:
            t = text[d]
            if dedup:
                if t in seen:
                    continue
                seen.add(t)
                d = first[t]
            if (t in banned) if ban_text else (d in data.exclude.get(q, set())):
                continue
            out.append(d)
            if len(out) >= PARAMS["range_max"]:
                break
        lo = PARAMS["range_min"]
        return tuple(out[lo:lo + PARAMS["num_negatives"]])

    print(f"{args.suite} train: {len(pairs):,} pairs, {len(first):,} distinct texts in "
          f"{len(text):,} docs")
    print("| variant | negatives shared with negbench | rows identical |")
    print("| --- | --- | --- |")
    variants = [("sentence-transformers' rules (i)+(ii)+(iii)", True, True, True),
                ("without (i) corpus de-duplication", False, True, True),
                ("without (ii) text ban (ids banned instead)", True, False, False),
                ("without (iii) pooling by query text", True, True, False),
                ("none of them (negbench's rules)", False, False, False)]
    for name, dedup, ban_text, pool in variants:
        shared = same = total = 0
        cache: dict[str, tuple[str, ...]] = {}
        for q, p in pairs:
            if q not in cache:
                cache[q] = window(q, dedup, ban_text, pool)
            a, b = mined[(q, p)], cache[q]
            shared += len(set(a) & set(b))
            total += len(a)
            same += a == b
        print(f"| {name} | {100 * shared / total:.1f} % | {100 * same / len(pairs):.1f} % |")
    dup = sum(1 for (q, _), negs in mined.items() for n in negs if text[n] in by_query[q])
    total = sum(len(v) for v in mined.values())
    print(f"\nnegbench negatives whose text equals one of the query's positives' texts: {dup:,} "
          f"of {total:,} ({100 * dup / total:.2f} %)")


if __name__ == "__main__":
    main()
