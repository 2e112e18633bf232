"""``star``: STAR's static top-200 hard negatives plus in-batch random negatives (Zhan et al. 2021)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from negbench.harness.errors import NegbenchError
from negbench.harness.training.method import Recipe
from negbench.strategies.base import MiningContext, NegativeRow, Sampler
from negbench.strategies.dense_candidates import dense_candidates
from negbench.strategies.engine import WindowParams, mine_from_rankings
from negbench.strategies.registry import register

OLD_STAR = "dense[range_max=200]:0.5,random:0.5"


@dataclass
class StarParams:
    """``num_negatives`` hard negatives per pair, uniform over the top ``range_max``
    non-positives of the base model."""

    range_max: int = 200
    num_negatives: int = 1

    def check(self) -> None:
        WindowParams(range_max=self.range_max, num_negatives=self.num_negatives).check()


@register("star")
class StarNegatives(Sampler):
    """STAR (Zhan et al. 2021, SIGIR): static top-200 hard negatives for every pair; the
    random negatives come in-batch.

    Every pair gets ``num_negatives`` hard negatives sampled uniformly from the static top-200
    of the base model; the random negatives are the other in-batch documents, with the query's
    judged positives masked out of them (``in_batch_mask``, STAR's rel_pair_mask). As
    published (``--mode recipe``) the loss is ``pairwise``: a logistic loss on positive -
    negative for every in-batch positive and every hard negative of the batch.

    The earlier negbench ``star`` (a coin flip per negative between a top-200 hard negative and
    a uniform random document) is ``mixture`` with ``components=dense[range_max=200]:0.5,
    random:0.5``.
    """

    Params = StarParams
    in_batch_mask = True
    recipe = Recipe(loss="pairwise", mask=True,
                    schedule="static top-200 hard negatives of the base model; the other rows' "
                             "documents as random negatives; duplicate-free random batches")
    paper = "Zhan et al. 2021, Optimizing Dense Retrieval Model Training with Hard Negatives "\
            "(STAR), SIGIR; code jingtaozhan/DRhard"
    simplified = "the untouched base model stands in for STAR's warm-up model; the "\
                 "training budget's batch decides how many in-batch random negatives there are"

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Sampler:
        if "hard_ratio" in values:
            raise NegbenchError("star has no hard_ratio: its random negatives come in-batch; "
                                "the old coin flip is --sampler mixture with "
                                f"components={OLD_STAR}")
        return super().from_dict(values)

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        p = WindowParams(range_max=self.params.range_max, num_negatives=self.params.num_negatives)
        cand = dense_candidates(ctx, p.range_max)
        return mine_from_rankings(ctx, cand.pairs, cand.rank, p)
