"""``ance``: hard negatives re-mined from the checkpoint being trained every N steps."""

from __future__ import annotations

from dataclasses import dataclass

from negbench.harness.errors import NegbenchError
from negbench.harness.training.method import Recipe
from negbench.strategies.base import MiningContext, NegativeRow, Sampler
from negbench.strategies.dense_candidates import dense_candidates
from negbench.strategies.engine import WindowParams, mine_from_rankings
from negbench.strategies.refreshing import (
    RemineWindowPlan,
    check_no_margins,
    check_refresh_every,
)
from negbench.strategies.registry import register


@dataclass
class AnceParams(WindowParams):
    """Rank window over the current model's ranking (ANCE samples from the top 200), re-mined
    every ``refresh_every`` steps; ``lag`` refreshes of index staleness (0 = synchronous)."""

    range_max: int = 200
    refresh_every: int = 20
    lag: int = 1

    def check(self) -> None:
        super().check()
        check_refresh_every("ance", self.refresh_every)
        check_no_margins("ance", self)
        if self.lag < 0:
            raise NegbenchError(f"ance: lag must be >= 0, got {self.lag}")


@register("ance")
class AnceNegatives(Sampler):
    """ANCE (Xiong et al. 2021): negatives sampled from the top 200 of the model being trained,
    re-mined every ``refresh_every`` steps.

    Step 0's negatives are ``dense`` with ``range_max=200`` (the base model is the first
    checkpoint). Every ``refresh_every`` optimizer steps training pauses, the current model
    re-encodes what its track lets change (``full``: the whole corpus and the training queries;
    ``query-side``: only the training queries, against the fixed document vectors) and every
    pair's negatives are re-mined from its new top ``range_max`` with the same seeded per-pair
    choice. ANCE's asynchronous index refresh (a trainer that keeps going while another process
    re-encodes the corpus with an older checkpoint) is approximated synchronously: the index is
    rebuilt from the exact current checkpoint and, with ``lag=1`` (the default), each
    refresh's negatives are put to use one refresh later, as an index that took
    ``refresh_every`` steps to build would be (``lag=0``: synchronous). As published
    (``--mode recipe``, full track only) the loss is ``nll``: each positive against its own
    negatives, no in-batch negatives.
    """

    Params = AnceParams
    recipe = Recipe(loss="nll",
                    schedule="negatives re-mined from the model being trained every "
                             "refresh_every steps, used one refresh late (an asynchronously "
                             "built index); no in-batch negatives",
                    control=("dense", {"range_max": 200}),
                    query_side="ANCE trains both towers against an asynchronously refreshed "
                               "index (--track full); on the query-side track its re-mining is "
                               "ADORE's window: run it there with --mode controlled, beside "
                               "its control dense[range_max=200]")
    paper = ("Xiong et al. 2021, Approximate Nearest Neighbor Negative Contrastive Learning "
             "(ANCE), ICLR")
    simplified = ("refreshes pause training while the index is rebuilt (lag=1 reproduces the "
                  "asynchronous index's staleness); one negative per pair from the top 200; "
                  "the base model is the warm start (the paper: a BM25-negatives warm-up)")

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        cand = dense_candidates(ctx, self.params.range_max)
        return mine_from_rankings(ctx, cand.pairs, cand.rank, self.params)

    def training_plan(self, ctx: MiningContext, budget, track: str) -> RemineWindowPlan:
        p = self.params
        return RemineWindowPlan(ctx, p, p.refresh_every, p.lag)
