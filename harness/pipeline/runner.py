"""One run = a pure function of its ``RunConfig``: the track's stages (mine -> train -> encode
-> retrieve -> audit -> evaluate, see ``harness.pipeline``) run by the stage executor.

Every stage writes its output atomically and is recorded in a per-run manifest
(``<out>/work/<key>/manifest.json``), so a run killed at any point resumes at the unfinished
stage; a grid re-run skips (sampler, seed) runs whose record exists with the same config hash.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from negbench.harness.io.atomic import is_stale_temp, mkdtemp_beside
from negbench.harness.training.budget import Budget
from negbench.harness.evaluation.conventions import get_profile
from negbench.harness.retrieval.dense_search import search_run
from negbench.harness.evaluation.evaluate import Evaluation, evaluate_run
from negbench.harness.data.fingerprint import FIELD as FINGERPRINT
from negbench.harness.data.fingerprint import matches
from negbench.harness.evaluation.measures import parse_measures
from negbench.harness.pipeline.executor import (  # noqa: F401 - re-exported for tests/tools
    CRASH_ENV,
    InjectedCrash,
    Manifest,
    StageLog,
    run_stages,
    sha256_tree,
)
from negbench.harness.pipeline.stages import STAGES, TRACK_STAGES, RunState, base_encodings
from negbench.harness.evaluation.records import (
    SCHEMA,
    library_versions,
    peak_rss_mb,
    read_record,
    rss_provenance,
    write_record,
    write_trec_run,
)
from negbench.harness.io.trec_files import read_trec_run
from negbench.harness.pipeline.workspace import Workspace
from negbench.strategies.registry import get_sampler

__all__ = ["CRASH_ENV", "STAGES", "InjectedCrash", "RunConfig", "execute_run", "is_done"]


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines one run's result. The device is not part of it (records
    state it); the training precision is."""

    suite: str
    sampler: str
    params: dict
    seed: int
    budget: Budget
    model: str
    trust_remote_code: bool = False  # run the model folder's own Python code (opt-in)
    track: str = "query-side"
    precision: str = "fp32"
    in_batch_mask: bool = False  # STAR's rel_pair_mask in the loss
    prompts: dict = dataclasses.field(default_factory=dict)  # non-empty query/document prompts

    @property
    def key(self) -> str:
        return f"{self.sampler}-seed{self.seed}"

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["budget"] = self.budget.to_dict()
        d["budget"].pop("seeds")  # the default seed list does not change a single run
        d["budget"].pop("teacher_steps")  # FN accounting reads the run; it does not change it
        d["budget"].pop("track")  # the run's track is ``track``
        if not self.trust_remote_code:
            d.pop("trust_remote_code")
        if not self.prompts:  # records without prompts keep their config hashes
            d.pop("prompts")
        return d

    def config_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def _record(ws: Workspace, kind: str, name: str, ev: Evaluation, timings: dict,
            extra: dict) -> dict:
    profile = get_profile(ws.suite.profile)
    return {
        "schema": SCHEMA,
        "kind": kind,
        "name": name,
        "suite": ws.suite.name,
        "split": ws.suite.test,
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


def retrieve_dense(ws: Workspace, qids: list[str], q_emb, doc_emb, k: int,
                   device: str = "cpu") -> dict:
    """Exact search, restricted to each query's candidate pool when the suite has one."""
    data = ws.data
    run = search_run(qids, q_emb, data.corpus.ids, doc_emb, data.retrieval_depth(k), device)
    return {q: hits[:k] for q, hits in data.restrict_run(run).items()}


def _timed(fn, seconds: dict, name: str):
    import time

    t0 = time.perf_counter()
    result = fn()
    seconds[name] = round(time.perf_counter() - t0, 3)
    return result


def zero_shot_bm25(ws: Workspace, budget: Budget, out: Path) -> dict:
    """Reference row: pyserini BM25 (k1=0.9, b=0.4, flat) on the test split."""
    seconds: dict = {}

    def search():
        depth = ws.data.retrieval_depth(budget.retrieve_k)
        run = ws.data.restrict_run(ws.bm25.search(ws.data.test.queries, depth))
        return {q: hits[:budget.retrieve_k] for q, hits in run.items()}

    run = _timed(search, seconds, "index+retrieve")
    run_path = out / "runs" / "zeroshot-bm25.trec"
    write_trec_run(run, run_path, "bm25")
    ev = _timed(lambda: _evaluate(ws, read_trec_run(run_path)), seconds, "evaluate")
    extra = {"zero_shot": {"system": "bm25", "k1": ws.bm25.k1, "b": ws.bm25.b,
                           "index": "pyserini Lucene flat (title + text)"},
             "budget": {"retrieve_k": budget.retrieve_k}}
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
    run = _timed(lambda: retrieve_dense(ws, qids, q_emb, doc_emb, budget.retrieve_k,
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


def save_model_atomic(model, dst: Path) -> None:
    """Save a SentenceTransformer to a temp folder beside ``dst``, then rename it into place."""
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    for stale in [*dst.parent.glob(f"{dst.name}.tmp-*"), *dst.parent.glob(f"{dst.name}~*.tmp")]:
        if is_stale_temp(stale) or ".tmp-" in stale.name:  # .tmp-*: named before writers were
            shutil.rmtree(stale, ignore_errors=True)
    tmp = mkdtemp_beside(dst)
    model.save(str(tmp))
    if dst.exists():
        shutil.rmtree(dst)
    os.replace(tmp, dst)


def deterministic(seed: int, device: str = "cpu") -> None:
    """Seed python/numpy/torch; on the CPU also make torch pick deterministic kernels (CPU
    results repeat bit for bit). On a GPU only the seeds are set: deterministic CUDA kernels
    are slower and some are missing, so GPU results repeat up to kernel non-determinism."""
    from transformers import enable_full_determinism, set_seed

    if device == "cpu":
        enable_full_determinism(seed)
    else:
        set_seed(seed)


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
    rec = _record(ws, "trained", cfg.sampler, ev, timings, extra)
    rec_path = s.out / "records" / f"{cfg.key}.json"
    write_record(rec, rec_path)
    return rec_path


def execute_run(cfg: RunConfig, ws: Workspace, out: Path, callbacks=(),
                keep_model: bool = False, stop_after: str | None = None) -> dict | None:
    """Run ``cfg``'s track stage by stage, resuming from ``<out>/work/<key>/manifest.json``.

    ``stop_after`` (a stage name) leaves the run unfinished after that stage and returns None;
    running it again without ``stop_after`` finishes it (e.g. mine on a CPU node, train on a
    GPU node).

    The work folder (manifest, trained model) is deleted once the record is written; with
    ``keep_model`` the trained model (query tower on the query-side track) is first moved to
    ``<out>/models/<key>``.
    """
    out = Path(out)
    stages = TRACK_STAGES[cfg.track]
    state = RunState(cfg=cfg, ws=ws, out=out, sampler=get_sampler(cfg.sampler).from_dict(
        cfg.params), callbacks=tuple(callbacks))
    manifest = Manifest(out, cfg.key, cfg.config_hash(), [s.name for s in stages],
                        ws.data_fingerprint)
    deterministic(cfg.seed, ws.device)
    state.log = StageLog()
    state.encodings_at_start = base_encodings(ws)
    run_stages(stages, state, manifest, cfg.key, state.log, stop_after)
    if stop_after is not None and stop_after != stages[-1].name:
        return None
    if keep_model:
        kept = out / "models" / cfg.key
        shutil.rmtree(kept, ignore_errors=True)
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(state.model_dir), str(kept))
    shutil.rmtree(state.work, ignore_errors=True)
    try:
        state.work.parent.rmdir()  # only when no other run left work behind
    except OSError:
        pass
    return read_record(out / "records" / f"{cfg.key}.json")


def is_done(cfg: RunConfig, out: Path, data_fingerprint: str) -> bool:
    """The run's record exists with the same config hash and the same data fingerprint (a
    record without one, or from other data, is redone). A record that fails ``read_record``
    (malformed, edited) is refused naming the file, as ``report`` does: it is neither reused
    nor overwritten."""
    path = out / "records" / f"{cfg.key}.json"
    if not path.exists():
        return False
    rec = read_record(path)
    return rec.get("config_hash") == cfg.config_hash() and matches(rec, data_fingerprint)
