"""``cet``: pooling-bias correction (Cai et al. 2022): a selection model (why a document was
judged) learnt jointly with the relevance model, weighting the retriever's negatives."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from negbench.harness.errors import NegbenchError
from negbench.harness.training.dynamic import ModelView, TrainingPlan
from negbench.harness.training.method import Recipe
from negbench.strategies.base import MiningContext, NegativeRow, Sampler
from negbench.strategies.dense_candidates import dense_candidates, dense_window_rows
from negbench.strategies.engine import Pair, check_num_negatives, pair_windows
from negbench.strategies.refreshing import check_refresh_every, weighted_draw
from negbench.strategies.registry import register


@dataclass
class CetParams:
    """Negatives: ``dense``'s (uniform from the base model's top ``range_max``). Weights: from
    a selection model over the pooling retriever's features (BM25 rank and score in its top
    ``pool_depth``) fit jointly with a relevance model over the current retriever's cosine,
    by ``em_iterations`` of EM, at step 0 and every ``refresh_every`` steps."""

    range_max: int = 30
    num_negatives: int = 1
    refresh_every: int = 20
    pool_depth: int = 100
    em_iterations: int = 20

    def check(self) -> None:
        if self.range_max < 1 or self.pool_depth < 1 or self.em_iterations < 1:
            raise NegbenchError("cet: range_max, pool_depth and em_iterations must be >= 1")
        check_refresh_every("cet", self.refresh_every)
        check_num_negatives(self.num_negatives)


def _logistic(features: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Logistic regression on soft targets in [0, 1] (each row twice: label 1 with weight
    ``t``, label 0 with ``1 - t``); returns ``[intercept, coefs...]``."""
    from sklearn.linear_model import LogisticRegression

    n = len(targets)
    x = np.vstack([features, features])
    y = np.r_[np.ones(n), np.zeros(n)]
    w = np.r_[targets, 1.0 - targets]
    keep = w > 1e-9
    if len(set(y[keep])) < 2:  # one class only: a constant model
        p = float(np.clip(np.mean(targets), 1e-6, 1 - 1e-6))
        return np.r_[np.log(p / (1 - p)), np.zeros(features.shape[1])]
    model = LogisticRegression(C=1e4, max_iter=1000).fit(x[keep], y[keep], sample_weight=w[keep])
    return np.r_[model.intercept_, model.coef_[0]]


def _predict(coef: np.ndarray, features: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(coef[0] + features @ coef[1:])))


def cet_weight(selection: np.ndarray, relevance: np.ndarray, judged: np.ndarray) -> np.ndarray:
    """The weight of a candidate as a negative: the probability that it is not relevant given
    that it was not observed as a positive. A judged document was selected (``s`` = 1), so a
    judged non-relevant one weighs 1; an unjudged one weighs ``(1 - r) / (1 - s r)``."""
    s, r = np.asarray(selection, float), np.asarray(relevance, float)
    w = (1.0 - r) / np.clip(1.0 - s * r, 1e-12, None)
    return np.where(np.asarray(judged, bool), 1.0, np.clip(w, 0.0, 1.0))


@dataclass
class PoolItems:
    """Every (query, document) the models see: each training query's judged positives
    (observed, ``o`` = 1) and its window candidates (``o`` = 0), with the pooling features."""

    queries: list[str]
    docs: list[str]
    observed: np.ndarray  # o: judged relevant
    judged: np.ndarray  # in the query's qrels (any label)
    selection_features: np.ndarray  # (n, 2): log BM25 rank, BM25 score / query's top score


def pool_items(ctx: MiningContext, windows: dict[Pair, list[str]], pool_depth: int
               ) -> PoolItems:
    by_query: dict[str, set[str]] = {}
    for (q, _), w in windows.items():
        by_query.setdefault(q, set()).update(w)
    qids = sorted(by_query)
    hits = ctx.bm25().search({q: ctx.train.queries[q] for q in qids}, pool_depth)
    queries, docs, observed, judged, feats = [], [], [], [], []
    for q in qids:
        rank = {d: i + 1 for i, (d, _) in enumerate(hits.get(q, []))}
        score = dict(hits.get(q, []))
        top = max(score.values(), default=1.0) or 1.0
        qrels = ctx.train.qrels.get(q, {})
        cands = sorted(by_query[q])
        positives = sorted(d for d, r in qrels.items() if r > 0)
        for d, o in [(d, 1) for d in positives] + [(d, 0) for d in cands if d not in positives]:
            queries.append(q)
            docs.append(d)
            observed.append(o)
            judged.append(d in qrels)
            feats.append([np.log(rank.get(d, pool_depth + 1)), score.get(d, 0.0) / top])
    return PoolItems(queries, docs, np.asarray(observed, float), np.asarray(judged, bool),
                     np.asarray(feats, float))


def fit_cet(items: PoolItems, cosine: np.ndarray, iterations: int,
            start: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
    """EM for ``P(o = 1) = s(x_sel) r(x_rel)``: the selection model over the pooling features,
    the relevance model over the retriever's cosine. E-step: for an unobserved item,
    ``P(s | o = 0) = s (1 - r) / (1 - s r)`` and ``P(r | o = 0) = (1 - s) r / (1 - s r)``
    (a judged one has ``s`` = 1); M-step: two logistic regressions on those soft targets.
    Returns both models, the log-likelihood and the negative weights of every item."""
    xs, xr = items.selection_features, cosine[:, None]
    o, judged = items.observed, items.judged
    if start is None:
        sel = _logistic(xs, np.where(o > 0, 1.0, 0.5))
        rel = _logistic(xr, np.where(o > 0, 1.0, 0.5 * (1 - judged)))
    else:
        sel, rel = start
    for _ in range(iterations):
        s, r = _predict(sel, xs), _predict(rel, xr)
        denom = np.clip(1.0 - s * r, 1e-12, None)
        ts = np.where(o > 0, 1.0, np.where(judged, 1.0, s * (1 - r) / denom))
        tr = np.where(o > 0, 1.0, np.where(judged, 0.0, (1 - s) * r / denom))
        sel, rel = _logistic(xs, ts), _logistic(xr, tr)
    s, r = _predict(sel, xs), _predict(rel, xr)
    p = np.clip(s * r, 1e-12, 1 - 1e-12)
    loglik = float(np.mean(o * np.log(p) + (1 - o) * np.log(1 - p)))
    return {"selection": sel, "relevance": rel, "loglik": loglik,
            "weights": cet_weight(s, r, judged), "s": s, "r": r}


def _summary(weights: np.ndarray) -> dict:
    if not len(weights):
        return {}
    q = np.quantile(weights, [0.1, 0.5, 0.9])
    return {"mean": round(float(weights.mean()), 4), "min": round(float(weights.min()), 4),
            "p10": round(float(q[0]), 4), "p50": round(float(q[1]), 4),
            "p90": round(float(q[2]), 4),
            "share_below_0.5": round(float(np.mean(weights < 0.5)), 4)}


class CetPlan(TrainingPlan):
    """The selection and relevance models, refit at step 0 and at every refresh with the
    cosines of the model being trained; each negative's weight for the loss. Under a loss that
    takes no weights (controlled mode) each refresh re-draws every pair's negatives from its
    window with probability proportional to their weights instead."""

    def __init__(self, ctx: MiningContext, params: CetParams) -> None:
        super().__init__(params.refresh_every)
        self.ctx, self.params = ctx, params
        cand = dense_candidates(ctx, params.range_max)
        self.windows = pair_windows(cand.rankings, cand.pairs, ctx.exclude, params.range_max,
                                    ids=True)
        self.items = pool_items(ctx, self.windows, params.pool_depth)
        self.qids = sorted(set(self.items.queries))
        q_emb = cand.ranker.embed([ctx.train.queries[q] for q in self.qids])
        self.resample = False
        self.rounds: list[dict] = []
        self._fit(q_emb, cand.ranker.doc_emb, step=0)

    def _cosine(self, q_emb: np.ndarray, d_emb: np.ndarray) -> np.ndarray:
        qrow = {q: i for i, q in enumerate(self.qids)}
        drow = {d: i for i, d in enumerate(self.ctx.corpus.ids)}
        qi = np.fromiter((qrow[q] for q in self.items.queries), dtype=np.int64)
        di = np.fromiter((drow[d] for d in self.items.docs), dtype=np.int64)
        qn = q_emb / np.linalg.norm(q_emb, axis=1, keepdims=True).clip(1e-12)
        dn = d_emb / np.linalg.norm(d_emb, axis=1, keepdims=True).clip(1e-12)
        return np.einsum("ij,ij->i", qn[qi], dn[di])

    def _fit(self, q_emb: np.ndarray, d_emb: np.ndarray, step: int) -> None:
        start = (self.fit["selection"], self.fit["relevance"]) if self.rounds else None
        self.fit = fit_cet(self.items, self._cosine(q_emb, d_emb), self.params.em_iterations,
                           start)
        unobserved = self.items.observed == 0
        self.weight = {(q, d): float(w) for q, d, w, u in zip(
            self.items.queries, self.items.docs, self.fit["weights"], unobserved) if u}
        self.rounds.append({
            "step": step, "selection_coef": [round(float(c), 4) for c in self.fit["selection"]],
            "relevance_coef": [round(float(c), 4) for c in self.fit["relevance"]],
            "loglik": round(self.fit["loglik"], 5),
            "weights": _summary(self.fit["weights"][unobserved])})

    def use_loss(self, loss) -> None:
        self.resample = "weights" not in loss.consumes

    def negative_weights(self, pairs, rows: list[int]) -> np.ndarray:
        return np.asarray([[self.weight.get((pairs.query_ids[r], c[r]), 1.0)
                            for c in pairs.doc_ids[1:]] for r in rows], dtype=np.float32)

    def refresh(self, view: ModelView, step: int, total: int):
        q_emb = view.encode_queries([self.ctx.train.queries[q] for q in self.qids])
        self._fit(q_emb, view.doc_vectors, step)
        if not self.resample:
            return None
        drawn = {pair: weighted_draw(self.ctx.seed, pair, f"cet|{step}", window,
                                     [self.weight.get((pair[0], d), 1.0) for d in window],
                                     self.params.num_negatives)
                 for pair, window in self.windows.items()}
        return {pair: negs for pair, negs in drawn.items() if negs is not None}

    def details(self) -> dict:
        return {"cet_rounds": self.rounds,
                "cet_selection_features": ["log BM25 rank", "BM25 score / top score"],
                "cet_relevance_features": ["cosine of the current model"]}


@register("cet")
class CetNegatives(Sampler):
    """CET (Cai et al. 2022): corrects the pooling bias of the qrels. A judged label is seen
    only when a document was selected for judging *and* is relevant, so an unjudged
    top-ranked document is not surely a negative. A selection model (the pooling retriever's
    features: BM25 rank and score) and a relevance model (the retriever's cosine) are fit
    jointly by EM on ``P(judged relevant) = P(selected) P(relevant)`` at step 0 and at every
    refresh; each negative then weighs ``P(not relevant | not observed) = (1 - r) / (1 - s
    r)`` (1 for a judged non-relevant document). As published (``--mode recipe``) the loss is
    ``weighted-mnrl``; under a shared loss the weights decide which window documents become
    the negatives (drawn proportionally to them at each refresh).
    """

    Params = CetParams
    provides = frozenset({"weights"})
    recipe = Recipe(loss="weighted-mnrl",
                    schedule="dense top-30 negatives weighted by P(not relevant | unjudged) "
                             "from a selection model (BM25 rank/score) and a relevance model "
                             "(current cosine) fit by EM at step 0 and every refresh_every "
                             "steps",
                    control=("dense", {"range_max": 30}))
    paper = ("Cai et al. 2022, Hard Negatives or False Negatives: Correcting Pooling Bias in "
             "Training Neural Ranking Models (CET), CIKM")
    simplified = ("BEIR suites do not publish their pools: BM25's top pool_depth stands in for "
                  "the pooling retriever; both models are logistic regressions (selection on "
                  "BM25 rank and score, relevance on the retriever's cosine) fit by EM, not "
                  "neural; one negative per pair")

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        self.params.check()
        return dense_window_rows(ctx, self.params.range_max, self.params.num_negatives)

    def training_plan(self, ctx: MiningContext, budget, track: str) -> CetPlan:
        return CetPlan(ctx, self.params)
