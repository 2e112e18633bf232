"""``ar2``: an adversarial retriever-ranker pair (Zhang et al. 2022) that learn together: the
retriever is pulled towards the ranker's distribution over its own top-k, the ranker learns to
pick the positive among the retriever's samples."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import numpy as np

from negbench.harness.errors import NegbenchError
from negbench.harness.training.dynamic import ModelView, TrainingPlan
from negbench.harness.training.method import Recipe
from negbench.strategies.base import MiningContext, NegativeRow, Sampler, training_pairs
from negbench.strategies.dense_candidates import dense_candidates, dense_window_rows
from negbench.strategies.engine import Pair, check_num_negatives, pair_windows
from negbench.strategies.refreshing import check_refresh_every, weighted_draw
from negbench.strategies.registry import register
from negbench.strategies.teacher_params import scored_queries

LOG = logging.getLogger(__name__)


@dataclass
class Ar2Params:
    """Retriever: its top ``range_max`` non-positives per query (the base model's at step 0,
    the current query tower's at every refresh), the candidates of the KL loss. Ranker: a
    cross-encoder from ``ce_base``, trained ``ranker_warmup`` steps before the first retriever
    step and ``ranker_steps`` steps at every refresh (``ranker_batch`` queries x (positive +
    ``ranker_negatives`` sampled from the retriever's list), cross-entropy on the positive),
    ``ranker_lr``, length ``ranker_max_length`` (query + document tokens; 128 as in the
    paper's co-training scripts, microsoft/AR2 ``wiki/README.md``); ``heldout`` of the
    training queries never train it and measure its accuracy; ``temperature`` of the ranker's
    distribution."""

    range_max: int = 15
    refresh_every: int = 20
    num_negatives: int = 1
    ce_base: str = "all-MiniLM-L6-v2"
    ranker_warmup: int = 40
    ranker_steps: int = 10
    ranker_batch: int = 8
    ranker_negatives: int = 7
    ranker_lr: float = 2e-5
    ranker_max_length: int = 128
    heldout: float = 0.2
    temperature: float = 1.0

    def check(self) -> None:
        if min(self.range_max, self.ranker_batch, self.ranker_negatives,
               self.ranker_max_length) < 1:
            raise NegbenchError("ar2: range_max, ranker_batch, ranker_negatives and "
                                "ranker_max_length must be >= 1")
        if self.ranker_warmup < 0 or self.ranker_steps < 0:
            raise NegbenchError("ar2: ranker_warmup and ranker_steps must be >= 0")
        if not 0 < self.heldout < 1 or self.temperature <= 0 or self.ranker_lr <= 0:
            raise NegbenchError("ar2: need 0 < heldout < 1, temperature > 0, ranker_lr > 0")
        check_refresh_every("ar2", self.refresh_every)
        check_num_negatives(self.num_negatives)


def heldout_queries(qids: list[str], seed: int, share: float) -> set[str]:
    """The ``share`` of the sorted training query ids ``qids`` that never train a run's ranker
    and measure its accuracy (a draw fixed by the run's seed)."""
    rng = np.random.default_rng([seed, 0xA22])
    return set(rng.choice(qids, size=max(1, round(share * len(qids))), replace=False).tolist())


class Ranker:
    """The cross-encoder AR2 trains beside the retriever (a small torch loop over the
    sentence-transformers CrossEncoder's model: groups of (positive + negatives), softmax
    cross-entropy on the positive)."""

    def __init__(self, base: str, max_length: int, lr: float, seed: int,
                 device: str = "cpu", progress: bool = False) -> None:
        import torch
        from sentence_transformers.cross_encoder import CrossEncoder

        from negbench.harness.retrieval.models import resolve_model
        from negbench.harness.retrieval.progress import expected_warnings

        torch.manual_seed(seed)
        with expected_warnings("sentence_transformers", "transformers"):  # a new head
            self.ce = CrossEncoder(str(resolve_model(base)), num_labels=1,
                                   max_length=max_length, device=device, local_files_only=True)
        self.max_length, self.device, self.progress = max_length, device, progress
        self.opt = torch.optim.AdamW(self.ce.model.parameters(), lr=lr, weight_decay=0.0)
        self.steps = 0

    def _logits(self, queries: list[str], docs: list[str]):
        feats = self.ce.tokenizer(queries, docs, padding=True, truncation="longest_first",
                                  max_length=self.max_length, return_tensors="pt").to(
            self.device)
        return self.ce.model(**feats).logits.view(-1)

    def train_step(self, groups: list[tuple[str, list[str]]]) -> float:
        """One step on ``groups`` of (query, [positive, negatives...]) of equal size."""
        import torch

        self.ce.model.train()
        q = [g[0] for g in groups for _ in g[1]]
        d = [t for g in groups for t in g[1]]
        logits = self._logits(q, d).view(len(groups), -1).float()
        loss = torch.nn.functional.cross_entropy(
            logits, torch.zeros(len(groups), dtype=torch.long, device=logits.device))
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.ce.model.parameters(), 1.0)
        self.opt.step()
        self.steps += 1
        return float(loss.detach())

    def score(self, queries: list[str], docs: list[str], batch: int = 64) -> np.ndarray:
        import torch
        from tqdm.auto import tqdm

        self.ce.model.eval()
        out = []
        with torch.no_grad():
            for i in tqdm(range(0, len(queries), batch), desc="ar2 ranker: score",
                          unit="batch", disable=not self.progress or not queries):
                out.append(self._logits(queries[i:i + batch], docs[i:i + batch]).float().cpu())
        return torch.cat(out).numpy() if out else np.zeros(0, dtype=np.float32)

    def fingerprint(self) -> str:
        import hashlib

        h = hashlib.sha256()
        for t in self.ce.model.state_dict().values():
            h.update(t.detach().cpu().numpy().tobytes())
        return h.hexdigest()[:16]


class Ar2Plan(TrainingPlan):
    """The retriever's top-k per training query, the ranker's scores over it (positive first)
    for the KL loss, and the ranker's own training, at step 0 (warm-up) and every refresh.
    Under a loss that takes no candidates (controlled mode) each refresh instead re-draws
    every pair's negatives from the ranker's softmax over the retriever's top-k."""

    def __init__(self, ctx: MiningContext, params: Ar2Params) -> None:
        super().__init__(params.refresh_every)
        cap = ctx.teacher_cap
        if cap is not None:  # a smoke budget: a smoke-sized ranker over a few queries' lists
            params = dataclasses.replace(
                params, range_max=min(params.range_max, cap.window),
                ranker_warmup=min(params.ranker_warmup, cap.steps),
                ranker_steps=min(params.ranker_steps, cap.steps),
                ranker_max_length=min(params.ranker_max_length, cap.max_length))
        self.ctx, self.params = ctx, params
        self.pairs = training_pairs(ctx.train)
        self.scored = scored_queries(ctx)  # whose lists the ranker scores (None: all)
        listed = sum(self.scored is None or q in self.scored for q, _ in self.pairs)
        LOG.info("ar2: ranker: cross-encoder %s at length %d; %d warm-up steps, then %d at "
                 "each refresh, x %d groups of %d docs; about %s (query, doc) pairs to score "
                 "per round", params.ce_base, params.ranker_max_length, params.ranker_warmup,
                 params.ranker_steps, params.ranker_batch, params.ranker_negatives + 1,
                 f"{listed * (params.range_max + 1):,}")
        qids = sorted({q for q, _ in self.pairs})
        held = heldout_queries(qids, ctx.seed, params.heldout)
        self.train_pairs = [p for p in self.pairs if p[0] not in held]
        self.heldout_pairs = [p for p in self.pairs if p[0] in held]
        self.rng = np.random.default_rng([ctx.seed, 0xA23])
        self.ranker = Ranker(params.ce_base, params.ranker_max_length, params.ranker_lr,
                             ctx.seed, ctx.device, ctx.progress)
        self.resample = False
        self.rounds: list[dict] = []
        cand = dense_candidates(ctx, params.range_max)
        self._round(cand.rankings, step=0, train_steps=params.ranker_warmup)

    def _round(self, rankings, step: int, train_steps: int) -> None:
        from tqdm.auto import tqdm

        p = self.params
        self.windows = pair_windows(rankings, self.pairs, self.ctx.exclude, p.range_max,
                                    ids=True)
        before = self.ranker.fingerprint()
        losses = []
        usable = [pair for pair in self.train_pairs if self.windows.get(pair)]
        for _ in tqdm(range(train_steps), desc="ar2 ranker: train", unit="step",
                      disable=not self.ctx.progress or not train_steps):
            picks = self.rng.choice(len(usable), size=min(p.ranker_batch, len(usable)),
                                    replace=False)
            groups = []
            for i in picks:
                q, pos = usable[int(i)]
                window = self.windows[(q, pos)]
                k = min(p.ranker_negatives, len(window))
                negs = [window[int(j)] for j in self.rng.choice(len(window), k, replace=False)]
                negs += [negs[-1]] * (p.ranker_negatives - k)  # equal group sizes
                groups.append((self.ctx.train.queries[q],
                               [self.ctx.corpus.docs[d].text for d in [pos, *negs]]))
            losses.append(self.ranker.train_step(groups))
        # the ranker's distribution over each pair's list (positive first)
        self.lists: dict[Pair, list[str]] = {}
        unique: dict[tuple[str, str], int] = {}  # a query's pairs share its list: scored once
        for pair in self.pairs:
            if self.scored is not None and pair[0] not in self.scored:
                continue  # a smoke budget's cap: a row without a list (its positive only)
            ids = [pair[1], *self.windows.get(pair, [])]
            self.lists[pair] = ids
            for d in ids:
                unique.setdefault((pair[0], d), len(unique))
        flat = self.ranker.score([self.ctx.train.queries[q] for q, _ in unique],
                                 [self.ctx.corpus.docs[d].text for _, d in unique])
        self.scores = {pair: flat[[unique[(pair[0], d)] for d in ids]]
                       for pair, ids in self.lists.items()}
        held = [self.scores[pair] for pair in self.heldout_pairs
                if len(self.lists.get(pair, ())) > 1]
        acc = float(np.mean([s[0] > s[1:].max() for s in held])) if held else None
        after = self.ranker.fingerprint()
        self.rounds.append({"step": step, "ranker_steps": train_steps,
                            "ranker_loss": round(float(np.mean(losses)), 4) if losses else None,
                            "ranker_heldout_accuracy": None if acc is None else round(acc, 4),
                            "ranker_changed": after != before, "ranker_fingerprint": after,
                            "candidates": p.range_max})

    def use_loss(self, loss) -> None:
        self.resample = "candidates" not in loss.consumes

    def candidate_lists(self, pairs, rows: list[int]):
        """Each row's list (its positive first, then the retriever's top-k at the last round)
        and the ranker's scores over it, padded to one length with the last candidate."""
        lists = [self.lists.get((pairs.query_ids[r], pairs.doc_ids[0][r]),
                                [pairs.doc_ids[0][r]]) for r in rows]
        width = max(map(len, lists))
        ids, scores = [], np.zeros((len(rows), width), dtype=np.float32)
        for i, (r, docs) in enumerate(zip(rows, lists)):
            s = self.scores.get((pairs.query_ids[r], pairs.doc_ids[0][r]), np.zeros(1))
            pad = width - len(docs)
            ids.append(docs + [docs[-1]] * pad)
            scores[i] = np.r_[s, [s[-1]] * pad] / self.params.temperature
        return ids, scores

    def refresh(self, view: ModelView, step: int, total: int):
        qids = sorted({q for q, _ in self.pairs})
        depth = self.params.range_max + max(len(self.ctx.exclude.get(q, ())) for q in qids)
        rankings = view.search({q: self.ctx.train.queries[q] for q in qids}, depth)
        self._round(rankings, step, self.params.ranker_steps)
        if not self.resample:
            return None
        out = {}
        for pair, ids in self.lists.items():
            z = self.scores[pair][1:] / self.params.temperature
            negs = weighted_draw(self.ctx.seed, pair, f"ar2|{step}", ids[1:],
                                 np.exp(z - z.max()) if len(z) else z,
                                 self.params.num_negatives)
            if negs is not None:
                out[pair] = negs
        return out

    def details(self) -> dict:
        return {"ar2_rounds": self.rounds}


@register("ar2")
class Ar2Negatives(Sampler):
    """AR2 (Zhang et al. 2022): a retriever and a cross-encoder ranker trained in turns. At
    step 0 and every ``refresh_every`` steps the retriever (the model being trained) retrieves
    its top ``range_max`` per training query and the ranker trains on them (cross-entropy:
    the positive among ``ranker_negatives`` of the retriever's samples) and scores them;
    between refreshes every retriever step minimises the KL divergence from the ranker's
    distribution over each query's list (positive + top-k) to the retriever's (``ar2-kl``).
    The ranker starts from the base model's weights (no other cross-encoder ships here) and is
    warmed up on the base model's lists; its held-out accuracy (the positive ranked first, on
    ``heldout`` of the training queries it never trains on) is recorded per round. Under a
    shared loss (``--mode controlled``) the ranker instead chooses each pair's negatives from
    its softmax over the retriever's top-k at each refresh. ``ar2-lite`` is the ablation with
    a frozen ranker and no KL term.
    """

    Params = Ar2Params
    tracks = ("query-side",)
    provides = frozenset({"candidates", "ranker"})
    recipe = Recipe(loss="ar2-kl",
                    schedule="retriever steps on KL(ranker || retriever) over each query's "
                             "positive + current top-15; every refresh_every steps the top-15 "
                             "re-retrieved and the cross-encoder ranker trained on them "
                             "(cross-entropy) and re-scores them",
                    control=("dense", {"range_max": 15}))
    paper = ("Zhang et al. 2022, Adversarial Retriever-Ranker for Dense Text Retrieval (AR2), "
             "ICLR; code microsoft/SimXNS")
    simplified = ("query-side track only (the document index stays the base model's); the "
                  "ranker starts from the base bi-encoder's weights with a new head and is "
                  "warmed up ranker_warmup steps here (the reference scripts: a cross-encoder "
                  "trained 4,000 steps before co-training), so it can rank worse than the "
                  "retriever it teaches; retriever and ranker alternate every refresh_every "
                  "steps instead of per epoch of the paper; the retriever's loss is the KL "
                  "term only (the reference co-training script adds an adversarial reward "
                  "term, adv_lambda 0.5); no ranker regularisation term")

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        self.params.check()
        return dense_window_rows(ctx, self.params.range_max, self.params.num_negatives)

    def training_plan(self, ctx: MiningContext, budget, track: str) -> Ar2Plan:
        return Ar2Plan(ctx, self.params)
