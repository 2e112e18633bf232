"""A one-file sampler for ``--plugin``: negatives that share no word with the query's
positive document's title, drawn with a seeded generator (a toy "easy negative" strategy).

    negbench strategies --plugin docs/examples/my_sampler.py
    negbench run --plugin docs/examples/my_sampler.py --suite beir/scifact \\
        --samplers in-batch,far-title --seeds 13 --output results/plugin
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from negbench.strategies.base import MiningContext, NegativeRow, Sampler, training_pairs
from negbench.strategies.registry import register


@dataclass
class FarTitleParams:
    num_negatives: int = 1
    tries: int = 50  # random draws per negative before any non-positive document is taken


@register("far-title")
class FarTitleNegatives(Sampler):
    """Random documents whose title shares no word with the positive's title (toy plugin)."""

    Params = FarTitleParams
    paper = "docs/plugins.md example"

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        rng = np.random.default_rng(ctx.seed)
        ids = list(ctx.corpus.ids)
        rows = []
        for q, pos in training_pairs(ctx.train):
            banned = ctx.exclude.get(q, set()) | {pos}
            words = set(ctx.corpus.docs[pos].title.lower().split())
            chosen: list[str] = []
            for _ in range(self.params.tries * self.params.num_negatives):
                d = ids[rng.integers(len(ids))]
                if d in banned or d in chosen:
                    continue
                if words.isdisjoint(ctx.corpus.docs[d].title.lower().split()):
                    chosen.append(d)
                if len(chosen) == self.params.num_negatives:
                    break
            while len(chosen) < self.params.num_negatives:  # fallback: any allowed document
                d = ids[rng.integers(len(ids))]
                if d not in banned and d not in chosen:
                    chosen.append(d)
            rows.append(NegativeRow(q, pos, tuple(chosen)))
        return rows
