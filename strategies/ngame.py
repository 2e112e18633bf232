"""``ngame``: negative-mining-aware mini-batches of mutually close queries (Dahiya et al. 2023)."""

from __future__ import annotations

from dataclasses import dataclass

from negbench.harness.errors import NegbenchError
from negbench.harness.training.method import Recipe
from negbench.strategies.base import MiningContext, NegativeRow, Sampler, training_pairs
from negbench.strategies.engine import record_fill
from negbench.strategies.refreshing import ClusterPlan, check_refresh_every, query_texts
from negbench.strategies.registry import register


@dataclass
class NgameParams:
    """Queries clustered by k-means into clusters of about ``cluster_size``; a batch takes
    whole clusters. Re-encoded and re-clustered by the model being trained every
    ``refresh_every`` steps (0 = clusters of the base model throughout)."""

    cluster_size: int = 16
    refresh_every: int = 20

    def check(self) -> None:
        if self.cluster_size < 1:
            raise NegbenchError(f"ngame: cluster_size must be >= 1, got {self.cluster_size}")
        check_refresh_every("ngame", self.refresh_every)


@register("ngame")
class Ngame(Sampler):
    """NGAME (Dahiya et al. 2023): batches of mutually close queries, so the in-batch
    negatives are hard without a separate mining pass.

    No mined negative (as ``in-batch``): the hard negatives are the positives of the close
    queries sharing the batch. The training queries are clustered by faiss k-means
    (k = queries // ``cluster_size``) over the base model's vectors; each epoch takes the
    clusters in random order (``ClusterBatches``), so a batch of 64 holds about 64 /
    ``cluster_size`` clusters. Every ``refresh_every`` steps the queries are re-encoded by the
    model being trained (query tower on ``query-side``, the model on ``full``; the corpus is
    not needed) and re-clustered; the rows not yet seen this epoch follow the new clusters.
    As published (``--mode recipe``) the loss is ``triplet`` on each query's hardest in-batch
    document; its control under a shared loss is ``in-batch`` (random batches).
    """

    Params = NgameParams
    uses_negatives = False
    recipe = Recipe(loss="triplet",
                    schedule="batches of k-means clusters of close queries, re-clustered with "
                             "the current model every refresh_every steps; each query's hardest "
                             "in-batch document as its negative",
                    control=("in-batch", {}))
    paper = ("Dahiya et al. 2023, NGAME: Negative Mining-aware Mini-batching for Extreme "
             "Classification, WSDM")
    simplified = ("plain k-means (NGAME: balanced clustering) over the training queries only, "
                  "re-clustered every refresh_every steps; cosine triplet margin 0.3")

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        record_fill(ctx, {})
        return [NegativeRow(q, p, ()) for q, p in training_pairs(ctx.train)]

    def training_plan(self, ctx: MiningContext, budget, track: str) -> ClusterPlan:
        _, texts = query_texts(ctx)
        k = max(1, len(texts) // self.params.cluster_size)
        vectors = ctx.dense().encode(texts, "query", ctx.max_length)
        return ClusterPlan(ctx, vectors, k, "clusters of close queries by the current model",
                           self.params.refresh_every)
