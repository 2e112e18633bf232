"""``full`` track: fine-tune the whole bi-encoder with the sentence-transformers Trainer.

The dataset carries a ``label`` column holding the row index, which the loss uses to look up
the row's query and documents for the optional in-batch false-negative mask. Samplers that
refresh negatives or compose batches plug in through their ``TrainingPlan``: its batches become
the Trainer's batch sampler, its refreshes run in a Trainer callback (the corpus re-encoded with
the model being trained), and a collator wrapper serves each row's current negatives. The data
loader collates one batch ahead, so a refresh reaches the batches collated after it; the label
then carries the negatives' version, so the loss's mask reads the documents actually embedded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from negbench.harness.errors import NegbenchError
from negbench.harness.training.batching import shared_negatives
from negbench.harness.training.budget import Budget
from negbench.harness.training.dynamic import (
    ModelView,
    PlanInputs,
    TrainingPlan,
    TrainStats,
    run_refresh,
)
from negbench.harness.training.masking import in_batch_mask
from negbench.harness.training.pairs import TrainingPairs


def training_dataset(pairs: TrainingPairs, prompts=None):
    """A ``datasets.Dataset``: anchor, positive, negative_1..n text columns (``prompts``
    prepended) and ``label`` = row index (read by the loss, ignored by the duplicate-free
    batch sampler)."""
    from datasets import Dataset

    from negbench.harness.retrieval.prompts import Prompts

    prompts = prompts or Prompts()
    cols: dict[str, list] = {"anchor": prompts.queries(pairs.query_texts),
                             "positive": prompts.documents(pairs.positive_texts)}
    for i, column in enumerate(pairs.negative_texts):
        cols[f"negative_{i + 1}"] = prompts.documents(column)
    cols["label"] = list(range(len(pairs)))
    return Dataset.from_dict(cols)


class LiveNegatives:
    """The training pairs' negatives by version: version 0 is what was mined, each refresh
    adds one. A batch's label is ``row + len(pairs) * version``."""

    def __init__(self, pairs: TrainingPairs) -> None:
        self.pairs = pairs
        self.versions: list[list[list[str | None]]] = []
        self.snapshot()

    def snapshot(self) -> None:
        """Freeze the current doc ids as the newest version."""
        self.versions.append([list(c) for c in self.pairs.doc_ids])

    def decode(self, label: int) -> tuple[int, list[list[str | None]]]:
        row, version = label % len(self.pairs), label // len(self.pairs)
        return row, self.versions[version]


class LiveCollator:
    """Wraps the Trainer's collator: each row gets its current negative texts and a versioned
    label before tokenization (``doc_prompt`` prepended)."""

    def __init__(self, inner, live: LiveNegatives, doc_prompt: str = "") -> None:
        self.inner, self.live, self.doc_prompt = inner, live, doc_prompt

    def __getattr__(self, name):
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __call__(self, features: list[dict]) -> dict:
        pairs, version = self.live.pairs, len(self.live.versions) - 1
        out = []
        for f in features:
            r = int(f["label"]) % len(pairs)
            f = dict(f, label=r + len(pairs) * version)
            for c, column in enumerate(pairs.negative_texts):
                f[f"negative_{c + 1}"] = self.doc_prompt + column[r]
            out.append(f)
        return self.inner(out)


def planned_loss(model, pairs: TrainingPairs, mask: bool, live: LiveNegatives | None = None,
                 stats: TrainStats | None = None, loss=None, plan: TrainingPlan | None = None):
    """A sentence-transformers loss module computing ``loss`` (a
    ``harness.training.losses.Loss``, default MNRL) on the Trainer's embeddings, with the
    in-batch mask (``masking.in_batch_mask``: copies of a row's own positive, and when ``mask``
    other rows' documents judged relevant to the row's query) and what the ``plan`` hands the
    loss (``dynamic.PlanInputs``: teacher scores, negative weights); counts the pairs it
    trains on in ``stats``."""
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from negbench.harness.training.losses import MNRL, LossBatch

    live = live or LiveNegatives(pairs)
    loss_fn = loss or MNRL()
    inputs = PlanInputs(plan or TrainingPlan(), pairs, loss_fn)

    class _PlannedLoss(MultipleNegativesRankingLoss):
        def compute_loss_from_embeddings(self, embeddings, labels):
            if stats is not None:
                stats.pairs_seen += len(labels)
            decoded = [live.decode(int(i)) for i in labels.tolist()]
            device = embeddings[0].device
            m = in_batch_mask([pairs.query_ids[r] for r, _ in decoded],
                              [[ids[c][r] for r, ids in decoded]
                               for c in range(len(pairs.doc_ids))],
                              pairs.relevant, device, judged=mask)
            batch = LossBatch(embeddings[0], list(embeddings[1:]), m)
            inputs.fill(batch, [r for r, _ in decoded], device)
            return loss_fn(batch)

    return _PlannedLoss(model)


def plan_batch_sampler(plan: TrainingPlan, pairs: TrainingPairs):
    """A batch-sampler factory for the Trainer: ``len(pairs) // batch`` batches per epoch,
    drawn from one continuing stream of the plan's epochs (seeded), so the Trainer runs exactly
    its ``max_steps`` whatever the composition."""
    from sentence_transformers.base.sampler import DefaultBatchSampler

    class PlanBatchSampler(DefaultBatchSampler):
        def __init__(self, dataset, batch_size, drop_last, valid_label_columns=None,
                     generator=None, seed=0):
            super().__init__(dataset, batch_size=batch_size, drop_last=drop_last,
                             valid_label_columns=valid_label_columns, generator=generator,
                             seed=seed)
            self.rng = np.random.default_rng(seed)
            self.stream = self._stream()

        def _stream(self):
            while True:
                got = 0
                for batch in plan.batches(pairs, self.batch_size, self.rng):
                    got += 1
                    yield batch
                if not got:
                    raise NegbenchError(f"{len(pairs)} training pairs cannot fill one batch "
                                        f"of {self.batch_size} without repeating a query or "
                                        "document")

        def __len__(self) -> int:
            return max(1, len(pairs) // self.batch_size)

        def __iter__(self):
            for _ in range(len(self)):
                yield next(self.stream)

    return PlanBatchSampler


def train_full(model, pairs: TrainingPairs, budget: Budget, seed: int, output_dir: Path,
               device: str, precision: str, mask: bool, callbacks: Sequence = (),
               batch_sampler: str = "no_duplicates", progress: bool = True,
               plan: TrainingPlan | None = None, corpus=None,
               exclude: dict[str, set[str]] | None = None, prompts=None, loss=None) -> int:
    """Train ``model`` in place for ``budget.num_steps(len(pairs))`` steps; returns the steps.
    ``prompts`` are prepended to queries and documents, in training and refreshes alike;
    ``loss`` is a ``harness.training.losses.Loss`` (default MNRL).

    Without a dynamic ``plan`` batches come from sentence-transformers' duplicate-free sampler
    (from the plan's ``duplicate_free_batches`` when negatives are shared by more rows than an
    epoch has batches: that sampler would repeat them nowhere and fill no batch); with one,
    from the plan, and its refreshes re-encode the ``corpus`` with the model being
    trained. ``plan.stats`` counts optimizer steps, pairs seen and refresh cost."""
    from sentence_transformers import (
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from transformers import TrainerCallback

    from negbench.harness.retrieval.progress import label_trainer

    plan = plan or TrainingPlan()
    if plan.refresh_every and corpus is None:
        raise ValueError("a refreshing plan needs the corpus")
    if plan.retrieve_depth:
        raise ValueError("per-step retrieval against a fixed index is the query-side track's")
    live = LiveNegatives(pairs)
    steps = budget.num_steps(len(pairs))
    model.max_seq_length = budget.train_max_length
    args = SentenceTransformerTrainingArguments(
        output_dir=str(output_dir),
        max_steps=steps,
        per_device_train_batch_size=budget.batch_size,
        learning_rate=budget.learning_rate,
        warmup_steps=budget.warmup_ratio,  # a float < 1 is a ratio of max_steps (ST v5+)
        seed=seed,
        data_seed=seed,
        full_determinism=device == "cpu",
        use_cpu=device == "cpu",
        bf16=precision == "bf16",  # with use_cpu: accelerate's torch.autocast("cpu", bf16)
        fp16=precision == "fp16",
        batch_sampler=(plan_batch_sampler(plan, pairs)
                       if plan.dynamic or shared_negatives(pairs, budget.batch_size)
                       else batch_sampler),
        dataloader_drop_last=True,
        save_strategy="no",
        report_to="none",
        logging_steps=max(1, steps // 10),
        dataloader_num_workers=0,
        disable_tqdm=not progress,
    )

    class Refresh(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if plan.due(state.global_step, state.max_steps):
                view = ModelView(model, corpus, budget.eval_max_length, budget.eval_max_length,
                                 device, plan.stats, prompts=prompts)
                if run_refresh(plan, pairs, view, state.global_step, state.max_steps,
                               exclude or {}):
                    live.snapshot()

    trainer = SentenceTransformerTrainer(model=model, args=args,
                                         train_dataset=training_dataset(pairs, prompts),
                                         loss=planned_loss(model, pairs, mask, live, plan.stats,
                                                           loss, plan),
                                         callbacks=[Refresh(), *callbacks])
    label_trainer(trainer, "train (full)", progress)  # no unnamed bar, no loss dicts on stdout
    if plan.dynamic:
        trainer.data_collator = LiveCollator(trainer.data_collator, live,
                                             prompts.document if prompts else "")
    trainer.train()
    plan.stats.optimizer_steps = trainer.state.global_step
    return steps
