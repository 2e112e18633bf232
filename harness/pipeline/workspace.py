"""Shared, lazily built resources for the runs of one suite: data, base encoder, BM25 index.

Everything here is content-addressed (cache keys are fingerprints), so sharing it across runs
keeps each run a pure function of its config.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from negbench.harness.data.paths import cache_root
from negbench.harness.retrieval.encoder import CachedEncoder, SentenceTransformerEncoder
from negbench.suites.definition import Suite
from negbench.suites.loading import load_suite_data
from negbench.suites.suite_data import SuiteData


class Workspace:
    crossfit = None  # harness.data.crossfit.CrossFit when the runs are cross-fitted (--folds)
    fold: int | None = None  # a cross-fitted view's fold (None: the pooled test split)

    def __init__(self, suite: Suite, data_root: Path | None = None, cache_dir: Path | None = None,
                 model: str | None = None, progress: bool = True,
                 trust_remote_code: bool = False, device: str = "cpu",
                 query_prompt: str | None = None, doc_prompt: str | None = None,
                 precision: str = "fp32") -> None:
        from negbench.harness.retrieval.device import encoding_precision

        self.suite = suite
        self.data_root = data_root
        self.cache_dir = cache_root(cache_dir)
        self.model_name = model or suite.model
        self.progress = progress
        self.trust_remote_code = trust_remote_code
        self.device = device  # a resolved torch device string (see harness.device)
        # the runs' resolved precision decides the encodings' (bf16 on a bf16 CPU run)
        self.encode_precision = encoding_precision(precision, device)
        self._teachers: dict[int, object] = {}
        self._prompt_overrides = (query_prompt, doc_prompt)

    @cached_property
    def prompts(self):
        """Query/document prompts: the model's own, overridden by the user's
        (``harness.prompts``)."""
        from negbench.harness.retrieval.prompts import resolve_prompts

        return resolve_prompts(self.model_name, *self._prompt_overrides)

    @cached_property
    def data(self) -> SuiteData:
        return load_suite_data(self.suite, self.data_root)

    @cached_property
    def data_checks(self) -> dict:
        """What the data checks found (``preflight.data_checks``), once per workspace: every
        record and the held-out warning read it."""
        from negbench.harness.pipeline.preflight import data_checks

        return data_checks(self.data)

    @cached_property
    def data_fingerprint(self) -> str:
        """sha256 of the loaded data (``harness.fingerprint``): keys every reusable artefact."""
        from negbench.harness.data.fingerprint import data_fingerprint

        return data_fingerprint(self.data)

    @cached_property
    def base_encoder(self) -> CachedEncoder:
        from negbench.harness.retrieval.models import load_model

        return self.encoder_for(load_model(self.model_name,
                                           trust_remote_code=self.trust_remote_code,
                                           device=self.device))

    def encoder_for(self, model) -> CachedEncoder:
        batch = 64 if self.device == "cpu" else 256
        return CachedEncoder(SentenceTransformerEncoder(model, batch_size=batch,
                                                        progress=self.progress,
                                                        prompts=self.prompts,
                                                        precision=self.encode_precision),
                             self.cache_dir)

    def device_info(self, precision: str | None = None):
        """Where this workspace computes, for records: ``precision`` is a run's training
        precision (None: a zero-shot row, which only encodes: the encodings' precision)."""
        from negbench.harness.retrieval.device import device_info

        return device_info(self.device, precision or self.encode_precision,
                           self.encode_precision)

    def teacher(self, budget):
        """The cross-fitted cross-encoder teacher for false-negative accounting (None when
        disabled): 3 query folds x ``budget.teacher_steps`` steps, label-0 examples from BM25,
        the base model's ranking at the budget's eval length and random docs."""
        if budget.teacher_steps <= 0:
            return None
        key = (budget.teacher_steps, budget.eval_max_length)
        if key not in self._teachers:
            from negbench.harness.pipeline.false_negatives import MAX_SCORED_ROWS
            from negbench.harness.retrieval.cross_encoder import CrossEncoderSpec, teacher
            from negbench.strategies.dense_candidates import DenseRanker

            spec = CrossEncoderSpec(base=self.model_name, steps=budget.teacher_steps,
                                    device=getattr(self, "device", "cpu"))
            dense = DenseRanker(self.base_encoder, self.data.corpus, budget.eval_max_length)
            # per run: each audited pair's positive, its negatives and one random control doc
            rows = min(MAX_SCORED_ROWS, sum(map(len, self.data.train.positives().values())))
            self._teachers[key] = teacher(
                spec, self.data.corpus, self.data.train, self.data.exclude, self.bm25,
                self.cache_dir, progress=self.progress, dense=dense,
                pairs=rows * (budget.negatives_per_example + 2),
                purpose="false-negative audit (pairs per run)")
        return self._teachers[key]

    @cached_property
    def bm25(self):
        from negbench.harness.retrieval.bm25 import BM25

        return BM25(self.data.corpus, self.cache_dir)

    @property
    def split_name(self) -> str:
        """The records' split: the suite's test split, or ``crossfit-K`` when cross-fitted."""
        return self.crossfit.split if self.crossfit is not None else self.suite.test

    def crossfit_info(self) -> dict | None:
        """A record's ``crossfit`` field (None on the official split)."""
        return None if self.crossfit is None else self.crossfit.info(self.fold)

    def cross_fit(self, k: int, seed: int = 0) -> None:
        """Cross-fit the runs of this workspace (``--folds K --fold-seed S``): the labelled
        queries in ``k`` seeded folds (``harness.data.crossfit``); one-line errors for a bad
        ``k`` or a suite without a training split."""
        from negbench.harness.data.crossfit import CrossFit

        self.crossfit = CrossFit.of(self.data, k, seed)
        self._views: dict = {}

    def view(self, fold: int | None) -> Workspace:
        """This workspace for fold ``fold`` (train on the other folds, test on it; None: the
        pooled test split of every labelled query, for the zero-shot rows); itself when not
        cross-fitted. A view shares the base encoder, BM25, prompts and data fingerprint (the
        folder's data) with this workspace; its data, data checks and teachers are its own."""
        if self.crossfit is None:
            return self
        if self.__dict__.get("_root") is not None:  # a view: its root's view of that fold
            return self._root.view(fold)
        if fold not in self._views:
            base = self.data  # loaded before the view copies the workspace's state
            v = object.__new__(_FoldView)
            v.__dict__.update({k: val for k, val in self.__dict__.items() if k not in (
                "data", "data_checks", "base_encoder", "bm25", "prompts", "data_fingerprint")})
            v.__dict__.update(_root=self, fold=fold, _teachers={},
                              data=self.crossfit.data(base, fold))
            self._views[fold] = v
        return self._views[fold]


class _FoldView(Workspace):
    """A cross-fitted fold's workspace (``Workspace.view``): what does not depend on the
    queries is its root's."""

    base_encoder = property(lambda self: self._root.base_encoder)
    bm25 = property(lambda self: self._root.bm25)
    prompts = property(lambda self: self._root.prompts)
    data_fingerprint = property(lambda self: self._root.data_fingerprint)
    isolated = property(lambda self: getattr(self._root, "isolated", False))


def base_encodings(ws) -> dict[str, int]:
    """Encodings the workspace's base model has computed so far (cache misses), by kind;
    zeros while the model is not loaded (nothing encoded yet)."""
    enc = (ws.__dict__.get("_root") or ws).__dict__.get("base_encoder")
    return dict(getattr(enc, "calls_by_kind", None) or {"query": 0, "doc": 0})
