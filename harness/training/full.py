"""``full`` track: fine-tune the whole bi-encoder with the sentence-transformers Trainer.

The dataset carries a ``label`` column holding the row index, which the loss uses to look up
the row's query and documents for the optional in-batch false-negative mask. Samplers that
refresh negatives or compose batches plug in as Trainer callbacks and batch samplers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from negbench.harness.budget import Budget
from negbench.harness.training.loss import in_batch_mask, mnrl_loss
from negbench.harness.training.pairs import TrainingPairs


def training_dataset(pairs: TrainingPairs):
    """A ``datasets.Dataset``: anchor, positive, negative_1..n text columns and ``label`` =
    row index (read by the loss, ignored by the duplicate-free batch sampler)."""
    from datasets import Dataset

    cols: dict[str, list] = {"anchor": pairs.query_texts, "positive": pairs.positive_texts}
    for i, column in enumerate(pairs.negative_texts):
        cols[f"negative_{i + 1}"] = column
    cols["label"] = list(range(len(pairs)))
    return Dataset.from_dict(cols)


def masked_mnrl(model, pairs: TrainingPairs, mask: bool):
    """MultipleNegativesRankingLoss whose in-batch mask (when ``mask``) drops other rows'
    documents judged relevant to the row's query."""
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    class _MaskedMNRL(MultipleNegativesRankingLoss):
        def compute_loss_from_embeddings(self, embeddings, labels):
            m = None
            if mask:
                rows = [int(i) for i in labels.tolist()]
                m = in_batch_mask([pairs.query_ids[r] for r in rows],
                                  [[column[r] for r in rows] for column in pairs.doc_ids],
                                  pairs.relevant, embeddings[0].device)
            return mnrl_loss(embeddings[0], embeddings[1:], m, self.scale)

    return _MaskedMNRL(model)


def train_full(model, pairs: TrainingPairs, budget: Budget, seed: int, output_dir: Path,
               device: str, precision: str, mask: bool, callbacks: Sequence = (),
               batch_sampler: str = "no_duplicates", progress: bool = True) -> int:
    """Train ``model`` in place for ``budget.num_steps(len(pairs))`` steps; returns the steps."""
    from sentence_transformers import (
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )

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
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        batch_sampler=batch_sampler,
        dataloader_drop_last=True,
        save_strategy="no",
        report_to="none",
        logging_steps=max(1, steps // 10),
        dataloader_num_workers=0,
        disable_tqdm=not progress,
    )
    trainer = SentenceTransformerTrainer(model=model, args=args,
                                         train_dataset=training_dataset(pairs),
                                         loss=masked_mnrl(model, pairs, mask),
                                         callbacks=list(callbacks))
    trainer.train()
    return steps
