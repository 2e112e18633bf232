"""A cross-encoder teacher for denoising and false-negative accounting.

No cross-encoder weights can be downloaded here, so by default one is trained in the harness:
sentence-transformers ``CrossEncoder`` initialised from the base model's weights (new
classification head), trained with ``BinaryCrossEntropyLoss`` on the suite's train qrels
(label 1) against BM25 (ranks 10-50) and random negatives (label 0); at most
``MAX_TRAIN_PAIRS`` positive pairs, a seeded subset when the suite has more. A local path to any
CrossEncoder folder can be given instead. Trained models and scores are cached by content.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from negbench.harness.data import Corpus, Split
from negbench.harness.errors import NegbenchError
from negbench.harness.models import resolve_model


@dataclass(frozen=True)
class CrossEncoderSpec:
    """How the teacher is obtained: ``path`` (a local CrossEncoder) or trained from ``base``."""

    path: str | None = None
    base: str = "all-MiniLM-L6-v2"
    steps: int = 150
    batch_size: int = 16
    learning_rate: float = 5e-5
    max_length: int = 128
    seed: int = 0

    def key(self, corpus: Corpus, split: Split) -> str:
        raw = json.dumps({"spec": asdict(self), "corpus": corpus.fingerprint(),
                          "qrels": sorted((q, d, r) for q, j in split.qrels.items()
                                          for d, r in j.items())}, sort_keys=True)
        return hashlib.sha256(raw.encode()).hexdigest()[:16]


MAX_TRAIN_PAIRS = 5000  # (query, positive) pairs the teacher sees; a seeded subset beyond


def _training_rows(corpus: Corpus, split: Split, exclude: dict[str, set[str]], bm25,
                   seed: int) -> dict[str, list]:
    rng = np.random.default_rng(seed)
    pairs = [(q, p) for q, ps in sorted(split.positives().items()) for p in ps]
    if len(pairs) > MAX_TRAIN_PAIRS:  # e.g. ESCO's 99k distant pairs
        keep = np.sort(rng.choice(len(pairs), MAX_TRAIN_PAIRS, replace=False))
        pairs = [pairs[i] for i in keep]
    pos: dict[str, list[str]] = {}
    for q, p in pairs:
        pos.setdefault(q, []).append(p)
    ranks = bm25.search({q: split.queries[q] for q in pos}, k=60)
    cols: dict[str, list] = {"query": [], "doc": [], "label": []}
    for q, docs in sorted(pos.items()):
        hard = [d for d, _ in ranks.get(q, [])[10:50] if d not in exclude.get(q, set())]
        for p in docs:
            negs = []
            if hard:
                negs.append(hard[int(rng.integers(len(hard)))])
            while len(negs) < 2:
                d = corpus.ids[int(rng.integers(len(corpus)))]
                if d not in exclude.get(q, set()):
                    negs.append(d)
            for d, label in [(p, 1.0)] + [(n, 0.0) for n in negs]:
                cols["query"].append(split.queries[q])
                cols["doc"].append(corpus.docs[d].text)
                cols["label"].append(label)
    return cols


def train_cross_encoder(spec: CrossEncoderSpec, corpus: Corpus, split: Split,
                        exclude: dict[str, set[str]], bm25, cache_dir: Path,
                        progress: bool = True) -> Path:
    """Train (or find cached) the teacher; returns its folder."""
    from datasets import Dataset
    from sentence_transformers.cross_encoder import (
        CrossEncoder,
        CrossEncoderTrainer,
        CrossEncoderTrainingArguments,
    )
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    out = Path(cache_dir) / "cross-encoders" / spec.key(corpus, split)
    if (out / "done").exists():
        return out
    model = CrossEncoder(str(resolve_model(spec.base)), num_labels=1, max_length=spec.max_length,
                         device="cpu", local_files_only=True)
    data = Dataset.from_dict(_training_rows(corpus, split, exclude, bm25, spec.seed))
    args = CrossEncoderTrainingArguments(
        output_dir=str(out) + ".work", max_steps=spec.steps,
        per_device_train_batch_size=spec.batch_size, learning_rate=spec.learning_rate,
        warmup_steps=0.1, seed=spec.seed, data_seed=spec.seed, full_determinism=True,
        use_cpu=True, save_strategy="no", report_to="none", disable_tqdm=not progress,
        logging_steps=max(1, spec.steps // 10))
    CrossEncoderTrainer(model=model, args=args, train_dataset=data,
                        loss=BinaryCrossEntropyLoss(model)).train()
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    (tmp / "done").write_text(json.dumps(asdict(spec)))
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    shutil.rmtree(str(out) + ".work", ignore_errors=True)
    return out


class CrossEncoderScorer:
    """Scores (query id, doc id) pairs; scores are memoised on disk per teacher."""

    def __init__(self, path: Path, queries: dict[str, str], corpus: Corpus,
                 cache_dir: Path, max_length: int = 128, description: str = "") -> None:
        from sentence_transformers.cross_encoder import CrossEncoder

        if not Path(path).is_dir():
            raise NegbenchError(f"{path}: cross-encoder folder not found")
        self.model = CrossEncoder(str(path), max_length=max_length, device="cpu",
                                  local_files_only=True)
        self.path = str(path)
        self.description = description
        self.queries, self.corpus = queries, corpus
        tag = hashlib.sha256(f"{Path(path).resolve()}|{max_length}".encode()).hexdigest()[:16]
        self.cache_file = Path(cache_dir) / "ce-scores" / f"{tag}.json"
        self.cache: dict[str, float] = (json.loads(self.cache_file.read_text())
                                        if self.cache_file.exists() else {})

    def score(self, pairs: list[tuple[str, str]], progress: bool = True) -> list[float]:
        todo = sorted({p for p in pairs if f"{p[0]}\t{p[1]}" not in self.cache})
        if todo:
            texts = [(self.queries[q], self.corpus.docs[d].text) for q, d in todo]
            scores = self.model.predict(texts, batch_size=32, show_progress_bar=progress,
                                        convert_to_numpy=True)
            for (q, d), s in zip(todo, scores):
                self.cache[f"{q}\t{d}"] = float(s)
            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.cache_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.cache))
            os.replace(tmp, self.cache_file)
        return [self.cache[f"{q}\t{d}"] for q, d in pairs]


def teacher(spec: CrossEncoderSpec, corpus: Corpus, split: Split, exclude, bm25,
            cache_dir: Path, progress: bool = True) -> CrossEncoderScorer:
    """The scorer for ``spec``: the given local model, or one trained on ``split``."""
    if spec.path:
        return CrossEncoderScorer(Path(spec.path), split.queries, corpus, cache_dir,
                                  spec.max_length, f"local cross-encoder {spec.path}")
    path = train_cross_encoder(spec, corpus, split, exclude, bm25, cache_dir, progress)
    desc = (f"trained in the harness from {spec.base} on the train qrels: {spec.steps} steps x "
            f"batch {spec.batch_size}, lr {spec.learning_rate}, max_length {spec.max_length}")
    return CrossEncoderScorer(path, split.queries, corpus, cache_dir, spec.max_length, desc)
