"""The stages of a run, each a small function over ``RunState`` with declared outputs.

mine -> train -> encode -> retrieve -> audit -> evaluate. ``train`` and ``encode`` differ by
track (``query-side``: query tower only, cached base document vectors; ``full``: the whole
model, corpus re-encoded); the rest is shared.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from negbench.harness.io.atomic import save_model_atomic, write_json_atomic
from negbench.harness.io.digest import sha256_file, sha256_path
from negbench.harness.io.negatives import read_negatives, write_negatives
from negbench.harness.io.trec_files import write_trec_run
from negbench.harness.pipeline.executor import Stage
from negbench.harness.pipeline.false_negatives import false_negative_report
from negbench.harness.pipeline.run_records import write_trained_record
from negbench.harness.pipeline.run_state import RunState
from negbench.harness.pipeline.workspace import base_encodings
from negbench.harness.retrieval.dense_search import retrieve_dense
from negbench.harness.retrieval.device import deterministic
from negbench.harness.retrieval.encoder import model_fingerprint
from negbench.strategies.base import MiningContext


def mining_facts(extra: dict) -> dict:
    """What a sampler reported while mining: JSON scalars (counts such as fallback pairs, the
    teacher's description) and the input file's sha256 (no heavy objects)."""
    facts = {k: v for k, v in extra.items() if not k.startswith("_")
             and k not in ("cache_dir", "parent_map") and isinstance(v, (str, int, float, bool))}
    if extra.get("input_file"):
        facts["input_file"] = str(extra["input_file"])
        facts["input_sha256"] = sha256_path(Path(extra["input_file"]))  # file or dataset
    return facts


# -- mine ------------------------------------------------------------------------------------
def _neg_path(s: RunState) -> Path:
    return (s.out / "negatives" / f"{s.cfg.key}.jsonl" if s.sampler.uses_negatives
            else s.work / "pairs.jsonl")


def mining_context(s: RunState) -> MiningContext:
    """What a sampler mines with (also handed to its training plan)."""
    data, ws, cfg = s.ws.data, s.ws, s.cfg
    return MiningContext(corpus=data.corpus, train=data.train, exclude=data.exclude,
                         seed=cfg.seed, max_length=cfg.budget.eval_max_length,
                         dense=lambda: ws.base_encoder, bm25=lambda: ws.bm25,
                         extra={"cache_dir": ws.cache_dir, "parent_map": data.parents},
                         device=ws.device, teacher_cap=cfg.budget.sampler_teacher,
                         progress=ws.progress, search=cfg.search)


def mine(s: RunState) -> tuple[list[Path], dict]:
    from negbench.harness.io.negatives import check_negatives
    from negbench.harness.training.mined import check_mined
    from negbench.strategies.base import training_pairs

    data, ws, cfg = s.ws.data, s.ws, s.cfg
    ctx = mining_context(s)
    before = base_encodings(ws)
    s.rows = s.sampler.mine(ctx)
    if ctx.extra.get("input_file") and ctx.extra.get("input_format", "negbench") == "negbench":
        # a user's negatives file: errors name its lines
        read_negatives(Path(ctx.extra["input_file"]), data.corpus, data.exclude)
    check_negatives(s.rows, data.corpus, data.exclude, f"sampler {cfg.sampler}")
    check_mined(cfg.sampler, s.sampler.uses_negatives, s.rows, training_pairs(data.train),
                int(ctx.extra.get("fallback_pairs", 0)))
    s.neg_path = _neg_path(s)
    s.neg_sha = write_negatives(s.rows, s.neg_path)
    calls = sum(base_encodings(ws).values()) - sum(before.values())
    s.mining = {"encode_calls": calls, **mining_facts(ctx.extra)}
    return [s.neg_path], {"rows": len(s.rows), **s.mining}


def restore_mine(s: RunState, entry: dict) -> None:
    data = s.ws.data
    s.neg_path = _neg_path(s)
    s.rows = read_negatives(s.neg_path, data.corpus, data.exclude)
    s.neg_sha = entry["sha256"][0]
    facts = dict(entry.get("facts", {}))
    facts.pop("rows", None)
    s.mining = facts


# -- train -----------------------------------------------------------------------------------
def _pairs(s: RunState):
    from negbench.harness.training.pairs import training_pairs

    n_neg = s.cfg.budget.negatives_per_example if s.sampler.uses_negatives else 0
    data = s.ws.data
    return training_pairs(s.rows, data.corpus, data.train, n_neg, data.exclude)


def _prompts(s: RunState):
    """The run's query/document prompts (its config), as the encoders apply them."""
    from negbench.harness.retrieval.prompts import Prompts

    return Prompts.from_dict(s.cfg.prompts)


def _plan(s: RunState):
    """The sampler's training plan (batches, refreshes) or the static default."""
    from negbench.harness.training.dynamic import TrainingPlan

    s.sampler.check_track(s.cfg.track)
    return (s.sampler.training_plan(mining_context(s), s.cfg.budget, s.cfg.track)
            or TrainingPlan())


def _loss(s: RunState):
    """The run's loss (``RunConfig.loss`` with its parameters)."""
    from negbench.harness.training.losses import get_loss

    return get_loss(s.cfg.loss, s.cfg.loss_params)


def _progress_hook(path: Path):
    def hook(step: int, total: int) -> None:
        write_json_atomic({"step": step, "max_steps": total}, path)

    return hook


def _save(s: RunState, model) -> None:
    save_model_atomic(model, s.model_dir)


def train_full(s: RunState) -> tuple[list[Path], dict]:
    from transformers import TrainerCallback

    from negbench.harness.retrieval.models import load_model
    from negbench.harness.training.full import train_full as fit

    cfg, ws = s.cfg, s.ws
    pairs = _pairs(s)
    plan = _plan(s)  # before seeding: building it may train a (cached) cross-encoder
    deterministic(cfg.seed, ws.device)  # the same RNG state whether or not mining was resumed
    model = load_model(cfg.model, trust_remote_code=cfg.trust_remote_code, device=ws.device)
    hook = _progress_hook(s.work / "train_progress.json")

    class _Progress(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            hook(state.global_step, state.max_steps)

    steps = fit(model, pairs, cfg.budget, cfg.seed, s.work / "trainer", ws.device,
                cfg.precision, cfg.in_batch_mask, callbacks=[*s.callbacks, _Progress()],
                progress=ws.progress, plan=plan, corpus=ws.data.corpus,
                exclude=ws.data.exclude, prompts=_prompts(s), loss=_loss(s))
    _save(s, model)
    shutil.rmtree(s.work / "trainer", ignore_errors=True)
    s.train = {"train_examples": len(pairs), "steps": steps,
               "fingerprint": model_fingerprint(model),
               **plan.facts(pairs, cfg.budget.batch_size)}
    return [s.model_dir], s.train


def base_doc_vectors(ws, budget) -> tuple[np.ndarray, Path]:
    """The base model's corpus vectors at the eval length: encoded once per (model, corpus,
    length) in the content-addressed cache and shared by every run (mining uses them too)."""
    texts = ws.data.corpus.texts()
    emb = ws.base_encoder.encode(texts, "doc", budget.eval_max_length)
    return emb, ws.base_encoder.path(texts, "doc", budget.eval_max_length)


def train_query_side(s: RunState) -> tuple[list[Path], dict]:
    from negbench.harness.retrieval.models import load_model
    from negbench.harness.training.query_side import train_query_side as fit

    cfg, ws = s.cfg, s.ws
    pairs = _pairs(s)
    plan = _plan(s)  # before seeding: building it may train a (cached) cross-encoder
    deterministic(cfg.seed, ws.device)  # the same RNG state whether or not mining was resumed
    doc_emb, doc_path = base_doc_vectors(ws, cfg.budget)
    generated = sorted({t for c, col in enumerate(pairs.negative_texts)
                        for t, d in zip(col, pairs.doc_ids[c + 1]) if d is None})
    extra = ({t: v for t, v in zip(generated, ws.base_encoder.encode(
        generated, "doc", cfg.budget.eval_max_length))} if generated else {})
    model = load_model(cfg.model, trust_remote_code=cfg.trust_remote_code, device=ws.device)
    drow = {d: i for i, d in enumerate(ws.data.corpus.ids)}
    steps = fit(model, pairs, doc_emb, drow, extra, cfg.budget, cfg.seed, ws.device,
                cfg.precision, cfg.in_batch_mask,
                hooks=[_progress_hook(s.work / "train_progress.json")], progress=ws.progress,
                plan=plan, corpus=ws.data.corpus, exclude=ws.data.exclude,
                prompts=_prompts(s), loss=_loss(s))
    _save(s, model)
    s.train = {"train_examples": len(pairs), "steps": steps,
               "fingerprint": model_fingerprint(model),
               "document_tower_fingerprint": ws.base_encoder.fingerprint,
               "document_vectors_sha256": sha256_file(doc_path),
               "generated_negative_texts": len(generated),
               **plan.facts(pairs, cfg.budget.batch_size)}
    return [s.model_dir], s.train


def restore_train(s: RunState, entry: dict) -> None:
    s.train = dict(entry.get("facts", {}))


# -- encode ----------------------------------------------------------------------------------
def _trained_encoder(s: RunState):
    from negbench.harness.retrieval.models import load_model

    model = load_model(str(s.model_dir), trust_remote_code=s.cfg.trust_remote_code,
                       device=s.ws.device)
    return s.ws.encoder_for(model)


def _test_queries(s: RunState) -> tuple[list[str], list[str]]:
    test = s.ws.data.test
    qids = sorted(test.queries)
    return qids, [test.queries[q] for q in qids]


def encode_full(s: RunState) -> tuple[list[Path], dict]:
    """Corpus and test queries at the eval length with the trained model."""
    enc = _trained_encoder(s)
    length = s.cfg.budget.eval_max_length
    texts = s.ws.data.corpus.texts()
    _, queries = _test_queries(s)
    enc.encode(texts, "doc", length)
    enc.encode(queries, "query", length)
    s.doc_path, s.q_path = enc.path(texts, "doc", length), enc.path(queries, "query", length)
    return [s.doc_path, s.q_path], {}


def encode_query_side(s: RunState) -> tuple[list[Path], dict]:
    """Only the test queries, with the trained query tower; documents are the cached base
    vectors (no corpus re-encode)."""
    enc = _trained_encoder(s)
    _, queries = _test_queries(s)
    length = s.cfg.budget.query_max_length
    enc.encode(queries, "query", length)
    _, s.doc_path = base_doc_vectors(s.ws, s.cfg.budget)
    s.q_path = enc.path(queries, "query", length)
    return [s.doc_path, s.q_path], {}


def restore_encode(s: RunState, entry: dict) -> None:
    s.doc_path, s.q_path = (s.out / p if not Path(p).is_absolute() else Path(p)
                            for p in entry["path"])


# -- retrieve --------------------------------------------------------------------------------
def retrieve(s: RunState) -> tuple[list[Path], dict]:
    qids, _ = _test_queries(s)
    doc_emb = np.load(s.doc_path, allow_pickle=False)
    q_emb = np.load(s.q_path, allow_pickle=False)
    run = retrieve_dense(s.ws.data, qids, q_emb, doc_emb, s.cfg.budget.retrieve_k, s.ws.device)
    s.run_path = s.out / "runs" / f"{s.cfg.key}.trec"
    write_trec_run(run, s.run_path, s.cfg.key)
    return [s.run_path], {}


def restore_retrieve(s: RunState, entry: dict) -> None:
    s.run_path = s.out / "runs" / f"{s.cfg.key}.trec"


# -- audit: false-negative accounting of the mined negatives ----------------------------------
def audit(s: RunState) -> tuple[list[Path], dict]:
    s.fn_report = (false_negative_report(s.rows, s.ws.data.exclude, s.ws.teacher(s.cfg.budget))
                   if s.sampler.uses_negatives else None)
    return [], {"false_negatives": s.fn_report}


def restore_audit(s: RunState, entry: dict) -> None:
    s.fn_report = entry.get("facts", {}).get("false_negatives")


# -- evaluate: the record, always scored from the run file as written -------------------------
def evaluate(s: RunState) -> tuple[list[Path], dict]:
    rec_path = write_trained_record(s)
    return [rec_path], {}


def _nothing(s: RunState, entry: dict) -> None:
    return None


TRACK_STAGES: dict[str, list[Stage]] = {
    "full": [Stage("mine", mine, restore_mine), Stage("train", train_full, restore_train),
             Stage("encode", encode_full, restore_encode),
             Stage("retrieve", retrieve, restore_retrieve), Stage("audit", audit, restore_audit),
             Stage("evaluate", evaluate, _nothing)],
    "query-side": [Stage("mine", mine, restore_mine),
                   Stage("train", train_query_side, restore_train),
                   Stage("encode", encode_query_side, restore_encode),
                   Stage("retrieve", retrieve, restore_retrieve),
                   Stage("audit", audit, restore_audit), Stage("evaluate", evaluate, _nothing)],
}
STAGES = tuple(s.name for s in TRACK_STAGES["full"])
