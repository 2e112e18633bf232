"""Fine-tune a bi-encoder with the sentence-transformers Trainer and MultipleNegativesRankingLoss.

Training takes Trainer callbacks and a batch sampler (not a hand-written loop), so samplers
that refresh negatives during training (ANCE/ADORE) or compose batches (TAS-B) plug in here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from negbench.harness.budget import Budget
from negbench.harness.data import Corpus, Split
from negbench.strategies.base import NegativeRow


def training_dataset(rows: list[NegativeRow], corpus: Corpus, split: Split, n_neg: int):
    """A ``datasets.Dataset`` with anchor, positive and ``n_neg`` negative columns.

    Corpus negatives come first, then generated texts (``from-file``). Rows with fewer than
    ``n_neg`` negatives are dropped when ``n_neg > 0`` (MNRL needs a full
    tuple); ``n_neg = 0`` gives (anchor, positive) pairs for in-batch training.
    """
    from datasets import Dataset

    cols: dict[str, list[str]] = {"anchor": [], "positive": []}
    for i in range(n_neg):
        cols[f"negative_{i + 1}"] = []
    for r in rows:
        negatives = [corpus.docs[d].text for d in r.negative_ids] + list(r.negative_texts)
        if len(negatives) < n_neg:
            continue
        cols["anchor"].append(split.queries[r.query_id])
        cols["positive"].append(corpus.docs[r.positive_id].text)
        for i in range(n_neg):
            cols[f"negative_{i + 1}"].append(negatives[i])
    return Dataset.from_dict(cols)


def train(model, dataset, budget: Budget, seed: int, output_dir: Path,
          callbacks: Sequence = (), batch_sampler: str = "no_duplicates",
          progress: bool = True):
    """Train ``model`` in place for exactly ``budget.steps`` steps; returns the model."""
    from sentence_transformers import (
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    model.max_seq_length = budget.train_max_length
    args = SentenceTransformerTrainingArguments(
        output_dir=str(output_dir),
        max_steps=budget.steps,
        per_device_train_batch_size=budget.batch_size,
        learning_rate=budget.learning_rate,
        warmup_steps=budget.warmup_ratio,  # a float < 1 is a ratio of max_steps (ST v5)
        seed=seed,
        data_seed=seed,
        full_determinism=True,
        use_cpu=True,
        batch_sampler=batch_sampler,
        save_strategy="no",
        report_to="none",
        logging_steps=max(1, budget.steps // 10),
        dataloader_num_workers=0,
        disable_tqdm=not progress,
    )
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset,
                                         loss=MultipleNegativesRankingLoss(model),
                                         callbacks=list(callbacks))
    trainer.train()
    return model
