"""``adore`` and ``adore+star``: the query tower trained against a fixed document index, the
batch's queries retrieving their top-k with the current query tower at every step (Zhan et
al. 2021, DRhard)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from negbench.harness.errors import NegbenchError
from negbench.harness.training.dynamic import TrainingPlan
from negbench.harness.training.method import Recipe
from negbench.strategies.base import MiningContext, NegativeRow, Sampler
from negbench.strategies.dense_candidates import dense_candidates
from negbench.strategies.engine import WindowParams, mine_from_rankings
from negbench.strategies.refreshing import check_no_margins, steps_of
from negbench.strategies.registry import register

ADORE_DEPTH = 200  # DRhard retrieves the top 200 per query at every step


@dataclass
class AdoreParams(WindowParams):
    """At every step each batch query retrieves its top ``range_max`` with the current query
    tower (the loss's list in recipe mode; the window its negatives are drawn from under a
    shared loss). Step 0's mined negatives: ``dense`` over the same window."""

    range_max: int = ADORE_DEPTH

    def check(self) -> None:
        super().check()
        check_no_margins("adore", self)
        if self.range_min:
            raise NegbenchError("adore: range_min is not supported (ADORE's list is the "
                                "current top range_max)")


class StepRetrievalPlan(TrainingPlan):
    """ADORE's schedule: from step ``first`` on, every step retrieves the batch's queries'
    top ``depth`` against the fixed document vectors (``harness.training.query_side``)."""

    def __init__(self, depth: int, first: int = 0, batching: str | None = None) -> None:
        super().__init__()
        self.retrieve_depth, self.retrieve_from = depth, first
        if batching:
            self.batching = batching


OLD_REFRESH = ("adore retrieves for the batch's queries at every step (DRhard); it has no "
               "refresh_every. The former periodic re-mining of every training query is "
               "`ance` on the query-side track in --mode controlled")


@register("adore")
class AdoreNegatives(Sampler):
    """ADORE (Zhan et al. 2021): only the query tower trains, against the fixed document
    index; at every step the batch's queries retrieve their top 200 with the current query
    tower.

    ``query-side`` track only: the document vectors are the cached base-model ones, so each
    step's retrieval is one product of the batch's query vectors with them. As published
    (``--mode recipe``) the loss is ``lambda-pairwise`` over that list: every (relevant,
    non-relevant) pair weighted by |1/r_i - 1/r_j| (the change in reciprocal rank when they
    swap), no in-batch negatives. Under a shared loss (``--mode controlled``) each row's
    negative is drawn afresh at every step from its current top 200; its window-matched
    control is ``dense[range_max=200]``.
    """

    Params = AdoreParams
    tracks = ("query-side",)
    provides = frozenset({"candidates"})
    recipe = Recipe(loss="lambda-pairwise", loss_params={"metric": "mrr"},
                    schedule="top 200 retrieved for the batch's queries at every step with the "
                             "current query tower against the fixed document index",
                    control=("dense", {"range_max": ADORE_DEPTH}))
    paper = ("Zhan et al. 2021, Optimizing Dense Retrieval Model Training with Hard Negatives "
             "(ADORE), SIGIR; code jingtaozhan/DRhard")
    simplified = ("the document index is the base model's (the paper's is STAR-trained); "
                  "cosine scores x 20 (the paper: dot products)")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Sampler:
        if "refresh_every" in values:
            raise NegbenchError(f"sampler {cls.name!r}: {OLD_REFRESH}")
        return super().from_dict(values)

    @classmethod
    def check_track(cls, track: str) -> None:
        if track not in cls.tracks:
            raise NegbenchError(f"sampler {cls.name!r} trains the query tower against a fixed "
                                f"document index: use --track query-side (on the {track!r} "
                                "track the documents move with the model; that is 'ance')")

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        cand = dense_candidates(ctx, self.params.range_max)
        return mine_from_rankings(ctx, cand.pairs, cand.rank, self.params)

    def training_plan(self, ctx: MiningContext, budget, track: str) -> StepRetrievalPlan:
        return StepRetrievalPlan(self.params.range_max)


@dataclass
class AdoreStarParams(AdoreParams):
    """The first ``star_fraction`` of the budget trains with STAR's static negatives (top
    ``star_range_max`` of the base model, in-batch mask on); ADORE's per-step retrieval
    follows."""

    star_fraction: float = 0.5
    star_range_max: int = 200

    def check(self) -> None:
        super().check()
        if not 0.0 <= self.star_fraction < 1.0:
            raise NegbenchError(f"adore+star: star_fraction must be in [0, 1), "
                                f"got {self.star_fraction}")
        WindowParams(range_max=self.star_range_max, num_negatives=self.num_negatives).check()


@register("adore+star")
class AdoreStarNegatives(AdoreNegatives):
    """ADORE+STAR (Zhan et al. 2021): a STAR stage, then ADORE, both inside one budget.

    Steps 1 to ``star_fraction`` x steps train with STAR's static hard negatives (sampled from
    the base model's top ``star_range_max``, with the in-batch mask); from then on each
    batch's negatives are drawn from its queries' current top ``range_max``, retrieved at
    every step. The two stages share the optimizer, schedule and step count of the budget, so
    the run sees exactly as many steps and pairs as every other sampler.
    """

    Params = AdoreStarParams
    in_batch_mask = True
    provides = frozenset()  # the STAR stage has no retrieved list: one loss for both stages
    recipe = Recipe(loss="mnrl", mask=True,
                    schedule="STAR stage (static top-200, mask) for star_fraction of the "
                             "steps, then per-step top-200 retrieval for the batch's queries",
                    control=("dense", {"range_max": ADORE_DEPTH}))
    paper = ("Zhan et al. 2021, Optimizing Dense Retrieval Model Training with Hard Negatives "
             "(ADORE+STAR), SIGIR")
    simplified = ("both stages are query-side inside one budget with one loss, MNRL with the "
                  "mask (the paper: STAR's pairwise loss training the document encoder too, "
                  "then ADORE's lambda-pairwise loss on STAR's document index)")

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        p = WindowParams(range_max=self.params.star_range_max,
                         num_negatives=self.params.num_negatives)
        cand = dense_candidates(ctx, p.range_max)
        return mine_from_rankings(ctx, cand.pairs, cand.rank, p)

    def training_plan(self, ctx: MiningContext, budget, track: str) -> StepRetrievalPlan:
        first = max(1, math.ceil(self.params.star_fraction * steps_of(ctx, budget)))
        return StepRetrievalPlan(self.params.range_max, first)
