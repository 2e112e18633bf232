"""The refresh hook and batch composition that dynamic samplers plug into, on both tracks.

A ``TrainingPlan`` is what a sampler hands the training loop besides its mined negatives:
``batches`` (which rows share a batch; default duplicate-free random batches) and, every
``refresh_every`` steps, ``refresh(view, step, total)``, which may return new negatives per
(query, positive) pair mined with the model being trained. ``ModelView`` is that model as a
retriever: on the ``query-side`` track it re-encodes only the training queries with the
current query tower and searches the fixed, cached document vectors; on the ``full`` track it
re-encodes the corpus too. ``run_refresh`` times a refresh, applies the new negatives to the
training pairs in place and counts refreshes, re-encoded texts and seconds in ``TrainStats``;
both loops call it, so there is one training loop per track, not one per sampler.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np

from negbench.harness.data.collection import Corpus
from negbench.harness.errors import NegbenchError
from negbench.harness.io.trec_files import Hits
from negbench.harness.retrieval.dense_search import search_run
from negbench.harness.training.batching import duplicate_free_batches, shared_negatives
from negbench.harness.training.pairs import TrainingPairs

Pair = tuple[str, str]


@dataclass
class TrainStats:
    """What a run's training did, for the record: optimizer steps and training pairs seen
    (identical across samplers under one budget), and the cost of refreshes."""

    optimizer_steps: int = 0
    pairs_seen: int = 0
    refreshes: int = 0
    refresh_reencoded_queries: int = 0
    refresh_reencoded_docs: int = 0
    refresh_s: float = 0.0
    refresh_ranker_pairs: int = 0  # (query, doc) pairs a ranker scored at refreshes
    refresh_changed_rows: int = 0  # training pairs whose negatives a refresh changed (summed)
    step_retrievals: int = 0  # per-step retrievals for the batch's queries (ADORE)


class TrainingPlan:
    """Static negatives and duplicate-free random batches: what every sampler gets unless it
    overrides ``batches`` (composition) or sets ``refresh_every`` and ``refresh``."""

    batching = "duplicate-free random"
    # > 0: at every step, the batch's queries retrieve their top ``retrieve_depth`` with the
    # current query tower (ADORE; query-side track: one product with the fixed vectors)
    retrieve_depth = 0
    retrieve_from = 0  # the first step (0-based) that retrieves

    def __init__(self, refresh_every: int = 0, first_refresh: int | None = None) -> None:
        if refresh_every < 0:
            raise NegbenchError(f"refresh_every must be >= 0, got {refresh_every}")
        self.refresh_every = refresh_every
        self.first_refresh = first_refresh  # step of the first refresh (default refresh_every)
        self.stats = TrainStats()

    @property
    def composes(self) -> bool:
        """Whether batches differ from the default duplicate-free random ones."""
        return type(self).batches is not TrainingPlan.batches

    @property
    def dynamic(self) -> bool:
        return self.composes or self.refresh_every > 0 or self.retrieve_depth > 0

    def teacher_scores(self, pairs: TrainingPairs) -> np.ndarray | None:
        """Teacher scores of each row's positive and negatives, ``(rows, 1 + negatives)``
        float32, for a loss that distils them (Margin-MSE); None: the plan has no teacher."""
        return None

    def use_loss(self, loss) -> None:
        """Told the run's loss before the first step (a plan may act differently when the
        loss does not consume what it provides, e.g. CET re-draws negatives by weight)."""

    def negative_weights(self, pairs: TrainingPairs, rows: list[int]) -> np.ndarray | None:
        """Weights in [0, 1] of the given rows' current negatives, ``(len(rows), negatives)``
        float32, for a loss that consumes ``weights`` (CET); None: the plan has none."""
        return None

    def details(self) -> dict:
        """Plan-specific facts for the record's ``training`` block (e.g. per-round fits)."""
        return {}

    def candidate_lists(self, pairs: TrainingPairs, rows: list[int]
                        ) -> tuple[list[list[str]], np.ndarray] | None:
        """Each row's candidate list (doc ids, its positive first) and a ranker's scores over
        it ``(len(rows), K)``, for a loss that consumes ``candidates`` (AR2); None: none."""
        return None

    def batches(self, pairs: TrainingPairs, batch_size: int, rng: np.random.Generator
                ) -> Iterator[list[int]]:
        """One epoch of full, duplicate-free batches (lists of row indices)."""
        return duplicate_free_batches(pairs, batch_size, rng)

    def due(self, step: int, total: int) -> bool:
        """Refresh after optimizer step ``step`` (never after the last one)."""
        if self.refresh_every <= 0 or step >= total:
            return False
        start = self.refresh_every if self.first_refresh is None else self.first_refresh
        return step >= start and (step - start) % self.refresh_every == 0

    def refresh(self, view: ModelView, step: int, total: int) -> dict[Pair, tuple[str, ...]] | None:
        """New negatives per (query, positive) pair, or None to keep them."""
        return None

    def facts(self, pairs: TrainingPairs, batch_size: int | None = None) -> dict:
        """What the record says of the training: batching, refreshes and their cost, and (when
        any) how many negatives batches could repeat (``batching.shared_negatives``)."""
        out = {"batching": self.batching, "refresh_every": self.refresh_every, **asdict(
            self.stats)}
        if self.retrieve_depth:
            out["retrieve_depth"] = self.retrieve_depth
            out["retrieve_from_step"] = self.retrieve_from
        else:
            out.pop("step_retrievals")  # records of plans without it keep their form
        if batch_size and (shared := len(shared_negatives(pairs, batch_size))):
            out["shared_negatives"] = shared
        out["refresh_s"] = round(out["refresh_s"], 3)
        out.update(self.details())
        if self.stats.refresh_changed_rows:
            out["final_negatives_sha256"] = negatives_sha256(pairs)
        return out


class PlanInputs:
    """What a plan hands the run's loss beside the batch, on either track: the plan is told
    the loss, teacher scores are taken once (refused when the loss requires them and the plan
    has none), and ``fill`` adds each batch's teacher scores and negative weights."""

    def __init__(self, plan: TrainingPlan, pairs: TrainingPairs, loss) -> None:
        plan.use_loss(loss)
        self.plan, self.pairs = plan, pairs
        self.teacher = plan.teacher_scores(pairs) if "teacher" in loss.consumes else None
        if "teacher" in loss.requires and self.teacher is None:
            raise ValueError(f"loss {loss.name!r} needs teacher scores the plan does not give")
        self.weighted = "weights" in loss.consumes

    def fill(self, batch, rows: list[int], device) -> None:
        import torch

        if self.teacher is not None:
            batch.teacher = torch.from_numpy(self.teacher[rows]).to(device)
        if self.weighted and (w := self.plan.negative_weights(self.pairs, rows)) is not None:
            batch.weights = torch.from_numpy(w).to(device)


def negatives_sha256(pairs: TrainingPairs) -> str:
    """sha256 of the training pairs' current negative ids (one JSON line per pair)."""
    h = hashlib.sha256()
    for r in range(len(pairs)):
        h.update(json.dumps([pairs.query_ids[r], *(c[r] for c in pairs.doc_ids)]).encode())
        h.update(b"\n")
    return h.hexdigest()


class ModelView:
    """The model being trained, as a retriever for a refresh. ``fixed_docs``: the cached
    document vectors of the ``query-side`` track (only queries are re-encoded); without them
    the corpus is re-encoded (``full`` track), once per view. Encodings restore the model's
    ``max_seq_length`` and train/eval mode."""

    def __init__(self, model, corpus: Corpus, query_length: int, doc_length: int, device: str,
                 stats: TrainStats, fixed_docs: np.ndarray | None = None,
                 prompts=None) -> None:
        from negbench.harness.retrieval.prompts import Prompts

        self.model, self.corpus, self.device, self.stats = model, corpus, device, stats
        self.prompts = prompts or Prompts()
        self.query_length, self.doc_length = query_length, doc_length
        self._docs = fixed_docs
        self.batch_size = 64 if device == "cpu" else 256  # the workspace encoder's batch

    def _encode(self, texts: list[str], length: int) -> np.ndarray:
        old, training = self.model.max_seq_length, self.model.training
        try:
            self.model.max_seq_length = length
            emb = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)
        finally:
            self.model.max_seq_length = old
            self.model.train(training)
        return np.ascontiguousarray(emb, dtype=np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        self.stats.refresh_reencoded_queries += len(texts)
        return self._encode(self.prompts.queries(texts), self.query_length)

    @property
    def doc_vectors(self) -> np.ndarray:
        if self._docs is None:
            self._docs = self._encode(self.prompts.documents(self.corpus.texts()),
                                      self.doc_length)
            self.stats.refresh_reencoded_docs += len(self.corpus)
        return self._docs

    def search(self, queries: dict[str, str], k: int) -> dict[str, Hits]:
        """Exact top-``k`` of the corpus for each query (sorted ids) with the current model."""
        qids = sorted(queries)
        return search_run(qids, self.encode_queries([queries[q] for q in qids]),
                          self.corpus.ids, self.doc_vectors, k, self.device)


def apply_negatives(pairs: TrainingPairs, new: dict[Pair, tuple[str, ...]], corpus: Corpus
                    ) -> int:
    """Replace the negative columns of the rows in ``new`` in place; returns how many rows
    changed. Rows with generated negatives (no corpus id) are left alone."""
    cols = len(pairs.doc_ids) - 1
    changed = 0
    for r in range(len(pairs)):
        negs = new.get((pairs.query_ids[r], pairs.doc_ids[0][r]))
        if negs is None or any(c[r] is None for c in pairs.doc_ids[1:]):
            continue
        if len(negs) < cols:
            raise NegbenchError(f"refresh gave pair ({pairs.query_ids[r]!r}, "
                                f"{pairs.doc_ids[0][r]!r}) {len(negs)} negative(s); "
                                f"training uses {cols}")
        if tuple(c[r] for c in pairs.doc_ids[1:]) != tuple(negs[:cols]):
            changed += 1
        for c in range(cols):
            pairs.doc_ids[c + 1][r] = negs[c]
            pairs.negative_texts[c][r] = corpus.docs[negs[c]].text
    return changed


def run_refresh(plan: TrainingPlan, pairs: TrainingPairs, view: ModelView, step: int,
                total: int, exclude: dict[str, set[str]]) -> int:
    """One refresh: timed, validated (no judged positive becomes a negative), applied; returns
    the number of rows whose negatives changed."""
    from negbench.harness.io.negatives import NegativeRow, check_negatives

    t0 = time.perf_counter()
    new = plan.refresh(view, step, total)
    changed = 0
    if new:
        check_negatives([NegativeRow(q, p, tuple(n)) for (q, p), n in sorted(new.items())],
                        view.corpus, exclude, f"refresh at step {step}")
        changed = apply_negatives(pairs, new, view.corpus)
    plan.stats.refreshes += 1
    plan.stats.refresh_changed_rows += changed
    plan.stats.refresh_s += time.perf_counter() - t0
    return changed
