"""``adore`` and ``adore+star``: the query tower trained against a fixed document index, its
negatives re-retrieved by the current query tower (Zhan et al. 2021)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from negbench.harness.errors import NegbenchError
from negbench.strategies.base import MiningContext, NegativeRow, Sampler
from negbench.strategies.dense_candidates import dense_candidates
from negbench.strategies.engine import WindowParams, mine_from_rankings
from negbench.strategies.refreshing import (
    RemineWindowPlan,
    check_no_margins,
    check_refresh_every,
    steps_of,
)
from negbench.strategies.registry import register


@dataclass
class AdoreParams(WindowParams):
    """Negatives from the current query tower's top ``range_max`` non-positives, re-retrieved
    every ``refresh_every`` steps."""

    refresh_every: int = 20

    def check(self) -> None:
        super().check()
        check_refresh_every("adore", self.refresh_every)
        check_no_margins("adore", self)


@register("adore")
class AdoreNegatives(Sampler):
    """ADORE (Zhan et al. 2021): only the query tower trains, against the fixed document
    index, and its negatives are re-retrieved by the current query tower (top-k).

    ``query-side`` track only: the document vectors are the cached base-model ones, so a
    refresh encodes only the training queries with the current query tower and searches the
    fixed index exactly. Step 0's negatives are ``dense``'s (the base model is the first
    query tower). On the ``full`` track the documents move with the model, which is ANCE's
    setting: use ``ance`` there.
    """

    Params = AdoreParams
    tracks = ("query-side",)
    paper = ("Zhan et al. 2021, Optimizing Dense Retrieval Model Training with Hard Negatives "
             "(ADORE), SIGIR; code jingtaozhan/DRhard")
    simplified = ("re-retrieval every refresh_every steps for all training queries (the paper: "
                  "every step for the batch's queries); one negative sampled from the current "
                  "top 30 per pair (the paper: all top-k in a listwise loss); the document index "
                  "is the base model's, not a STAR-trained one")

    @classmethod
    def check_track(cls, track: str) -> None:
        if track not in cls.tracks:
            raise NegbenchError(f"sampler {cls.name!r} trains the query tower against a fixed "
                                f"document index: use --track query-side (on the {track!r} "
                                "track the documents move with the model; that is 'ance')")

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        cand = dense_candidates(ctx, self.params.range_max)
        return mine_from_rankings(ctx, cand.pairs, cand.rank, self.params)

    def training_plan(self, ctx: MiningContext, budget, track: str) -> RemineWindowPlan:
        return RemineWindowPlan(ctx, self.params, self.params.refresh_every)


@dataclass
class AdoreStarParams(AdoreParams):
    """The first ``star_fraction`` of the budget trains with STAR's static negatives (top
    ``star_range_max`` of the base model, in-batch mask on); ADORE's refreshes follow."""

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
    the base model's top ``star_range_max``, with the in-batch mask); from then on ADORE
    re-retrieves the negatives with the current query tower every ``refresh_every`` steps. The
    two stages share the optimizer, schedule and step count of the budget, so the run sees
    exactly as many steps and pairs as every other sampler.
    """

    Params = AdoreStarParams
    in_batch_mask = True
    paper = ("Zhan et al. 2021, Optimizing Dense Retrieval Model Training with Hard Negatives "
             "(ADORE+STAR), SIGIR")
    simplified = ("both stages are query-side inside one budget (the paper's STAR stage also "
                  "trains the document encoder, whose index ADORE then uses); ADORE as in adore")

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        p = WindowParams(range_max=self.params.star_range_max,
                         num_negatives=self.params.num_negatives)
        cand = dense_candidates(ctx, p.range_max)
        return mine_from_rankings(ctx, cand.pairs, cand.rank, p)

    def training_plan(self, ctx: MiningContext, budget, track: str) -> RemineWindowPlan:
        first = max(1, math.ceil(self.params.star_fraction * steps_of(ctx, budget)))
        return RemineWindowPlan(ctx, self.params, self.params.refresh_every,
                                first_refresh=first)
