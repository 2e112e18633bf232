"""``mixture``: a weighted mix of registered samplers, chosen per training pair."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from negbench.harness.errors import NegbenchError
from negbench.strategies.base import MiningContext, NegativeRow, Sampler
from negbench.strategies.engine import pair_rng
from negbench.strategies.registry import get_sampler, register


@dataclass
class MixtureParams:
    """``components``: ``name:weight`` comma list, e.g. ``bm25:0.5,random:0.5`` (defaults of
    each component sampler are used)."""

    components: str = "dense:0.5,random:0.5"


def parse_components(spec: str) -> list[tuple[str, float]]:
    out = []
    for part in spec.split(","):
        name, sep, weight = part.strip().rpartition(":")
        try:
            w = float(weight)
        except ValueError:
            raise NegbenchError(f"mixture: component {part!r} needs NAME:WEIGHT") from None
        if not sep or not name or w < 0:
            raise NegbenchError(f"mixture: component {part!r} needs NAME:WEIGHT (weight >= 0)")
        if name == "mixture":
            raise NegbenchError("mixture: a mixture cannot contain itself")
        get_sampler(name)
        out.append((name, w))
    if not out or sum(w for _, w in out) <= 0:
        raise NegbenchError("mixture: weights must sum to > 0")
    return out


@register("mixture")
class MixtureNegatives(Sampler):
    """A weighted mix of registered samplers (each pair takes one component's negatives)."""

    Params = MixtureParams

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        comps = parse_components(self.params.components)
        weights = np.array([w for _, w in comps]) / sum(w for _, w in comps)
        mined = [get_sampler(name)().mine(ctx) for name, _ in comps]
        rows = []
        for i, row in enumerate(mined[0]):
            pick = int(pair_rng(ctx.seed, row.query_id, "mixture|" + row.positive_id)
                       .choice(len(comps), p=weights))
            rows.append(mined[pick][i])
        return rows
