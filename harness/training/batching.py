"""Batch composition shared by both tracks: which training rows share a batch.

The default is ``duplicate_free_batches`` (random order, no query or document twice in a
batch, as sentence-transformers' ``NoDuplicatesBatchSampler``), except that a negative in more
rows than an epoch has batches (``shared_negatives``: one hard negative for many queries) may
repeat: it could not be kept to one per batch, and would otherwise starve its rows or leave no
batch to fill. The loss masks any copy of a row's own positive (``masking.in_batch_mask``), so
such a negative is never a row's negative and positive at once. ``ClusterBatches`` orders
the rows cluster by cluster (TAS-Balanced's topic clusters, NGAME's clusters of mutually
close queries) and feeds that order through the same duplicate-free rule, so every batch is
full and duplicate-free whatever the composition: steps and pairs seen do not depend on it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

import numpy as np

from negbench.harness.errors import NegbenchError
from negbench.harness.training.pairs import TrainingPairs


def shared_negatives(pairs: TrainingPairs, batch_size: int) -> set[str]:
    """The negatives (corpus ids, or texts of generated negatives) found in more rows than an
    epoch has batches (``len(pairs) // batch_size``): no batching can keep them to one per
    batch. Empty for ordinary mined negatives, so their batches are what they always were."""
    per_epoch = max(1, len(pairs) // batch_size)
    counts: Counter = Counter()
    for c, column in enumerate(pairs.doc_ids[1:]):
        texts = pairs.negative_texts[c]
        counts.update(d if d is not None else texts[r] for r, d in enumerate(column))
    return {d for d, n in counts.items() if n > per_epoch}


def duplicate_free_batches(pairs: TrainingPairs, batch_size: int, rng: np.random.Generator,
                           order: Iterable[int] | None = None) -> Iterator[list[int]]:
    """One epoch of batches, lazily (the last partial one dropped), in which no query, no
    positive and no document repeats, as sentence-transformers' ``NoDuplicatesBatchSampler``
    builds them (rows that clash with the batch being filled wait for the next one), except
    the ``shared_negatives``, which may repeat. ``order``: the rows in the order to take them
    (default: a random permutation drawn from ``rng``). Keys are read when a row is taken, so
    negatives refreshed mid-epoch are respected."""
    rows = iter(int(i) for i in (rng.permutation(len(pairs)) if order is None else order))
    pending: list[int] = []
    shared = shared_negatives(pairs, batch_size)

    def keys(r: int) -> set:
        return ({("q", pairs.query_ids[r]), ("d", pairs.doc_ids[0][r])}
                | {("d", c[r]) for c in pairs.doc_ids[1:] if c[r] and c[r] not in shared})

    while True:
        batch, seen, waiting = [], set(), []
        for r in pending:
            k = keys(r)
            if len(batch) < batch_size and not k & seen:
                batch.append(r)
                seen |= k
            else:
                waiting.append(r)
        for r in rows:
            k = keys(r)
            if k & seen:
                waiting.append(r)
                continue
            batch.append(r)
            seen |= k
            if len(batch) == batch_size:
                break
        pending = waiting
        if len(batch) < batch_size:
            return
        yield batch


def kmeans_labels(vectors: np.ndarray, k: int, seed: int, niter: int = 20) -> np.ndarray:
    """Cluster id of each row of ``vectors`` by seeded k-means (squared L2): faiss's
    ``Kmeans``, or the same Lloyd iterations in numpy where faiss is not installed (a GPU
    sandbox without faiss-cpu)."""
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    k = max(1, min(int(k), x.shape[0]))
    try:
        import faiss
    except ImportError:
        return _numpy_kmeans(x, k, seed, niter)
    km = faiss.Kmeans(x.shape[1], k, niter=niter, seed=int(seed), verbose=False,
                      min_points_per_centroid=1, max_points_per_centroid=1 << 20)
    km.train(x)
    _, idx = km.index.search(x, 1)
    return idx[:, 0].astype(np.int64)


def _numpy_kmeans(x: np.ndarray, k: int, seed: int, niter: int) -> np.ndarray:
    """Lloyd's k-means from a seeded k-means++ start; an empty cluster keeps its centroid."""
    rng = np.random.default_rng(seed)
    picks = [int(rng.integers(len(x)))]
    d2 = ((x - x[picks[0]]) ** 2).sum(1, dtype=np.float64)
    for _ in range(1, k):
        total = float(d2.sum())
        picks.append(int(rng.choice(len(x), p=d2 / total)) if total > 0
                     else int(rng.integers(len(x))))
        d2 = np.minimum(d2, ((x - x[picks[-1]]) ** 2).sum(1))
    cent = x[picks].copy()
    for _ in range(niter):
        labels = np.argmin((cent * cent).sum(1)[None, :] - 2 * x @ cent.T, axis=1)
        for c in range(k):
            members = x[labels == c]
            if len(members):
                cent[c] = members.mean(0)
    return np.argmin((cent * cent).sum(1)[None, :] - 2 * x @ cent.T, axis=1).astype(np.int64)


class ClusterBatches:
    """Batches drawn cluster by cluster; ``query_labels`` maps each query id to its cluster.
    Each epoch takes the clusters in a random order, each cluster's rows in a random order,
    through ``duplicate_free_batches``: a batch holds one cluster's rows (several small
    clusters when clusters are smaller than the batch), except where one cluster's last rows
    meet the next cluster's. ``update`` re-clusters: the rows not yet seen this epoch are
    re-ordered by the new clusters from the next batch on."""

    def __init__(self, query_labels: dict[str, int]) -> None:
        self.query_labels = dict(query_labels)
        self.version = 0

    def update(self, query_labels: dict[str, int]) -> None:
        self.query_labels = dict(query_labels)
        self.version += 1

    def _order(self, pairs: TrainingPairs, rows: list[int], rng: np.random.Generator
               ) -> list[int]:
        by: dict[int, list[int]] = {}
        for r in rows:
            q = pairs.query_ids[r]
            if q not in self.query_labels:
                raise NegbenchError(f"query {q!r} has no cluster")
            by.setdefault(self.query_labels[q], []).append(r)
        out: list[int] = []
        for c in rng.permutation(sorted(by)):
            members = by[int(c)]
            out.extend(members[i] for i in rng.permutation(len(members)))
        return out

    def __call__(self, pairs: TrainingPairs, batch_size: int, rng: np.random.Generator
                 ) -> Iterator[list[int]]:
        remaining = set(range(len(pairs)))
        version, batches = None, iter(())
        while True:
            if version != self.version:
                version = self.version
                batches = duplicate_free_batches(pairs, batch_size, rng,
                                                 self._order(pairs, sorted(remaining), rng))
            batch = next(batches, None)
            if batch is None:
                return
            remaining.difference_update(batch)
            yield batch


def mean_pairwise_similarity(vectors: np.ndarray, batches: list[list[int]]) -> float:
    """Mean cosine similarity between the distinct rows of each batch, averaged over batches
    (``vectors`` L2-normalised, one per row): how homogeneous the batches are."""
    sims = []
    for b in batches:
        v = vectors[b]
        s = v @ v.T
        n = len(b)
        sims.append((s.sum() - np.trace(s)) / (n * (n - 1)))
    return float(np.mean(sims))
