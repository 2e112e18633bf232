"""One run = a pure function of its ``RunConfig``: mine -> train -> encode -> retrieve -> evaluate.

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
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from negbench.harness.budget import Budget
from negbench.harness.conventions import get_profile
from negbench.harness.dense_search import search_run
from negbench.harness.evaluate import Evaluation, evaluate_run
from negbench.harness.false_negatives import false_negative_report
from negbench.harness.measures import parse_measures
from negbench.harness.negatives import (
    check_negatives,
    read_negatives,
    sha256_file,
    write_negatives,
)
from negbench.harness.records import (
    SCHEMA,
    library_versions,
    peak_rss_mb,
    write_json_atomic,
    write_trec_run,
)
from negbench.harness.trec_files import read_trec_run
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
    trust_remote_code: bool = False  # run the model folder's own Python code (opt-in)

    @property
    def key(self) -> str:
        return f"{self.sampler}-seed{self.seed}"

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["budget"] = self.budget.to_dict()
        d["budget"].pop("seeds")
        d["budget"].pop("teacher_steps")  # FN accounting reads the run; it does not change it  # the default seed list does not change a single run
        if not self.trust_remote_code:  # keeps config hashes of earlier records valid
            d.pop("trust_remote_code")
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
        "suite_info": ws.data.info,
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
        return retrieve_dense(ws, qids, q_emb, doc_emb, budget.retrieve_k)


def retrieve_dense(ws: Workspace, qids: list[str], q_emb, doc_emb, k: int) -> dict:
    """Exact search, restricted to each query's candidate pool when the suite has one."""
    data = ws.data
    run = search_run(qids, q_emb, data.corpus.ids, doc_emb, data.retrieval_depth(k))
    return {q: hits[:k] for q, hits in data.restrict_run(run).items()}


def zero_shot_bm25(ws: Workspace, budget: Budget, out: Path) -> dict:
    """Reference row: pyserini BM25 (k1=0.9, b=0.4, flat) on the test split."""
    timer = Timer()
    with timer.stage("index+retrieve"):
        depth = ws.data.retrieval_depth(budget.retrieve_k)
        run = ws.data.restrict_run(ws.bm25.search(ws.data.test.queries, depth))
        run = {q: hits[:budget.retrieve_k] for q, hits in run.items()}
    run_path = out / "runs" / "zeroshot-bm25.trec"
    write_trec_run(run, run_path, "bm25")
    with timer.stage("evaluate"):
        ev = _evaluate(ws, read_trec_run(run_path))
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
    run_path = out / "runs" / "zeroshot-model.trec"
    write_trec_run(run, run_path, "base-model")
    with timer.stage("evaluate"):
        ev = _evaluate(ws, read_trec_run(run_path))
    extra = {"zero_shot": {"system": "model", "model": ws.model_name,
                           "fingerprint": ws.base_encoder.fingerprint},
             "model": ws.model_name,
             "trust_remote_code": getattr(ws, "trust_remote_code", False),
             "budget": {"eval_max_length": budget.eval_max_length,
                        "retrieve_k": budget.retrieve_k}}
    rec = _record(ws, "zero-shot", f"{ws.model_name}", ev, timer.seconds, extra)
    write_json_atomic(rec, out / "records" / "zeroshot-model.json")
    return rec


def mining_facts(extra: dict) -> dict:
    """What a sampler reported while mining, for provenance (JSON-safe, no heavy objects)."""
    facts = {k: v for k, v in extra.items() if k in ("teacher", "pairs_without_sibling")}
    if extra.get("input_file"):
        facts["input_file"] = extra["input_file"]
        facts["input_sha256"] = sha256_file(Path(extra["input_file"]))
    return facts


STAGES = ("mine", "train", "encode", "retrieve", "evaluate")
CRASH_ENV = "NEGBENCH_CRASH_AFTER"  # fault injection for the resume tests: a stage name


class InjectedCrash(RuntimeError):
    """Raised after a stage is recorded when ``$NEGBENCH_CRASH_AFTER`` names that stage."""


def sha256_tree(folder: Path) -> str:
    """sha256 over the relative paths and bytes of every file under ``folder``."""
    h = hashlib.sha256()
    for p in sorted(q for q in Path(folder).rglob("*") if q.is_file()):
        h.update(str(p.relative_to(folder)).encode())
        h.update(b"\0")
        h.update(sha256_file(p).encode())
    return h.hexdigest()


class Manifest:
    """Per-run stage ledger ``<out>/work/<key>/manifest.json``.

    Each finished stage maps to its output path (relative to ``out`` when inside it), sha256,
    the run's config hash and stage facts (timing, counts). A stage counts as done only when
    its entry has the current config hash and its output still hashes to the recorded sha256;
    a stage that is redone invalidates every later stage.
    """

    def __init__(self, out: Path, key: str, config_hash: str) -> None:
        self.out = Path(out)
        self.path = self.out / "work" / key / "manifest.json"
        self.config_hash = config_hash
        self.stages: dict[str, dict] = {}
        self._valid = True
        if self.path.exists():
            try:
                raw = json.loads(self.path.read_text())
            except (json.JSONDecodeError, OSError):
                raw = {}
            if raw.get("config_hash") == config_hash:
                self.stages = dict(raw.get("stages", {}))

    def resolve(self, rel: str) -> Path:
        p = Path(rel)
        return p if p.is_absolute() else self.out / p

    def done(self, stage: str) -> dict | None:
        """The stage's entry if it finished under this config and its outputs are intact."""
        entry = self.stages.get(stage) if self._valid else None
        if not entry or entry.get("config_hash") != self.config_hash:
            self._valid = False
            return None
        for rel, sha in zip(entry["path"], entry["sha256"]):
            p = self.resolve(rel)
            if not p.exists() or (sha256_tree(p) if p.is_dir() else sha256_file(p)) != sha:
                self._valid = False
                return None
        return entry

    def mark(self, stage: str, paths: list[Path], **facts) -> None:
        """Record ``stage`` as finished (atomically) and drop every later stage."""
        later = STAGES[STAGES.index(stage) + 1:]
        for s in later:
            self.stages.pop(s, None)
        rels, shas = [], []
        for p in paths:
            p = Path(p)
            rels.append(str(p.relative_to(self.out)) if p.is_relative_to(self.out) else str(p))
            shas.append(sha256_tree(p) if p.is_dir() else sha256_file(p))
        self.stages[stage] = {"path": rels, "sha256": shas, "config_hash": self.config_hash,
                              **facts}
        write_json_atomic({"config_hash": self.config_hash, "stages": self.stages}, self.path)
        if os.environ.get(CRASH_ENV) == stage:
            raise InjectedCrash(f"{CRASH_ENV}={stage}: stopping right after the {stage} stage")


def _progress_callback(path: Path):
    """A Trainer callback writing ``{"step", "max_steps"}`` to ``path`` after every step."""
    from transformers import TrainerCallback

    class _Progress(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            write_json_atomic({"step": state.global_step, "max_steps": state.max_steps}, path)

    return _Progress()


def save_model_atomic(model, dst: Path) -> None:
    """Save a SentenceTransformer to a temp folder beside ``dst``, then rename it into place."""
    dst = Path(dst)
    for stale in dst.parent.glob(f"{dst.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(dir=dst.parent, prefix=f"{dst.name}.tmp-"))
    model.save(str(tmp))
    if dst.exists():
        shutil.rmtree(dst)
    os.replace(tmp, dst)


def deterministic(seed: int) -> None:
    """Seed python/numpy/torch and make torch pick deterministic kernels (CPU results repeat)."""
    from transformers import enable_full_determinism

    enable_full_determinism(seed)


def execute_run(cfg: RunConfig, ws: Workspace, out: Path, callbacks=(),
                keep_model: bool = False) -> dict:
    """Mine negatives, train from the base model under the fixed budget, retrieve, evaluate.

    Each stage writes its output atomically and records it in ``<out>/work/<key>/manifest.json``;
    calling again after a crash reuses finished stages and redoes the rest. The work folder
    (manifest, trained model) is deleted once the record is written; with ``keep_model`` the
    trained model is first moved to ``<out>/models/<key>`` (e.g. for ``negbench source-bias``).
    """
    from negbench.harness.models import load_model
    from negbench.harness.train import train, training_dataset

    out = Path(out)
    sampler = get_sampler(cfg.sampler).from_dict(cfg.params)
    data = ws.data
    timer = Timer()
    work = out / "work" / cfg.key  # created by the first manifest entry, not before
    manifest = Manifest(out, cfg.key, cfg.config_hash())
    done: dict[str, dict] = {}  # the finished prefix of STAGES
    for stage in STAGES:
        entry = manifest.done(stage)
        if entry is None:
            break
        done[stage] = entry
    reused = [s for s in STAGES if s in done and s != "evaluate"]
    if reused:
        print(f"[negbench] {cfg.key}: resuming, reusing finished stage(s) {', '.join(reused)}",
              file=sys.stderr)
    for stage in reused:
        timer.seconds[stage] = done[stage]["seconds"]
    deterministic(cfg.seed)

    # -- mine: the negatives file (in-batch: the training pairs, kept in the work folder)
    neg_path = (out / "negatives" / f"{cfg.key}.jsonl" if sampler.uses_negatives
                else work / "pairs.jsonl")
    if "mine" in done:
        rows = read_negatives(neg_path, data.corpus, data.exclude)
        neg_sha, encode_calls = done["mine"]["sha256"][0], done["mine"]["encode_calls"]
        mine_facts = done["mine"].get("facts", {})
    else:
        ctx = MiningContext(corpus=data.corpus, train=data.train, exclude=data.exclude,
                            seed=cfg.seed, max_length=cfg.budget.eval_max_length,
                            dense=lambda: ws.base_encoder, bm25=lambda: ws.bm25,
                            extra={"cache_dir": ws.cache_dir, "parent_map": data.parents})
        calls_before = ws.base_encoder.calls if "base_encoder" in ws.__dict__ else 0
        with timer.stage("mine"):
            rows = sampler.mine(ctx)
            if ctx.extra.get("input_file"):  # a user's negatives file: errors name its lines
                read_negatives(Path(ctx.extra["input_file"]), data.corpus, data.exclude)
            check_negatives(rows, data.corpus, data.exclude, f"sampler {cfg.sampler}")
        neg_sha = write_negatives(rows, neg_path)
        encode_calls = (ws.base_encoder.calls if "base_encoder" in ws.__dict__ else 0) - calls_before
        mine_facts = mining_facts(ctx.extra)
        manifest.mark("mine", [neg_path], seconds=timer.seconds["mine"], rows=len(rows),
                      encode_calls=encode_calls, facts=mine_facts)
    # ``rows`` (the mined negatives) are available here, fresh or read back on resume.

    # -- train: the fine-tuned model, saved atomically to <work>/model
    model_dir = work / "model"
    if "train" in done:
        train_examples, trained_fp = done["train"]["train_examples"], done["train"]["fingerprint"]
    else:
        n_neg = cfg.budget.negatives_per_example if sampler.uses_negatives else 0
        dataset = training_dataset(rows, data.corpus, data.train, n_neg)
        model = load_model(cfg.model, trust_remote_code=cfg.trust_remote_code)
        cbs = [*callbacks, _progress_callback(work / "train_progress.json")]
        with timer.stage("train"):
            train(model, dataset, cfg.budget, cfg.seed, work / "trainer", callbacks=cbs,
                  progress=ws.progress)
        save_model_atomic(model, model_dir)
        shutil.rmtree(work / "trainer", ignore_errors=True)
        train_examples = len(dataset)
        del model

    # -- encode: corpus + test queries at the eval length, in the content-addressed cache
    test = data.test
    qids = sorted(test.queries)
    if "encode" in done:
        doc_path, q_path = (manifest.resolve(p) for p in done["encode"]["path"])
    else:
        # what is evaluated is exactly the saved model
        encoder = ws.encoder_for(load_model(str(model_dir),
                                            trust_remote_code=cfg.trust_remote_code))
        trained_fp = encoder.fingerprint
        if "train" not in done:
            manifest.mark("train", [model_dir], seconds=timer.seconds["train"],
                          train_examples=train_examples, fingerprint=trained_fp)
        texts = data.corpus.texts()
        queries = [test.queries[q] for q in qids]
        length = cfg.budget.eval_max_length
        with timer.stage("encode"):
            encoder.encode(texts, "doc", length)
            encoder.encode(queries, "query", length)
        doc_path = encoder.cache_dir / f"{encoder.key(texts, 'doc', length)}.npy"
        q_path = encoder.cache_dir / f"{encoder.key(queries, 'query', length)}.npy"
        manifest.mark("encode", [doc_path, q_path], seconds=timer.seconds["encode"])

    # -- retrieve: exact faiss search -> the TREC run file
    run_path = out / "runs" / f"{cfg.key}.trec"
    if "retrieve" not in done:
        with timer.stage("retrieve"):
            doc_emb = np.load(doc_path, allow_pickle=False)
            q_emb = np.load(q_path, allow_pickle=False)
            run = retrieve_dense(ws, qids, q_emb, doc_emb, cfg.budget.retrieve_k)
        write_trec_run(run, run_path, cfg.key)
        manifest.mark("retrieve", [run_path], seconds=timer.seconds["retrieve"])

    # -- false-negative accounting of the mined negatives (teacher scores are cached)
    fn_report = None
    if sampler.uses_negatives:
        with timer.stage("fn_audit"):
            fn_report = false_negative_report(rows, data.exclude, ws.teacher(cfg.budget))

    # -- evaluate: always from the run file as written, so trec_eval on it agrees
    with timer.stage("evaluate"):
        ev = _evaluate(ws, read_trec_run(run_path))
    extra = {
        "sampler": {"name": cfg.sampler, "params": sampler.params_dict(),
                    "description": sampler.description()},
        "seed": cfg.seed,
        "model": cfg.model,
        "trust_remote_code": cfg.trust_remote_code,
        "base_model_fingerprint": ws.base_encoder.fingerprint,
        "trained_model_fingerprint": trained_fp,
        "budget": cfg.budget.to_dict(),
        "train_examples": train_examples,
        "negatives": {"file": str(neg_path.relative_to(out)) if sampler.uses_negatives
                      else None,
                      "sha256": neg_sha if sampler.uses_negatives else None, "rows": len(rows)},
        "mining": {"encode_calls": encode_calls, **mine_facts},
        "false_negatives": fn_report,
        "config_hash": cfg.config_hash(),
        "config": cfg.to_dict(),
        "resumed_stages": reused,
    }
    rec = _record(ws, "trained", cfg.sampler, ev, timer.seconds, extra)
    rec_path = out / "records" / f"{cfg.key}.json"
    write_json_atomic(rec, rec_path)
    manifest.mark("evaluate", [rec_path], seconds=timer.seconds["evaluate"])
    if keep_model:
        kept = out / "models" / cfg.key
        shutil.rmtree(kept, ignore_errors=True)
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(model_dir), str(kept))
    shutil.rmtree(work, ignore_errors=True)
    try:
        work.parent.rmdir()  # only when no other run left work behind
    except OSError:
        pass
    return rec


def is_done(cfg: RunConfig, out: Path) -> bool:
    path = out / "records" / f"{cfg.key}.json"
    if not path.exists():
        return False
    try:
        return json.loads(path.read_text()).get("config_hash") == cfg.config_hash()
    except json.JSONDecodeError:
        return False
