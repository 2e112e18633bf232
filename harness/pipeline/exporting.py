"""A run's mined negatives for another trainer (``negbench export``, ``negbench.export``): the
record picked and its negatives file checked, the scores of each (query, document) pair taken
from the sampler's cross-encoder teacher or the run's base model, the file written
(``io.negative_formats``)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from negbench.harness.errors import NegbenchError

if TYPE_CHECKING:
    from negbench.harness.io.negatives import NegativeRow

log = logging.getLogger(__name__)

SCORES = ("auto", "teacher", "model", "none")  # where FlagEmbedding's pos/neg_scores come from


def pick_record(run_dir: Path, sampler: str | None, seed: int | None) -> dict:
    """The one trained record of ``run_dir`` with a negatives file (narrowed by sampler and
    seed); several or none is an error listing the choices."""
    from negbench.harness.evaluation.records import read_records

    if not (run_dir / "records").is_dir():
        raise NegbenchError(f"{run_dir}: no records/ folder (give the --output of a run)")
    found = [r for r in read_records(run_dir) if r.get("kind") == "trained"
             and (r.get("negatives") or {}).get("file")
             and sampler in (None, r.get("name")) and seed in (None, r.get("seed"))]
    if len(found) != 1:
        choices = ", ".join(f"{r['name']} seed {r['seed']}" for r in found)
        raise NegbenchError(
            f"{run_dir}: {len(found)} runs with mined negatives match"
            + (f" ({choices}); pick one with --sampler NAME --seed N" if found else ""))
    return found[0]


def run_workspace(rec: dict, data_root: str | Path | None, cache_dir: str | Path | None,
                  device: str):
    """The workspace the record's run mined in: its suite, model, prompts, encoding precision
    (and fold)."""
    from negbench.harness.data.paths import given_root
    from negbench.harness.pipeline.workspace import Workspace
    from negbench.harness.retrieval.device import resolve_device
    from negbench.suites.registry import get_suite

    prompts = rec.get("prompts") or {}
    ws = Workspace(get_suite(rec["suite"]), given_root(data_root),
                   Path(cache_dir) if cache_dir else None, model=rec.get("model"),
                   progress=False, trust_remote_code=bool(rec.get("trust_remote_code")),
                   device=resolve_device(device), query_prompt=prompts.get("query", ""),
                   doc_prompt=prompts.get("document", ""),
                   # a bf16 CPU run mined with bf16 vectors: encode as it did
                   precision=(rec.get("device") or {}).get("encoding_precision", "fp32"))
    cf = rec.get("crossfit")
    if isinstance(cf, dict) and cf.get("fold") is not None:  # a cross-fitted fold's run
        ws.cross_fit(int(cf["folds"]), int(cf.get("seed", 0)))
        if ws.crossfit.sha256 != cf.get("assignment_sha256"):
            raise NegbenchError(f"{rec['suite']}: the folds differ from the run's")
        ws = ws.view(int(cf["fold"]))
    return ws


def _teacher(rec: dict, ctx):
    """The cross-encoder teacher the record's sampler mined with, or None."""
    from negbench.strategies.registry import get_sampler
    from negbench.strategies.teacher_params import TeacherParams

    if not (rec.get("mining") or {}).get("teacher"):
        return None
    cfg = rec.get("config") or {}
    try:
        sampler = get_sampler(cfg.get("sampler") or rec["name"]).from_dict(cfg.get("params", {}))
    except (NegbenchError, KeyError):
        return None
    if not isinstance(sampler.params, TeacherParams):
        return None
    return sampler.params.teacher_scorer(ctx)


def pair_scores(rows: list[NegativeRow], rec: dict, ws, source: str = "auto"
                ) -> tuple[dict[tuple[str, str], tuple[float, list[float]]], str]:
    """Per (query, positive): the positive's score and each negative's (ids, then generated
    texts), and what gave them: ``teacher`` (the sampler's cross-encoder, as it scored),
    ``model`` (the run's base model at the budget's eval length, with its prompts: the dot
    product the dense miners rank by); ``auto`` is the teacher when the sampler mined with one."""
    import numpy as np

    from negbench.harness.training.budget import TeacherCap
    from negbench.strategies.base import MiningContext
    from negbench.strategies.dense_candidates import DenseRanker

    data = ws.data
    max_length = int((rec.get("budget") or {}).get("eval_max_length")
                     or (rec.get("config") or {}).get("budget", {}).get("eval_max_length"))
    cap = (rec.get("budget") or {}).get("sampler_teacher")  # a smoke run's teacher: as it was
    ctx = MiningContext(corpus=data.corpus, train=data.train, exclude=data.exclude,
                        seed=int(rec.get("seed") or 0), max_length=max_length,
                        dense=lambda: ws.base_encoder, bm25=lambda: ws.bm25,
                        extra={"cache_dir": ws.cache_dir, "parent_map": data.parents},
                        device=ws.device, teacher_cap=TeacherCap(**cap) if cap else None)
    texts = any(r.negative_texts for r in rows)
    scorer = _teacher(rec, ctx) if source in ("auto", "teacher") and not texts else None
    if source == "teacher" and scorer is None:
        raise NegbenchError(f"--scores teacher: {rec['name']} mined without a cross-encoder "
                            "teacher" + (" (or with generated texts)" if texts else "")
                            + "; use --scores model")
    if scorer is not None:
        pairs = [(r.query_id, d) for r in rows for d in (r.positive_id, *r.negative_ids)]
        flat = iter(round(float(s), 6) for s in scorer.score(pairs, progress=False))
        return {(r.query_id, r.positive_id): (next(flat), [next(flat) for _ in r.negative_ids])
                for r in rows}, "teacher"
    ranker = DenseRanker(ws.base_encoder, data.corpus, max_length)
    qids = sorted({r.query_id for r in rows})
    q_emb = dict(zip(qids, ranker.embed([data.train.queries[q] for q in qids]), strict=True))
    drow = {d: i for i, d in enumerate(data.corpus.ids)}
    gen = sorted({t for r in rows for t in r.negative_texts})
    t_emb = dict(zip(gen, ws.base_encoder.encode(gen, "doc", max_length), strict=True)) if gen \
        else {}

    def score(q: str, vec) -> float:
        return round(float(np.dot(q_emb[q], vec)), 6)

    out = {}
    for r in rows:
        q = r.query_id
        out[(q, r.positive_id)] = (
            score(q, ranker.doc_emb[drow[r.positive_id]]),
            [score(q, ranker.doc_emb[drow[d]]) for d in r.negative_ids]
            + [score(q, t_emb[t]) for t in r.negative_texts])
    return out, "model"


def export_negatives(run_dir: str | Path, fmt: str, output: str | Path,
                     sampler: str | None = None, seed: int | None = None,
                     data_root: str | Path | None = None, cache_dir: str | Path | None = None,
                     device: str = "auto", scores: str = "auto") -> int:
    """Write the negatives of one run in ``run_dir`` as ``fmt`` to ``output``; FlagEmbedding
    files carry ``pos_scores``/``neg_scores`` (``scores``: auto, teacher, model or none) and
    the run's query prompt. Returns the number of (query, positive) pairs."""
    from negbench.harness.data.fingerprint import matches
    from negbench.harness.io.digest import sha256_file
    from negbench.harness.io.negative_formats import FORMATS, export_rows
    from negbench.harness.io.negatives import read_negatives
    from negbench.harness.pipeline import preflight

    if fmt not in FORMATS:
        raise NegbenchError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if scores not in SCORES:
        raise NegbenchError(f"--scores {scores!r}: expected one of {', '.join(SCORES)}")
    run_dir = Path(run_dir)
    rec = pick_record(run_dir, sampler, seed)
    neg_path = run_dir / rec["negatives"]["file"]
    # before anything is written; the record names the file, maybe outside RUN_DIR
    preflight.not_an_input(output, [run_dir, neg_path], "--output")
    if not neg_path.is_file() or sha256_file(neg_path) != rec["negatives"]["sha256"]:
        raise NegbenchError(f"{neg_path}: missing or not the file its record names (sha256)")
    ws = run_workspace(rec, data_root, cache_dir, device)
    if not matches(rec, ws.data_fingerprint):
        raise NegbenchError(f"{rec['suite']}: the data differs from the run's (fingerprint)")
    data = ws.data
    rows = read_negatives(neg_path, data.corpus, data.exclude)
    given, source = (pair_scores(rows, rec, ws, scores)
                     if fmt == "flagembedding" and scores != "none" else (None, "none"))
    n = export_rows(rows, data.corpus, data.train, fmt, Path(output), given,
                    (rec.get("prompts") or {}).get("query", ""))
    log.info("%d (query, positive) pairs of %s seed %s written to %s (%s%s); train on them, "
             "or read them back with --samplers from-file --param from-file.path=%s", n,
             rec["name"], rec["seed"], output, fmt,
             f", scores: {source}" if fmt == "flagembedding" else "", output)
    return n
