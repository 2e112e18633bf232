"""A cross-encoder teacher for denoising and false-negative accounting.

No cross-encoder weights can be downloaded here, so by default the teacher is trained in the
harness and cross-fitted: the training queries are split into ``folds`` folds by a hash of the
query id, and one sentence-transformers ``CrossEncoder`` per fold (initialised from the base
model's weights, new classification head, ``BinaryCrossEntropyLoss``) is trained on the other
folds' (query, positive) pairs only. A pair is always scored by the teacher that never saw its
query. Label-0 examples come in equal parts from BM25's top 30, the base model's dense top 30
and uniformly random documents (one of each per positive; judged positives excluded), so the
teacher is trained against the kinds of negative the samplers mine, none favoured. At most
``MAX_TRAIN_PAIRS`` positive pairs, a seeded subset when the suite has more. A local path to
any CrossEncoder folder can be given instead (one model, nothing held out). Trained models and
scores are cached by content.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from negbench.harness.data.collection import Corpus, Split
from negbench.harness.data.fingerprint import split_fingerprint
from negbench.harness.errors import NegbenchError
from negbench.harness.io.atomic import (
    file_lock,
    mkdtemp_beside,
    publish_dir,
    write_json_atomic,
    write_text_atomic,
)
from negbench.harness.io.digest import sha256_tree
from negbench.harness.retrieval.models import resolve_model
from negbench.harness.retrieval.progress import counting_bar, expected_warnings, label_trainer

MAX_TRAIN_PAIRS = 5000  # (query, positive) pairs the teacher sees; a seeded subset beyond
TEACHER_WINDOW = 30  # label-0 ranks: the top 30 non-positives of BM25 and of the dense model
RECIPE = 2  # bump when the training rows change (part of the cache key)
SCORE_BATCH = 32
LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class CrossEncoderSpec:
    """How the teacher is obtained: ``path`` (a local CrossEncoder) or trained from ``base``,
    cross-fitted over ``folds`` query folds (1 = one teacher on all pairs). ``steps`` = 0
    keeps the base weights with an untrained head (a chance-level reference). ``device`` is
    where it trains and scores; it is not part of the cache key."""

    path: str | None = None
    base: str = "all-MiniLM-L6-v2"
    steps: int = 150
    batch_size: int = 16
    learning_rate: float = 5e-5
    max_length: int = 128
    seed: int = 0
    folds: int = 3
    device: str = field(default="cpu", compare=False)

    def rate_key(self) -> str:
        """What the measured speeds (``rates``) of this teacher depend on."""
        return f"{self.path or self.base}|{self.device}|{self.max_length}|{self.batch_size}"

    def key(self, corpus: Corpus, split: Split, fold: int = 0, rankers: str = "") -> str:
        spec = {k: v for k, v in asdict(self).items() if k != "device"}
        raw = json.dumps({"spec": spec, "fold": fold, "rankers": rankers, "recipe": RECIPE,
                          "max_pairs": MAX_TRAIN_PAIRS, "corpus": corpus.fingerprint(),
                          "split": split_fingerprint(split)}, sort_keys=True)
        return hashlib.sha256(raw.encode()).hexdigest()[:16]


def fold_of(query_id: str, folds: int) -> int:
    """The query's fold: a hash of its id, independent of the data's order."""
    if folds <= 1:
        return 0
    digest = hashlib.sha256(f"fold|{query_id}".encode()).digest()
    return int.from_bytes(digest[:8], "little") % folds


def _ranker_tag(rankers: dict) -> str:
    return "|".join(f"{n}={getattr(r, 'tag', type(r).__name__)}" for n, r in sorted(
        rankers.items()) if r is not None)


def training_rows(corpus: Corpus, split: Split, exclude: dict[str, set[str]], rankers: dict,
                  seed: int, fold: int = 0, folds: int = 1) -> dict[str, list]:
    """The teacher's examples for ``fold``: pairs whose query is in another fold (all pairs when
    ``folds`` = 1), each positive (label 1) with one negative per ranker's top
    ``TEACHER_WINDOW`` plus one random document (label 0). ``query_id``, ``doc_id`` and
    ``source`` (positive, bm25, dense, random) describe each row; they are not trained on."""
    rng = np.random.default_rng(seed)
    pairs = [(q, p) for q, ps in sorted(split.positives().items()) for p in ps]
    if len(pairs) > MAX_TRAIN_PAIRS:  # e.g. ESCO's 99k distant pairs
        keep = np.sort(rng.choice(len(pairs), MAX_TRAIN_PAIRS, replace=False))
        pairs = [pairs[i] for i in keep]
    pos: dict[str, list[str]] = {}
    for q, p in pairs:
        if folds <= 1 or fold_of(q, folds) != fold:
            pos.setdefault(q, []).append(p)
    queries = {q: split.queries[q] for q in pos}
    depth = TEACHER_WINDOW + max((len(v) for v in exclude.values()), default=0) + 1
    used = [(n, r) for n, r in sorted(rankers.items()) if r is not None]
    ranked = [r.search(queries, k=depth) for _, r in used]
    cols: dict[str, list] = {"query": [], "doc": [], "label": [], "query_id": [], "doc_id": [],
                             "source": []}
    for q, docs in sorted(pos.items()):
        banned = exclude.get(q, set()) | set(docs)
        tops = [[d for d, _ in rk.get(q, []) if d not in banned][:TEACHER_WINDOW]
                for rk in ranked]
        for p in docs:
            negs = [(top[int(rng.integers(len(top)))], name)
                    for top, (name, _) in zip(tops, used) if top]
            while len(negs) < len(tops) + 1:
                d = corpus.ids[int(rng.integers(len(corpus)))]
                if d not in banned:
                    negs.append((d, "random"))
            for (d, source), label in [((p, "positive"), 1.0)] + [(n, 0.0) for n in negs]:
                cols["query"].append(split.queries[q])
                cols["doc"].append(corpus.docs[d].text)
                cols["label"].append(label)
                cols["query_id"].append(q)
                cols["doc_id"].append(d)
                cols["source"].append(source)
    return cols


def _teacher_dir(spec: CrossEncoderSpec, corpus: Corpus, split: Split, rankers: dict,
                 cache_dir: Path, fold: int) -> Path:
    return Path(cache_dir) / "cross-encoders" / spec.key(corpus, split, fold,
                                                         _ranker_tag(rankers))


def train_cross_encoder(spec: CrossEncoderSpec, corpus: Corpus, split: Split,
                        exclude: dict[str, set[str]], rankers: dict, cache_dir: Path,
                        fold: int = 0, progress: bool = True) -> Path:
    """Train (or find cached) the teacher of one fold; returns its folder, which also holds
    ``train_queries.json`` (the query ids it was trained on)."""
    out = _teacher_dir(spec, corpus, split, rankers, cache_dir, fold)
    if (out / "done").exists():
        return out
    # one trainer per teacher: processes sharing the cache (--shard, --executor) wait for it
    with file_lock(out.with_name(out.name + ".lock")):
        if (out / "done").exists():
            return out
        return _train_cross_encoder(spec, corpus, split, exclude, rankers, out, fold, progress,
                                    Path(cache_dir))


def _train_cross_encoder(spec: CrossEncoderSpec, corpus: Corpus, split: Split,
                         exclude: dict[str, set[str]], rankers: dict, out: Path, fold: int,
                         progress: bool, cache_dir: Path) -> Path:
    from datasets import Dataset
    from sentence_transformers.cross_encoder import (
        CrossEncoder,
        CrossEncoderTrainer,
        CrossEncoderTrainingArguments,
    )
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    from negbench.harness.retrieval.device import resolve_device

    device = resolve_device(spec.device)
    work = Path(str(out) + ".work")  # the trainer's scratch folder (only one trainer: locked)
    with expected_warnings("sentence_transformers", "transformers"):  # "Converting ... to
        # CrossEncoder", the new head's load report: this teacher is built that way
        model = CrossEncoder(str(resolve_model(spec.base)), num_labels=1,
                             max_length=spec.max_length, device=device, local_files_only=True)
    cols = training_rows(corpus, split, exclude, rankers, spec.seed + fold, fold, spec.folds)
    trained_on = sorted(set(cols.pop("query_id")))
    del cols["doc_id"], cols["source"]
    if spec.steps > 0:
        args = CrossEncoderTrainingArguments(
            output_dir=str(work), max_steps=spec.steps,
            per_device_train_batch_size=spec.batch_size, learning_rate=spec.learning_rate,
            warmup_steps=0.1, seed=spec.seed, data_seed=spec.seed, full_determinism=True,
            use_cpu=device == "cpu", save_strategy="no", report_to="none",
            disable_tqdm=not progress, logging_steps=max(1, spec.steps // 10))
        trainer = CrossEncoderTrainer(model=model, args=args,
                                      train_dataset=Dataset.from_dict(cols),
                                      loss=BinaryCrossEntropyLoss(model))
        label_trainer(trainer, "teacher: train" + (f" (fold {fold + 1}/{spec.folds})"
                                                   if spec.folds > 1 else ""), progress)
        start = time.perf_counter()
        trainer.train()
        note_rate(cache_dir, spec.rate_key(), "steps_per_s", spec.steps,
                  time.perf_counter() - start)
    tmp = mkdtemp_beside(out)
    model.save_pretrained(str(tmp))
    (tmp / "train_queries.json").write_text(json.dumps(trained_on))
    (tmp / "done").write_text(json.dumps({**asdict(spec), "fold": fold}))
    shutil.rmtree(out, ignore_errors=True)  # a folder without "done": a killed save
    publish_dir(tmp, out)
    shutil.rmtree(work, ignore_errors=True)
    return out


class CrossEncoderScorer:
    """Scores (query id, doc id) pairs with one model; scores are memoised on disk."""

    folds = 1

    def __init__(self, path: Path, queries: dict[str, str], corpus: Corpus,
                 cache_dir: Path, max_length: int = 128, description: str = "",
                 device: str = "cpu", progress: bool = False, label: str = "teacher: score",
                 rate_key: str = "") -> None:
        import torch
        from sentence_transformers.cross_encoder import CrossEncoder

        from negbench.harness.retrieval.device import resolve_device

        if not Path(path).is_dir():
            raise NegbenchError(f"{path}: cross-encoder folder not found")
        self.model = CrossEncoder(str(path), max_length=max_length, device=resolve_device(device),
                                  local_files_only=True)
        self.probabilities = isinstance(self.model.activation_fn, torch.nn.Sigmoid)
        self.path = str(path)
        self.description = description
        self.progress, self.label = progress, label
        self.scored = 0  # pairs this scorer computed (cache misses)
        self._rate = (Path(cache_dir), rate_key)
        self.queries, self.corpus = queries, corpus
        # scores are cached by (query id, doc id): key them by the model's files and the texts
        # those ids stand for (harness.fingerprint), so other data or another model never hits
        texts = split_fingerprint(Split("scorer", queries, {}))
        tag = hashlib.sha256(f"{sha256_tree(Path(path))}|{max_length}|{corpus.fingerprint()}|"
                             f"{texts}".encode()).hexdigest()[:16]
        self.cache_file = Path(cache_dir) / "ce-scores" / f"{tag}.json"
        self.cache: dict[str, float] = (json.loads(self.cache_file.read_text())
                                        if self.cache_file.exists() else {})

    def fold_of(self, query_id: str) -> int:
        return 0

    def probability(self, score: float) -> float:
        """The score as a probability of relevance (sigmoid of a logit)."""
        return score if self.probabilities else float(1 / (1 + np.exp(-score)))

    def score(self, pairs: list[tuple[str, str]], progress: bool | None = None) -> list[float]:
        """Each pair's score (memoised); ``progress`` None: the scorer's own setting."""
        todo = sorted({p for p in pairs if f"{p[0]}\t{p[1]}" not in self.cache})
        if todo:
            texts = [(self.queries[q], self.corpus.docs[d].text) for q, d in todo]
            shown = self.progress if progress is None else progress
            start = time.perf_counter()
            with counting_bar(self.model, len(texts), SCORE_BATCH, self.label, shown):
                scores = self.model.predict(texts, batch_size=SCORE_BATCH,
                                            show_progress_bar=False, convert_to_numpy=True)
            note_rate(*self._rate, "pairs_per_s", len(todo), time.perf_counter() - start)
            self.scored += len(todo)
            for (q, d), s in zip(todo, scores):
                self.cache[f"{q}\t{d}"] = float(s)
            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(json.dumps(self.cache), self.cache_file)
        return [self.cache[f"{q}\t{d}"] for q, d in pairs]


class CrossFitScorer:
    """One teacher per query fold; a pair is scored by the teacher of its query's fold, which
    was trained on the other folds only."""

    def __init__(self, scorers: list[CrossEncoderScorer], description: str) -> None:
        self.scorers = scorers
        self.folds = len(scorers)
        self.description = description
        self.corpus, self.queries = scorers[0].corpus, scorers[0].queries
        self.probabilities = scorers[0].probabilities

    def fold_of(self, query_id: str) -> int:
        return fold_of(query_id, self.folds)

    def probability(self, score: float) -> float:
        return self.scorers[0].probability(score)

    @property
    def scored(self) -> int:
        return sum(s.scored for s in self.scorers)

    def score(self, pairs: list[tuple[str, str]], progress: bool | None = None) -> list[float]:
        out: list[float] = [0.0] * len(pairs)
        for f, scorer in enumerate(self.scorers):
            idx = [i for i, (q, _) in enumerate(pairs) if self.fold_of(q) == f]
            for i, s in zip(idx, scorer.score([pairs[i] for i in idx], progress=progress)):
                out[i] = s
        return out


def teacher(spec: CrossEncoderSpec, corpus: Corpus, split: Split, exclude, bm25,
            cache_dir: Path, progress: bool = True, dense=None, pairs: int | None = None,
            purpose: str = "teacher"):
    """The scorer for ``spec``: the given local model, or the cross-fitted harness teacher
    trained on ``split`` (``dense``: a ranker with ``search(queries, k)`` for the dense third of
    the label-0 examples; without it, BM25 and random negatives in equal parts). Before any
    training or scoring, one line says what it will cost (``purpose``: whose teacher it is;
    ``pairs``: how many (query, doc) pairs the caller will score at most)."""
    rankers = {"bm25": bm25, "dense": dense}
    folds = [] if spec.path else [
        f for f in range(max(1, spec.folds))
        if not (_teacher_dir(spec, corpus, split, rankers, cache_dir, f) / "done").exists()]
    LOG.info("%s: %s", purpose, cost_line(spec, len(folds), pairs, rates(cache_dir)))
    if spec.path:
        return CrossEncoderScorer(Path(spec.path), split.queries, corpus, cache_dir,
                                  spec.max_length, f"local cross-encoder {spec.path}",
                                  spec.device, progress, rate_key=spec.rate_key())
    kinds = "BM25 top-30, dense top-30 and random" if dense is not None else "BM25 top-30 and random"
    fit = (f"cross-fitted over {spec.folds} query folds (each pair scored by the teacher "
           "that never saw its query)" if spec.folds > 1 else "on all train pairs (no folds)")
    desc = (f"trained in the harness from {spec.base}, {fit}: "
            f"{spec.steps} steps x batch {spec.batch_size} per fold, lr {spec.learning_rate}, "
            f"max_length {spec.max_length}; label 0: {kinds} docs in equal parts")
    n = max(1, spec.folds)
    scorers = [CrossEncoderScorer(train_cross_encoder(spec, corpus, split, exclude, rankers,
                                                      cache_dir, f, progress),
                                  split.queries, corpus, cache_dir, spec.max_length, desc,
                                  spec.device, progress,
                                  "teacher: score" + (f" (fold {f + 1}/{n})" if n > 1 else ""),
                                  spec.rate_key())
               for f in range(n)]
    return CrossFitScorer(scorers, desc)


# -- what a teacher costs: measured speeds, kept in the cache ---------------------------------
def _rates_file(cache_dir: Path) -> Path:
    return Path(cache_dir) / "cross-encoders" / "rates.json"


def rates(cache_dir: Path) -> dict:
    """Measured speeds by ``CrossEncoderSpec.rate_key``: ``steps_per_s`` (training),
    ``pairs_per_s`` (scoring), the latest measurement of each."""
    try:
        return json.loads(_rates_file(cache_dir).read_text())
    except (OSError, ValueError):
        return {}


def note_rate(cache_dir: Path, key: str, what: str, count: int, seconds: float) -> None:
    """Keep ``count / seconds`` as the latest ``what`` rate of ``key`` (runs too short to time
    are left out; a cache that cannot be written keeps the older rate)."""
    if not key or seconds <= 0.5 or (what == "pairs_per_s" and count < SCORE_BATCH):
        return
    table = rates(cache_dir)
    table.setdefault(key, {})[what] = round(count / seconds, 3)
    try:
        write_json_atomic(table, _rates_file(cache_dir))
    except OSError:
        pass


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def cost_line(spec: CrossEncoderSpec, folds_to_train: int, pairs: int | None,
              measured: dict) -> str:
    """What a teacher will cost, in one line: training steps (folds not cached), pairs to
    score at most, and the time that takes at this cache's measured speeds (when measured)."""
    steps = folds_to_train * spec.steps
    name = spec.path or spec.base
    parts = [f"cross-encoder {name} at length {spec.max_length}"]
    if not spec.path:
        parts.append(f"{folds_to_train} of {max(1, spec.folds)} fold(s) to train x {spec.steps} "
                     f"steps x batch {spec.batch_size}" if steps else
                     f"{max(1, spec.folds)} fold(s) trained before (cached)")
    if pairs is not None:
        parts.append(f"about {pairs:,} (query, doc) pairs to score (cached scores are reused)")
    rate = measured.get(spec.rate_key(), {})
    est = []
    if steps and rate.get("steps_per_s"):
        est.append(steps / rate["steps_per_s"])
    if pairs and rate.get("pairs_per_s"):
        est.append(pairs / rate["pairs_per_s"])
    if est:
        parts.append(f"about {_duration(sum(est))} at the speeds measured here before")
    elif steps or pairs:
        parts.append("no speed measured here yet")
    return "; ".join(parts)
