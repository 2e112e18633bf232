"""``mixture``: a weighted mix of registered samplers, chosen per training pair."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np

from negbench.harness.errors import NegbenchError
from negbench.harness.io import parse
from negbench.strategies.base import MiningContext, NegativeRow, Sampler
from negbench.strategies.engine import FILL_KEY, pair_rng, record_fill
from negbench.strategies.registry import get_sampler, register

_COMPONENT = re.compile(r"^(?P<name>[^\[\]:]+)(?:\[(?P<params>[^\[\]]*)\])?:(?P<weight>[^:]+)$")


@dataclass
class MixtureParams:
    """``components``: ``name[param=value,...]:weight`` comma list, e.g. ``bm25:0.5,random:0.5``
    or ``dense[range_max=200]:0.5,random:0.5`` (unlisted parameters keep their defaults)."""

    components: str = "dense:0.5,random:0.5"

    def check(self) -> None:
        parse_components(self.components)


def _split_top(spec: str) -> list[str]:
    """Split on commas outside brackets."""
    parts, depth, cur = [], 0, ""
    for ch in spec:
        depth += (ch == "[") - (ch == "]")
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return parts + [cur]


def parse_components(spec: str) -> list[tuple[str, dict[str, str], float]]:
    """``[(sampler name, parameters, weight)]``; every problem is a one-line error."""
    out = []
    for part in _split_top(spec):
        m = _COMPONENT.match(part.strip())
        try:
            w = parse.score(m["weight"].strip(), "weight") if m else -1.0
        except NegbenchError:
            w = -1.0
        if not m or w < 0:
            raise NegbenchError(f"mixture: component {part!r} needs NAME:WEIGHT or "
                                "NAME[param=value,...]:WEIGHT (weight >= 0)")
        name = m["name"].strip()
        if name == "mixture":
            raise NegbenchError("mixture: a mixture cannot contain itself")
        params = {}
        for kv in filter(None, (x.strip() for x in (m["params"] or "").split(","))):
            key, sep, value = kv.partition("=")
            if not sep:
                raise NegbenchError(f"mixture: parameter {kv!r} of {name} needs KEY=VALUE")
            params[key.strip()] = value.strip()
        get_sampler(name).from_dict(params)  # unknown sampler/parameter: error now
        out.append((name, params, w))
    if not out or sum(w for _, _, w in out) <= 0:
        raise NegbenchError("mixture: weights must sum to > 0")
    return out


def check_aligned(mined: list[list[NegativeRow]], names: list[str]) -> None:
    """Every component must fill the same (query, positive) pairs in the same order."""
    ref = [(r.query_id, r.positive_id) for r in mined[0]]
    for rows, name in zip(mined[1:], names[1:]):
        got = [(r.query_id, r.positive_id) for r in rows]
        if got != ref:
            bad = next((i for i, (a, b) in enumerate(zip(ref, got)) if a != b), min(len(ref),
                                                                                    len(got)))
            raise NegbenchError(f"mixture: rows of {name!r} do not line up with {names[0]!r} "
                                f"({len(got)} vs {len(ref)} rows; first difference at row {bad})")


@register("mixture")
class MixtureNegatives(Sampler):
    """A weighted mix of registered samplers (each pair takes one component's negatives)."""

    Params = MixtureParams
    paper = "negbench composition (e.g. Zhan et al. 2021's hard + random mix)"

    def components(self) -> list[tuple[str, Sampler, float]]:
        return [(name, get_sampler(name).from_dict(params), w)
                for name, params, w in parse_components(self.params.components)]

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        comps = self.components()
        weights = np.array([w for _, _, w in comps]) / sum(w for _, _, w in comps)
        mined, fills = [], []
        for _, sampler, _ in comps:
            sub = dataclasses.replace(ctx, extra=dict(ctx.extra))
            mined.append(sampler.mine(sub))
            fills.append(sub.extra.get(FILL_KEY, {}))
            ctx.extra.update({k: v for k, v in sub.extra.items() if k not in ctx.extra})
        check_aligned(mined, [name for name, _, _ in comps])
        rows, fill = [], {}
        for i, row in enumerate(mined[0]):
            pick = int(pair_rng(ctx.seed, row.query_id, "mixture|" + row.positive_id)
                       .choice(len(comps), p=weights))
            rows.append(mined[pick][i])
            pair = (row.query_id, row.positive_id)
            if pair in fills[pick]:
                fill[pair] = fills[pick][pair]
        record_fill(ctx, fill)
        return rows
