"""One run = a pure function of its ``RunConfig``: mine -> train -> encode -> retrieve -> evaluate.

Stages write atomically; a grid re-run skips (sampler, seed) runs whose record already exists
with the same config hash.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from negbench.harness.budget import Budget
from negbench.harness.conventions import get_profile
from negbench.harness.dense_search import search_run
from negbench.harness.evaluate import Evaluation, evaluate_run
from negbench.harness.measures import parse_measures
from negbench.harness.negatives import check_negatives, write_negatives
from negbench.harness.records import (
    SCHEMA,
    library_versions,
    peak_rss_mb,
    write_json_atomic,
    write_trec_run,
)
from negbench.harness.workspace import Workspace
from negbench.strategies.base import MiningContext
from negbench.strategies.registry import get_sampler


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines one run's result."""

    suite: str
    sampler: str
    params: dict
    seed: int
    budget: Budget
    model: str

    @property
    def key(self) -> str:
        return f"{self.sampler}-seed{self.seed}"

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["budget"] = self.budget.to_dict()
        d["budget"].pop("seeds")  # the default seed list does not change a single run
        return d

    def config_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class Timer:
    seconds: dict = field(default_factory=dict)

    def stage(self, name: str):
        timer = self

        class _Stage:
            def __enter__(self):
                self.t0 = time.perf_counter()

            def __exit__(self, *exc):
                timer.seconds[name] = round(time.perf_counter() - self.t0, 3)

        return _Stage()


def _record(ws: Workspace, kind: str, name: str, ev: Evaluation, timings: dict,
            extra: dict) -> dict:
    profile = get_profile(ws.suite.profile)
    return {
        "schema": SCHEMA,
        "kind": kind,
        "name": name,
        "suite": ws.suite.name,
        "split": ws.suite.test,
        "metrics": ev.means,
        "num_queries": ev.num_queries,
        "num_missing_queries": ev.num_missing,
        "conventions": {"profile": profile.name, "description": profile.description,
                        "retrieve_k": extra.get("budget", {}).get("retrieve_k")},
        **extra,
        "timings_s": timings,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "versions": library_versions(),
        "per_query": ev.per_query,
    }


def _evaluate(ws: Workspace, run) -> Evaluation:
    return evaluate_run(ws.data.test.qrels, run, parse_measures(ws.suite.measures),
                        get_profile(ws.suite.profile))


def dense_test_run(ws: Workspace, encoder, budget: Budget, timer: Timer) -> dict:
    """Encode corpus + test queries at the eval length and search exactly with faiss."""
    test = ws.data.test
    qids = sorted(test.queries)
    with timer.stage("encode"):
        doc_emb = encoder.encode(ws.data.corpus.texts(), "doc", budget.eval_max_length)
        q_emb = encoder.encode([test.queries[q] for q in qids], "query", budget.eval_max_length)
    with timer.stage("retrieve"):
        return search_run(qids, q_emb, ws.data.corpus.ids, doc_emb, budget.retrieve_k)


def zero_shot_bm25(ws: Workspace, budget: Budget, out: Path) -> dict:
    """Reference row: pyserini BM25 (k1=0.9, b=0.4, flat) on the test split."""
    timer = Timer()
    with timer.stage("index+retrieve"):
        run = ws.bm25.search(ws.data.test.queries, budget.retrieve_k)
    write_trec_run(run, out / "runs" / "zeroshot-bm25.trec", "bm25")
    with timer.stage("evaluate"):
        ev = _evaluate(ws, run)
    extra = {"zero_shot": {"system": "bm25", "k1": ws.bm25.k1, "b": ws.bm25.b,
                           "index": "pyserini Lucene flat (title + text)"},
             "budget": {"retrieve_k": budget.retrieve_k}}
    rec = _record(ws, "zero-shot", "BM25", ev, timer.seconds, extra)
    write_json_atomic(rec, out / "records" / "zeroshot-bm25.json")
    return rec


def zero_shot_model(ws: Workspace, budget: Budget, out: Path) -> dict:
    """Reference row: the untouched base model at the budget's eval length."""
    timer = Timer()
    run = dense_test_run(ws, ws.base_encoder, budget, timer)
    write_trec_run(run, out / "runs" / "zeroshot-model.trec", "base-model")
    with timer.stage("evaluate"):
        ev = _evaluate(ws, run)
    extra = {"zero_shot": {"system": "model", "model": ws.model_name,
                           "fingerprint": ws.base_encoder.fingerprint},
             "model": ws.model_name,
             "budget": {"eval_max_length": budget.eval_max_length,
                        "retrieve_k": budget.retrieve_k}}
    rec = _record(ws, "zero-shot", f"{ws.model_name}", ev, timer.seconds, extra)
    write_json_atomic(rec, out / "records" / "zeroshot-model.json")
    return rec


def execute_run(cfg: RunConfig, ws: Workspace, out: Path, callbacks=()) -> dict:
    """Mine negatives, train from the base model under the fixed budget, retrieve, evaluate."""
    from negbench.harness.models import load_model
    from negbench.harness.train import train, training_dataset

    sampler = get_sampler(cfg.sampler).from_dict(cfg.params)
    data = ws.data
    timer = Timer()
    ctx = MiningContext(corpus=data.corpus, train=data.train, exclude=data.exclude,
                        seed=cfg.seed, max_length=cfg.budget.eval_max_length,
                        dense=lambda: ws.base_encoder, bm25=lambda: ws.bm25)
    calls_before = ws.base_encoder.calls if "base_encoder" in ws.__dict__ else 0
    with timer.stage("mine"):
        rows = sampler.mine(ctx)
        check_negatives(rows, data.corpus, data.exclude, f"sampler {cfg.sampler}")
    neg_path = out / "negatives" / f"{cfg.key}.jsonl"
    neg_sha = write_negatives(rows, neg_path) if sampler.uses_negatives else None
    encode_calls = (ws.base_encoder.calls if "base_encoder" in ws.__dict__ else 0) - calls_before

    n_neg = cfg.budget.negatives_per_example if sampler.uses_negatives else 0
    dataset = training_dataset(rows, data.corpus, data.train, n_neg)
    model = load_model(cfg.model)
    scratch = out / "work" / cfg.key
    with timer.stage("train"):
        train(model, dataset, cfg.budget, cfg.seed, scratch, callbacks=callbacks,
              progress=ws.progress)
    encoder = ws.encoder_for(model)
    run = dense_test_run(ws, encoder, cfg.budget, timer)
    write_trec_run(run, out / "runs" / f"{cfg.key}.trec", cfg.key)
    with timer.stage("evaluate"):
        ev = _evaluate(ws, run)
    shutil.rmtree(scratch, ignore_errors=True)
    extra = {
        "sampler": {"name": cfg.sampler, "params": sampler.params_dict(),
                    "description": sampler.description()},
        "seed": cfg.seed,
        "model": cfg.model,
        "base_model_fingerprint": ws.base_encoder.fingerprint,
        "trained_model_fingerprint": encoder.fingerprint,
        "budget": cfg.budget.to_dict(),
        "train_examples": len(dataset),
        "negatives": {"file": str(neg_path.relative_to(out)) if neg_sha else None,
                      "sha256": neg_sha, "rows": len(rows)},
        "mining": {"encode_calls": encode_calls},
        "config_hash": cfg.config_hash(),
        "config": cfg.to_dict(),
    }
    rec = _record(ws, "trained", cfg.sampler, ev, timer.seconds, extra)
    write_json_atomic(rec, out / "records" / f"{cfg.key}.json")
    return rec


def is_done(cfg: RunConfig, out: Path) -> bool:
    path = out / "records" / f"{cfg.key}.json"
    if not path.exists():
        return False
    try:
        return json.loads(path.read_text()).get("config_hash") == cfg.config_hash()
    except json.JSONDecodeError:
        return False
