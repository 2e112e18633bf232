"""The mining engine shared by samplers: candidate lists -> filtered, windowed, sampled negatives.

Options follow sentence-transformers' ``mine_hard_negatives``: rank window (``range_min``,
``range_max``), ``max_score``/``min_score``, ``absolute_margin``/``relative_margin`` against the
positive's score, ``num_negatives`` and ``sampling`` (``top`` or ``random`` in the window).
Judged positives of the query are always excluded first, so ranks count non-positive candidates.

Every sampler fills every training pair with exactly ``num_negatives`` negatives (identical
training sets across samplers). When a filter leaves too few candidates the window is searched
deeper (``range_max`` doubled, up to ``DEEPEN_FACTOR`` x), then the pair is topped up with
uniformly random non-positive documents. ``ctx.extra`` counts them: ``deeper_pairs`` (filled by
the deeper search) and ``fallback_pairs`` (topped up at random); the two are disjoint.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import islice

import numpy as np

from negbench.harness.errors import NegbenchError
from negbench.harness.io.trec_files import Hits
from negbench.strategies.base import MiningContext, NegativeRow

Pair = tuple[str, str]
_NONE: frozenset[str] = frozenset()
Ranker = Callable[[list[str], int], dict[str, Hits]]  # (query ids, depth) -> rankings
Chooser = Callable[[dict[Pair, Hits], int], dict[Pair, tuple[str, ...]]]  # windows, range_max

DEEPEN_FACTOR = 8  # the deeper search stops at 8 x the sampler's range_max
FILL_KEY = "_pair_fill"  # ctx.extra: {pair: "deeper" | "fallback"} (read by ``mixture``)
RANDOM_TRIES = 20  # rejection-sampling draws per wanted negative before a shuffled scan


@dataclass
class WindowParams:
    """Candidate selection shared by the ranking-based samplers."""

    range_min: int = 0
    range_max: int = 30
    num_negatives: int = 1
    sampling: str = "random"
    max_score: float | None = None
    min_score: float | None = None
    absolute_margin: float | None = None
    relative_margin: float | None = None

    def check(self) -> None:
        if not 0 <= self.range_min < self.range_max:
            raise NegbenchError(f"need 0 <= range_min < range_max, got {self.range_min}, "
                                f"{self.range_max}")
        if self.sampling not in ("top", "random"):
            raise NegbenchError(f"sampling must be 'top' or 'random', got {self.sampling!r}")
        check_num_negatives(self.num_negatives)
        if (self.min_score is not None and self.max_score is not None
                and self.min_score > self.max_score):
            raise NegbenchError(f"min_score {self.min_score} > max_score {self.max_score}: no "
                                "candidate can pass")
        if self.absolute_margin is not None and self.absolute_margin < 0:
            raise NegbenchError(f"absolute_margin must be >= 0, got {self.absolute_margin}")
        if self.relative_margin is not None and not 0 <= self.relative_margin < 1:
            raise NegbenchError(f"relative_margin must be in [0, 1), got {self.relative_margin}")


def check_num_negatives(k: int) -> None:
    if k < 1:
        raise NegbenchError(f"num_negatives must be >= 1, got {k}")


def ranking_depth(range_max: int, exclude: dict[str, set[str]]) -> int:
    """How many hits to retrieve so ``range_max`` non-positive candidates remain for any query."""
    return range_max + max((len(v) for v in exclude.values()), default=0) + 1


def pair_rng(seed: int, query_id: str, positive_id: str) -> np.random.Generator:
    """A generator per (seed, pair): results do not depend on iteration order."""
    digest = hashlib.sha256(f"{seed}|{query_id}|{positive_id}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def window(hits: Hits, banned: set[str], range_max: int) -> Hits:
    """The first ``range_max`` non-positive candidates of a ranking."""
    return list(islice((h for h in hits if h[0] not in banned), range_max))


def pair_windows(rankings: dict[str, Hits], pairs: Iterable[Pair],
                 exclude: dict[str, set[str]], width: int, ids: bool = False) -> dict[Pair, list]:
    """Each pair's ``window`` of its query's ranking, the query's judged docs and the pair's
    positive banned (``ids``: its doc ids only). A positive among the judged docs (every pair
    of suite data) bans nothing more, so such pairs share one window per query: treat the
    lists as read-only."""

    def cut(q: str, banned: set[str] | frozenset[str]) -> list:
        hits = window(rankings.get(q, []), banned, width)
        return [d for d, _ in hits] if ids else hits

    per_query: dict[str, list] = {}
    out: dict[Pair, list] = {}
    for q, pos in pairs:
        banned = exclude.get(q, _NONE)
        if pos in banned:
            if q not in per_query:
                per_query[q] = cut(q, banned)
            out[(q, pos)] = per_query[q]
        else:
            out[(q, pos)] = cut(q, banned | {pos})
    return out


def relative_threshold(positive_score: float, relative_margin: float) -> float:
    """``pos - |pos| * margin``: below the positive for negative scores too (the sign fix of
    sentence-transformers issue #3819)."""
    return positive_score - abs(positive_score) * relative_margin


def select(cands: Hits, p: WindowParams, rng: np.random.Generator | None,
           positive_score: float | None = None) -> tuple[str, ...]:
    """From a window of non-positive candidates: apply score filters and margins against
    ``positive_score``, skip the first ``range_min`` survivors, sample (``top``/``random``;
    ``rng`` is needed only for ``random``)."""
    if p.max_score is not None:
        cands = [(d, s) for d, s in cands if s <= p.max_score]
    if p.min_score is not None:
        cands = [(d, s) for d, s in cands if s >= p.min_score]
    if positive_score is not None:
        if p.absolute_margin is not None:
            cands = [(d, s) for d, s in cands if s <= positive_score - p.absolute_margin]
        if p.relative_margin is not None:
            limit = relative_threshold(positive_score, p.relative_margin)
            cands = [(d, s) for d, s in cands if s <= limit]
    cands = cands[p.range_min:]
    if p.sampling == "top" or len(cands) <= p.num_negatives:
        return tuple(d for d, _ in cands[:p.num_negatives])
    pick = np.sort(rng.choice(len(cands), size=p.num_negatives, replace=False))
    return tuple(cands[i][0] for i in pick)


def random_negatives(ids: list[str], banned: set[str], taken: list[str], k: int,
                     rng: np.random.Generator) -> list[str]:
    """``taken`` topped up to ``k`` with uniform random docs not banned and not taken. Bounded:
    rejection sampling, then a seeded shuffled scan; an error if the corpus is too small."""
    out = list(taken)
    seen = set(out) | banned
    for _ in range(RANDOM_TRIES * k):
        if len(out) >= k:
            return out
        d = ids[int(rng.integers(len(ids)))]
        if d not in seen:
            out.append(d)
            seen.add(d)
    for i in rng.permutation(len(ids)):
        if len(out) >= k:
            break
        if ids[i] not in seen:
            out.append(ids[i])
            seen.add(ids[i])
    if len(out) < k:
        raise NegbenchError(f"only {len(out)} non-positive documents in the corpus, "
                            f"{k} negatives wanted")
    return out


def finish(ctx: MiningContext, pairs: list[Pair], chosen: dict[Pair, tuple[str, ...]], k: int,
           deeper: set[Pair] | None = None, at_least: bool = False) -> list[NegativeRow]:
    """One row per pair, in ``pairs`` order, each with exactly ``k`` negatives (``at_least``:
    keep longer rows as given). Short rows get random negatives; counts go to ``ctx.extra``."""
    fill: dict[Pair, str] = {p: "deeper" for p in (deeper or set())}
    rows = []
    for q, pos in pairs:
        negs = list(chosen.get((q, pos), ()))
        negs = negs if at_least else negs[:k]
        if len(negs) < k:
            banned = ctx.exclude.get(q, set()) | {pos}
            negs = random_negatives(ctx.corpus.ids, banned, negs, k,
                                    pair_rng(ctx.seed, q, "fallback|" + pos))
            fill[(q, pos)] = "fallback"
        rows.append(NegativeRow(q, pos, tuple(negs)))
    record_fill(ctx, fill)
    return rows


def record_fill(ctx: MiningContext, fill: dict[Pair, str]) -> None:
    """Store the per-pair fill flags and their counts in ``ctx.extra``."""
    ctx.extra[FILL_KEY] = fill
    ctx.extra["deeper_pairs"] = sum(v == "deeper" for v in fill.values())
    ctx.extra["fallback_pairs"] = sum(v == "fallback" for v in fill.values())


def mine_ranked(ctx: MiningContext, pairs: list[Pair], rank: Ranker, choose: Chooser, k: int,
                range_max: int) -> list[NegativeRow]:
    """Windows of ``range_max`` non-positive candidates -> ``choose``; pairs left short are
    searched again with the window doubled (up to ``DEEPEN_FACTOR`` x), then filled at random."""
    check_num_negatives(k)
    chosen: dict[Pair, tuple[str, ...]] = {}
    todo, deeper, width = list(pairs), set(), range_max
    limit = min(range_max * DEEPEN_FACTOR, len(ctx.corpus.ids))
    while todo:
        qids = sorted({q for q, _ in todo})
        rankings = rank(qids, ranking_depth(width, ctx.exclude))
        windows = pair_windows(rankings, todo, ctx.exclude, width)
        got = choose(windows, width)
        for pair in todo:
            if pair not in chosen or len(got.get(pair, ())) >= len(chosen[pair]):
                chosen[pair] = got.get(pair, ())
        if width > range_max:
            deeper |= {p for p in todo if len(chosen[p]) >= k}
        if width >= limit:
            break
        todo = [p for p in todo if len(chosen[p]) < k]
        width = min(width * 2, limit)
    return finish(ctx, pairs, chosen, k, deeper)


def window_chooser(p: WindowParams, seed: int,
                   positive_scores: dict[Pair, float] | None = None) -> Chooser:
    """``select`` per pair, with ``range_max`` widened by the deeper search."""
    from dataclasses import replace

    def choose(windows: dict[Pair, Hits], width: int) -> dict[Pair, tuple[str, ...]]:
        wp = replace(p, range_max=width)
        # top sampling draws nothing: no per-pair generator to seed
        return {(q, pos): select(w, wp, pair_rng(seed, q, pos) if p.sampling == "random" else None,
                                 positive_scores.get((q, pos)) if positive_scores else None)
                for (q, pos), w in windows.items()}

    return choose


def mine_from_rankings(ctx: MiningContext, pairs: list[Pair], rank: Ranker, p: WindowParams,
                       positive_scores: dict[Pair, float] | None = None) -> list[NegativeRow]:
    """The window samplers (bm25, dense, semi-hard, margin, star): one full row per pair."""
    p.check()
    return mine_ranked(ctx, pairs, rank, window_chooser(p, ctx.seed, positive_scores),
                       p.num_negatives, p.range_max)
