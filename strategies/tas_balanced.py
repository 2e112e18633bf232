"""``tas-balanced``: topic-aware batches (one query cluster per batch) and negatives balanced
across the margin bins of a teacher (Hofstätter et al. 2021)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from negbench.harness.errors import NegbenchError
from negbench.harness.training.method import Recipe
from negbench.harness.training.pairs import TrainingPairs
from negbench.strategies.base import MiningContext, NegativeRow, Sampler, training_pairs
from negbench.strategies.dense_candidates import dense_candidates
from negbench.strategies.engine import (
    Pair,
    check_num_negatives,
    finish,
    pair_rng,
    pair_windows,
    ranking_depth,
)
from negbench.strategies.refreshing import ClusterPlan, query_texts
from negbench.strategies.registry import register
from negbench.strategies.teacher_params import TeacherParams, scored_queries

BM25_SCORE_DEPTH = 1000  # teacher=bm25: a doc outside the query's BM25 top 1000 scores 0


@dataclass
class TasBalancedParams(TeacherParams):
    """Candidates: the top ``range_max`` non-positives of ``candidates`` (``bm25``, as TAS-B,
    or ``dense``). Margin = teacher(positive) - teacher(candidate), ``teacher`` =
    ``cross-encoder`` (the harness teacher, or ``cross_encoder=PATH``) or ``bm25``; margins
    split into ``bins`` equal-width bins over each query's own range (``binning=query``,
    TAS-B) or over all margins (``binning=global``, negbench before 2026-12). ``clusters``: k
    of the query k-means (0 = training pairs // (2 x batch))."""

    candidates: str = "bm25"
    range_max: int = 30
    teacher: str = "cross-encoder"
    bins: int = 10
    binning: str = "query"
    clusters: int = 0
    num_negatives: int = 1

    def check(self) -> None:
        if self.candidates not in ("bm25", "dense"):
            raise NegbenchError(f"tas-balanced: candidates must be 'bm25' or 'dense', "
                                f"got {self.candidates!r}")
        if self.teacher not in ("cross-encoder", "bm25"):
            raise NegbenchError(f"tas-balanced: teacher must be 'cross-encoder' or 'bm25', "
                                f"got {self.teacher!r}")
        if self.binning not in ("query", "global"):
            raise NegbenchError(f"tas-balanced: binning must be 'query' or 'global', "
                                f"got {self.binning!r}")
        for name in ("range_max", "bins"):
            if getattr(self, name) < 1:
                raise NegbenchError(f"tas-balanced: {name} must be >= 1")
        if self.clusters < 0:
            raise NegbenchError("tas-balanced: clusters must be >= 0 (0 = automatic)")
        check_num_negatives(self.num_negatives)
        self.check_teacher("tas-balanced")


def margin_bins(margins: list[float], bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Equal-width bin index of each margin over the range of ``margins``, and the bin edges
    (TAS-B applies it to each query's own margins: ``query_margin_bins``)."""
    m = np.asarray(margins, dtype=np.float64)
    lo, hi = (float(m.min()), float(m.max())) if len(m) else (0.0, 1.0)
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
    return np.clip(np.searchsorted(edges, m, side="right") - 1, 0, bins - 1), edges


def query_margin_bins(queries: list[str], margins: list[float], bins: int) -> np.ndarray:
    """TAS-B's bins: each margin's equal-width bin over the min-max range of its own
    query's margins (``queries[i]`` is margin i's query), so every query spreads over the
    bins whatever the global range."""
    out = np.zeros(len(margins), dtype=np.int64)
    by: dict[str, list[int]] = {}
    for i, q in enumerate(queries):
        by.setdefault(q, []).append(i)
    for idx in by.values():
        out[idx] = margin_bins([margins[i] for i in idx], bins)[0]
    return out


def balanced_choice(cands: list[str], cand_bins: list[int], k: int,
                    rng: np.random.Generator) -> tuple[str, ...]:
    """``k`` candidates: each from a bin drawn uniformly among the pair's non-empty bins, then
    uniformly within it (so chosen margins spread over the bins instead of following the
    candidates' margin distribution)."""
    by: dict[int, list[str]] = {}
    for d, b in zip(cands, cand_bins):
        by.setdefault(int(b), []).append(d)
    out: list[str] = []
    while len(out) < k and by:
        b = sorted(by)[int(rng.integers(len(by)))]
        members = by[b]
        out.append(members.pop(int(rng.integers(len(members)))))
        if not members:
            del by[b]
    return tuple(out)


@register("tas-balanced")
class TasBalanced(Sampler):
    """TAS-Balanced (Hofstätter et al. 2021): each batch drawn from one topic cluster of
    training queries, negatives balanced across the margin bins of a teacher.

    Batches: faiss k-means over the base model's training-query vectors; a batch takes its
    rows from one cluster (``ClusterBatches``: clusters in random order, rows in random order,
    duplicate-free, so a batch straddles two clusters only where one runs out). Negatives:
    each pair's candidates (top ``range_max`` of BM25 by default) get a margin
    teacher(positive) - teacher(candidate); each query's margins are split into ``bins``
    equal-width bins over that query's min-max range (TAS-B), and each pair draws a bin
    uniformly among its non-empty bins, then a candidate in it, so each query's pairs cover
    its margin range evenly. As published (``--mode recipe``) the loss is ``margin-mse``: the
    student's margins regressed on the teacher's.
    """

    Params = TasBalancedParams
    provides = frozenset({"teacher"})
    recipe = Recipe(loss="margin-mse",
                    schedule="batches from one topic cluster of queries; static negatives "
                             "balanced over each query's teacher-margin bins; the student's "
                             "margins regressed on the teacher's (Margin-MSE)",
                    control=("bm25", {"range_max": 30}))
    paper = ("Hofstätter et al. 2021, Efficiently Teaching an Effective Dense Retriever with "
             "Balanced Topic Aware Sampling (TAS-B), SIGIR")
    simplified = ("teacher = the harness cross-encoder trained here from the base model (BM25 "
                  "with teacher=bm25), not the paper's BERT_CAT + ColBERT ensemble, and weaker "
                  "than the student on the CPU budget (SciFact: a third of the balanced "
                  "negatives ordered above their positive), so Margin-MSE pulls the student "
                  "down (docs/results/scifact-recipe.md); no in-batch "
                  "distillation (it needs teacher scores of every batch document); on the "
                  "query-side track only the query tower learns (TAS-B trains both)")

    def _teacher_scores(self, ctx: MiningContext, wanted: list[Pair]) -> dict[Pair, float]:
        """The teacher's score of each of ``wanted`` (BM25's: all; the cross-encoder's under a
        smoke budget's teacher cap: the capped queries' pairs only)."""
        p = self.params
        if p.teacher == "bm25":
            qids = sorted({q for q, _ in wanted})
            hits = ctx.bm25().search({q: ctx.train.queries[q] for q in qids}, BM25_SCORE_DEPTH)
            scores = {q: dict(h) for q, h in hits.items()}
            ctx.extra["teacher"] = f"BM25 scores (0 outside the top {BM25_SCORE_DEPTH})"
            return {(q, d): scores.get(q, {}).get(d, 0.0) for q, d in wanted}
        keep = scored_queries(ctx)
        scorer = p.teacher_scorer(ctx, sum(keep is None or q in keep for q, _ in wanted),
                                  "tas-balanced")
        return p.teacher_scores(ctx, scorer, wanted)

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        p = self.params
        p.check()
        pairs = training_pairs(ctx.train)
        # the window: range_max, or a smoke budget's for the cross-encoder (BM25 costs nothing)
        width = p.candidate_window(ctx, p.range_max) if p.teacher != "bm25" else p.range_max
        if p.candidates == "dense":
            rankings = dense_candidates(ctx, width).rankings
        else:
            qids = sorted({q for q, _ in pairs})
            rankings = ctx.bm25().search({q: ctx.train.queries[q] for q in qids},
                                         ranking_depth(width, ctx.exclude))
        windows = pair_windows(rankings, pairs, ctx.exclude, width, ids=True)
        wanted = sorted({(q, d) for (q, pos), w in windows.items() for d in [pos, *w]})
        score = self._teacher_scores(ctx, wanted)
        flat = [((q, pos), d, score[(q, pos)] - score[(q, d)])
                for (q, pos), w in windows.items() if (q, pos) in score for d in w]
        margins = [m for _, _, m in flat]
        bins = (query_margin_bins([pair[0] for pair, _, _ in flat], margins, p.bins)
                if p.binning == "query" else margin_bins(margins, p.bins)[0])
        per_pair: dict[Pair, tuple[list[str], list[int]]] = {}
        for (pair, d, _), b in zip(flat, bins):
            ds, bs = per_pair.setdefault(pair, ([], []))
            ds.append(d)
            bs.append(int(b))
        for pair, w in windows.items():  # not scored (a smoke budget's cap): one bin, uniform
            if pair not in score and w:
                per_pair[pair] = (list(w), [0] * len(w))
        chosen = {pair: balanced_choice(ds, bs, p.num_negatives,
                                        pair_rng(ctx.seed, pair[0], "tas|" + pair[1]))
                  for pair, (ds, bs) in per_pair.items()}
        ctx.extra["margin_bins"] = p.bins
        # the teacher's strength: the share of (positive, candidate) pairs it orders right;
        # held out for the harness teacher (cross-fitted: no fold scores a query it trained on)
        ctx.extra["teacher_heldout_pair_accuracy"] = (
            round(float(np.mean([m > 0 for m in margins])), 4) if margins else None)
        return finish(ctx, pairs, chosen, p.num_negatives)

    def training_plan(self, ctx: MiningContext, budget, track: str) -> ClusterPlan:
        _, texts = query_texts(ctx)
        k = self.params.clusters or max(
            2, round(len(training_pairs(ctx.train)) / (2 * budget.batch_size)))
        vectors = ctx.dense().encode(texts, "query", ctx.max_length)
        return TasPlan(ctx, vectors, k, self)


class TasPlan(ClusterPlan):
    """Topic-clustered batches, and the teacher's scores of each row's positive and
    negatives for Margin-MSE (scored once, before the first step)."""

    def __init__(self, ctx: MiningContext, vectors: np.ndarray, k: int,
                 sampler: TasBalanced) -> None:
        super().__init__(ctx, vectors, k, "topic clusters of the base model's queries")
        self.ctx, self.sampler = ctx, sampler

    def teacher_scores(self, pairs: TrainingPairs) -> np.ndarray:
        rows = range(len(pairs))
        wanted = sorted({(pairs.query_ids[r], c[r]) for r in rows for c in pairs.doc_ids
                         if c[r] is not None})
        score = self.sampler._teacher_scores(self.ctx, wanted)
        out = np.asarray([[score.get((pairs.query_ids[r], c[r]), 0.0) for c in pairs.doc_ids]
                          for r in rows], dtype=np.float64)
        if self.sampler.params.teacher != "bm25":  # the cross-encoder's sigmoid -> its logit:
            p = np.clip(out, 1e-6, 1 - 1e-6)  # margins of logits add, those of probabilities
            out = np.log(p / (1 - p))  # saturate
        return out.astype(np.float32)
