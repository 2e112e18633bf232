"""The records a run writes: a trained run's record (its evaluation with full provenance)
and the zero-shot rows (BM25 and the base model, untrained), all sealed by
``evaluation.records.write_record``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from negbench.harness.data.fingerprint import FIELD as FINGERPRINT
from negbench.harness.evaluation.conventions import get_profile
from negbench.harness.evaluation.evaluate import Evaluation, evaluate_run
from negbench.harness.evaluation.measures import parse_measures
from negbench.harness.evaluation.records import (
    SCHEMA,
    library_versions,
    peak_rss_mb,
    rss_provenance,
    write_record,
)
from negbench.harness.io.trec_files import read_trec_run, write_trec_run
from negbench.harness.pipeline.workspace import Workspace, base_encodings
from negbench.harness.retrieval.dense_search import retrieve_dense
from negbench.harness.training.budget import Budget

if TYPE_CHECKING:
    from negbench.harness.pipeline.run_state import RunState


def _record(ws: Workspace, kind: str, name: str, ev: Evaluation, timings: dict,
            extra: dict) -> dict:
    profile = get_profile(ws.suite.profile)
    return {
        "schema": SCHEMA,
        "kind": kind,
        "name": name,
        "suite": ws.suite.name,
        "split": ws.split_name,  # crossfit-K when cross-fitted
        **({"crossfit": ws.crossfit_info()} if ws.crossfit is not None else {}),
        FINGERPRINT: ws.data_fingerprint,
        "metrics": ev.means,
        "num_queries": ev.num_queries,
        "num_missing_queries": ev.num_missing,
        "conventions": {"profile": profile.name, "description": profile.description,
                        "retrieve_k": extra.get("budget", {}).get("retrieve_k")},
        "suite_info": ws.data.info,
        "data_checks": ws.data_checks,  # e.g. train/test overlap (harness.preflight)
        **extra,
        "timings_s": timings,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "peak_rss": rss_provenance(bool(getattr(ws, "isolated", False))),
        "versions": library_versions(),
        "per_query": ev.per_query,
    }


def _evaluate(ws: Workspace, run) -> Evaluation:
    return evaluate_run(ws.data.test.qrels, run, parse_measures(ws.suite.measures),
                        get_profile(ws.suite.profile))


def _timed(fn, seconds: dict, name: str):
    import time

    t0 = time.perf_counter()
    result = fn()
    seconds[name] = round(time.perf_counter() - t0, 3)
    return result


def zero_shot_bm25(ws: Workspace, budget: Budget, out: Path) -> dict:
    """Reference row: pyserini BM25 (k1=0.9, b=0.4, flat) on the test split. On a reranking
    suite whose candidate lists BM25 ranked, the row is those lists as given (the first stage's
    ranking and scores), not BM25 re-run over the pooled passages, whose statistics differ."""
    seconds: dict = {}
    first_stage = ws.data.first_stage_run("bm25")

    def search():
        if first_stage is not None:
            return {q: hits[:budget.retrieve_k] for q, hits in first_stage.items()}
        depth = ws.data.retrieval_depth(budget.retrieve_k)
        run = ws.data.restrict_run(ws.bm25.search(ws.data.test.queries, depth))
        return {q: hits[:budget.retrieve_k] for q, hits in run.items()}

    run = _timed(search, seconds, "index+retrieve")
    run_path = out / "runs" / "zeroshot-bm25.trec"
    write_trec_run(run, run_path, "bm25")
    ev = _timed(lambda: _evaluate(ws, read_trec_run(run_path)), seconds, "evaluate")
    system = {"system": "bm25", "k1": ws.bm25.k1, "b": ws.bm25.b,
              "index": "pyserini Lucene flat (title + text)"} if first_stage is None else \
        {"system": "bm25", "first_stage": ws.data.info.get("candidate_lists"),
         "index": "the suite's first-stage candidate lists (their ranking and scores)"}
    extra = {"zero_shot": system, "budget": {"retrieve_k": budget.retrieve_k}}
    rec = _record(ws, "zero-shot", "BM25", ev, seconds, extra)
    return write_record(rec, out / "records" / "zeroshot-bm25.json")


def zero_shot_model(ws: Workspace, budget: Budget, out: Path) -> dict:
    """Reference row: the untouched base model, corpus and test queries at the eval length."""
    seconds: dict = {}
    test = ws.data.test
    qids = sorted(test.queries)
    enc = ws.base_encoder

    def encode():
        return (enc.encode(ws.data.corpus.texts(), "doc", budget.eval_max_length),
                enc.encode([test.queries[q] for q in qids], "query", budget.eval_max_length))

    doc_emb, q_emb = _timed(encode, seconds, "encode")
    run = _timed(lambda: retrieve_dense(ws.data, qids, q_emb, doc_emb, budget.retrieve_k,
                                        ws.device), seconds, "retrieve")
    run_path = out / "runs" / "zeroshot-model.trec"
    write_trec_run(run, run_path, "base-model")
    ev = _timed(lambda: _evaluate(ws, read_trec_run(run_path)), seconds, "evaluate")
    extra = {"zero_shot": {"system": "model", "model": ws.model_name,
                           "fingerprint": ws.base_encoder.fingerprint},
             "model": ws.model_name,
             "prompts": ws.prompts.to_dict(),
             "trust_remote_code": getattr(ws, "trust_remote_code", False),
             "device": ws.device_info().to_dict(),
             "budget": {"eval_max_length": budget.eval_max_length,
                        "retrieve_k": budget.retrieve_k}}
    rec = _record(ws, "zero-shot", f"{ws.model_name}", ev, seconds, extra)
    return write_record(rec, out / "records" / "zeroshot-model.json")


def write_trained_record(s: RunState) -> Path:
    """Score the run file and write the run's record with its provenance; returns its path."""
    import time

    cfg, ws = s.cfg, s.ws
    t0 = time.perf_counter()
    ev = _evaluate(ws, read_trec_run(s.run_path))
    timings = {**s.log.seconds, "evaluate": round(time.perf_counter() - t0, 3)}
    uses = s.sampler.uses_negatives
    budget = cfg.budget.to_dict()
    budget["track"] = cfg.track
    extra = {
        "sampler": {"name": cfg.sampler, "params": s.sampler.params_dict(),
                    "description": s.sampler.description()},
        "seed": cfg.seed,
        "track": cfg.track,
        "model": cfg.model,
        "prompts": dict(cfg.prompts),
        "trust_remote_code": cfg.trust_remote_code,
        "device": ws.device_info(cfg.precision).to_dict(),
        "in_batch_mask": cfg.in_batch_mask,
        "method": {"mode": cfg.mode, "loss": cfg.loss, "loss_params": dict(cfg.loss_params),
                   "in_batch_mask": cfg.in_batch_mask,
                   "schedule": s.sampler.get_recipe().schedule},
        "base_model_fingerprint": ws.base_encoder.fingerprint,
        "trained_model_fingerprint": s.train.get("fingerprint"),
        "budget": budget,
        "steps": s.train.get("steps"),
        "train_examples": s.train.get("train_examples"),
        "training": {k: v for k, v in s.train.items()
                     if k not in ("fingerprint", "steps", "train_examples")},
        "negatives": {"file": str(s.neg_path.relative_to(s.out)) if uses else None,
                      "sha256": s.neg_sha if uses else None, "rows": len(s.rows)},
        "mining": s.mining,
        "false_negatives": s.fn_report,
        "config_hash": cfg.config_hash(),
        "config": cfg.to_dict(),
        "resumed_stages": list(s.log.reused),
        "peak_rss_mb_after_stage": dict(s.log.peak_rss_mb),
        # what this run made the base model encode (cache misses): a grid shares one corpus
        # encoding per (model, length), so "doc" is 1 for the first run needing it, else 0
        "base_encodings_computed": {k: v - s.encodings_at_start.get(k, 0)
                                    for k, v in base_encodings(ws).items()},
    }
    if cfg.label:
        extra["label"] = cfg.label
    rec = _record(ws, "trained", cfg.name, ev, timings, extra)
    rec_path = s.out / "records" / f"{cfg.key}.json"
    write_record(rec, rec_path)
    return rec_path
