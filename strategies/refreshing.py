"""Shared pieces of the dynamic samplers: re-mining with the model being trained and query
clusters for batch composition (see ``harness.training.dynamic`` for the hook itself).

A refresh re-mines with the same seeded per-pair choices as the first mining: the same model
gives the same negatives, so negatives change only when the model (or, for ``curriculum``,
the schedule) has.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np

from negbench.harness.errors import NegbenchError
from negbench.harness.training.batching import ClusterBatches, kmeans_labels
from negbench.harness.training.dynamic import ModelView, TrainingPlan
from negbench.harness.training.pairs import TrainingPairs
from negbench.strategies.base import MiningContext, NegativeRow, training_pairs
from negbench.strategies.engine import Pair, Ranker, WindowParams, mine_from_rankings, pair_rng


def check_refresh_every(name: str, refresh_every: int) -> None:
    if refresh_every < 0:
        raise NegbenchError(f"{name}: refresh_every must be >= 0 (0 = never), "
                            f"got {refresh_every}")


def check_no_margins(name: str, p: WindowParams) -> None:
    """Margins are measured against the positive's base-model score, which a refresh would
    leave stale: refused for samplers that re-mine with the model being trained."""
    if p.absolute_margin is not None or p.relative_margin is not None:
        raise NegbenchError(f"{name}: absolute_margin/relative_margin are not supported (the "
                            "positive's score moves with the model being trained)")


def scratch(ctx: MiningContext) -> MiningContext:
    """A copy of ``ctx`` whose ``extra`` counts (fill flags) do not reach the record."""
    return dataclasses.replace(ctx, extra=dict(ctx.extra))


def as_map(rows: list[NegativeRow]) -> dict[Pair, tuple[str, ...]]:
    return {(r.query_id, r.positive_id): r.negative_ids for r in rows}


def view_ranker(ctx: MiningContext, view: ModelView) -> Ranker:
    """Rankings of training queries by the model being trained (``view``)."""

    def rank(qids: list[str], depth: int):
        return view.search({q: ctx.train.queries[q] for q in qids}, depth)

    return rank


def steps_of(ctx: MiningContext, budget) -> int:
    """The run's optimizer steps (the budget applied to the suite's training pairs)."""
    return budget.num_steps(len(training_pairs(ctx.train)))


class RemineWindowPlan(TrainingPlan):
    """Every ``refresh_every`` steps: the rank-window mining of ``dense`` with the model being
    trained. ``lag`` refreshes of staleness: the negatives mined at one refresh are put to use
    ``lag`` refreshes later (an asynchronously built index becoming available)."""

    def __init__(self, ctx: MiningContext, params: WindowParams, refresh_every: int,
                 lag: int = 0, first_refresh: int | None = None) -> None:
        super().__init__(refresh_every, first_refresh)
        self.ctx, self.params, self.lag = ctx, params, lag
        self.pairs = training_pairs(ctx.train)
        self.queue: list[dict[Pair, tuple[str, ...]]] = []

    def refresh(self, view: ModelView, step: int, total: int):
        rows = mine_from_rankings(scratch(self.ctx), self.pairs, view_ranker(self.ctx, view),
                                  self.params)
        self.queue.append(as_map(rows))
        return self.queue.pop(0) if len(self.queue) > self.lag else None


def query_texts(ctx: MiningContext) -> tuple[list[str], list[str]]:
    """The training queries with a positive (sorted ids) and their texts."""
    qids = sorted({q for q, _ in training_pairs(ctx.train)})
    return qids, [ctx.train.queries[q] for q in qids]


class ClusterPlan(TrainingPlan):
    """Batches drawn cluster by cluster (``ClusterBatches``) over query clusters: k-means of
    the query vectors. With ``refresh_every`` the queries are re-encoded with the model being
    trained and re-clustered at each refresh (negatives are left alone)."""

    def __init__(self, ctx: MiningContext, vectors: np.ndarray, k: int, label: str,
                 refresh_every: int = 0) -> None:
        super().__init__(refresh_every)
        self.qids, self.texts = query_texts(ctx)
        self.k, self.seed = k, ctx.seed
        self.composer = ClusterBatches(self._labels(vectors))
        self.batching = f"{label}: k-means, {k} query clusters"

    def _labels(self, vectors: np.ndarray) -> dict[str, int]:
        return dict(zip(self.qids, (int(x) for x in kmeans_labels(vectors, self.k, self.seed))))

    def batches(self, pairs: TrainingPairs, batch_size: int, rng: np.random.Generator
                ) -> Iterator[list[int]]:
        return self.composer(pairs, batch_size, rng)

    def refresh(self, view: ModelView, step: int, total: int) -> None:
        self.composer.update(self._labels(view.encode_queries(self.texts)))


def weighted_draw(seed: int, pair: Pair, tag: str, ids: list[str], weights, k: int
                  ) -> tuple[str, ...] | None:
    """``k`` of ``ids`` drawn without replacement with probability proportional to
    ``weights`` (seeded per pair and ``tag``), in list order; None when fewer than ``k``."""
    if len(ids) < k:
        return None
    w = np.asarray(weights, dtype=np.float64) + 1e-9
    idx = pair_rng(seed, pair[0], f"{tag}|{pair[1]}").choice(len(ids), size=k, replace=False,
                                                             p=w / w.sum())
    return tuple(ids[int(i)] for i in sorted(idx))
