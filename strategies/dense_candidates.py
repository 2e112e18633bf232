"""Base-encoder candidates shared by the dense-ranking samplers (dense, semi-hard, star, simans,
margin, denoised) and the cross-encoder teacher: rankings of the train queries plus the score of
each (query, positive) pair."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from negbench.harness.data.collection import Corpus
from negbench.harness.io.trec_files import Hits
from negbench.harness.retrieval.ann_search import describe_search
from negbench.harness.retrieval.dense_search import search_run
from negbench.strategies.base import MiningContext, training_pairs
from negbench.strategies.engine import WindowParams, mine_from_rankings, ranking_depth


class DenseRanker:
    """Exact faiss search of the corpus with a (cached) encoder at ``max_length``; the same
    ``search(queries, k)`` interface as the BM25 searcher."""

    def __init__(self, encoder, corpus: Corpus, max_length: int, search: str = "exact") -> None:
        self.encoder, self.corpus, self.max_length = encoder, corpus, max_length
        self.search_spec = search  # exact, or an IVF spec (harness.retrieval.ann_search)
        self.tag = f"{getattr(encoder, 'fingerprint', type(encoder).__name__)}|{max_length}"
        precision = getattr(encoder, "precision", "fp32")  # bf16 vectors rank differently
        if precision != "fp32":
            self.tag += f"|{precision}"
        self._doc_emb: np.ndarray | None = None

    @property
    def doc_emb(self) -> np.ndarray:
        if self._doc_emb is None:
            self._doc_emb = self.encoder.encode(self.corpus.texts(), "doc", self.max_length)
        return self._doc_emb

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode(texts, "query", self.max_length)

    def search(self, queries: dict[str, str], k: int) -> dict[str, Hits]:
        qids = sorted(queries)
        return search_run(qids, self.embed([queries[q] for q in qids]), self.corpus.ids,
                          self.doc_emb, k, getattr(self.encoder, "device", "cpu"),
                          self.search_spec)


@dataclass
class DenseCandidates:
    pairs: list[tuple[str, str]]
    rankings: dict[str, Hits]
    positive_scores: dict[tuple[str, str], float]
    ranker: DenseRanker | None = None
    queries: dict[str, str] = field(default_factory=dict)
    depth: int = 0

    def rank(self, qids: list[str], depth: int) -> dict[str, Hits]:
        """Rankings of ``qids`` at least ``depth`` deep (searched again when deeper)."""
        if depth <= self.depth or self.ranker is None:
            return {q: self.rankings.get(q, []) for q in qids}
        return self.ranker.search({q: self.queries[q] for q in qids}, depth)

    def lowest_positive_scores(self) -> dict[tuple[str, str], float]:
        """Each pair mapped to the lowest score among its query's training positives."""
        low: dict[str, float] = {}
        for (q, _), s in self.positive_scores.items():
            low[q] = min(s, low.get(q, s))
        return {(q, p): low[q] for q, p in self.pairs}


def dense_candidates(ctx: MiningContext, range_max: int) -> DenseCandidates:
    """Rank the corpus for every train query with the (cached) base encoder, deep enough that
    ``range_max`` non-positive candidates remain after excluding the judged positives."""
    pairs = training_pairs(ctx.train)
    qids = sorted({q for q, _ in pairs})
    depth = ranking_depth(range_max, ctx.exclude)
    ranker = DenseRanker(ctx.dense(), ctx.corpus, ctx.max_length, ctx.search)
    q_emb = ranker.embed([ctx.train.queries[q] for q in qids])
    rankings = search_run(qids, q_emb, ctx.corpus.ids, ranker.doc_emb, depth,
                          getattr(ranker.encoder, "device", "cpu"), ctx.search)
    ctx.extra["search"] = describe_search(ctx.search, len(ctx.corpus.ids))  # the record's
    qrow = {q: i for i, q in enumerate(qids)}
    drow = {d: i for i, d in enumerate(ctx.corpus.ids)}
    pscores = {(q, p): float(np.dot(q_emb[qrow[q]], ranker.doc_emb[drow[p]])) for q, p in pairs}
    queries = {q: ctx.train.queries[q] for q in qids}
    return DenseCandidates(pairs, rankings, pscores, ranker, queries, depth)


def dense_window_rows(ctx: MiningContext, range_max: int, num_negatives: int) -> list:
    """``dense``'s negatives: uniform draws from each pair's top ``range_max`` non-positives of
    the base model (the step-0 negatives of methods that then weight or re-choose them)."""
    cand = dense_candidates(ctx, range_max)
    return mine_from_rankings(ctx, cand.pairs, cand.rank,
                              WindowParams(range_max=range_max, num_negatives=num_negatives))
