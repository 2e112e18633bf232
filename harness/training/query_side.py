"""``query-side`` track: train only the query tower against fixed, cached document vectors.

ADORE's setting (Zhan et al. 2021): the document tower is the frozen base model, the corpus is
encoded once (and shared by every run of a grid); each step encodes only the batch's queries
and scores them against the cached vectors of the batch's positives and negatives (MNRL over
all documents of the batch). The optimiser, schedule and clipping are the Hugging Face
Trainer's defaults (AdamW without weight decay, linear warmup/decay, max grad norm 1.0), so the
two tracks differ only in what is trained. Queries are tokenized once; on the CPU a batch is
encoded in groups of similar length (see ``encode_length_grouped``), with fused AdamW and every
core the process may use; ``benchmarks/query_side_speed.py`` measures the gain against a plain
loop.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np

from negbench.harness.retrieval.device import autocast
from negbench.harness.training.batching import duplicate_free_batches  # noqa: F401 - re-export
from negbench.harness.training.budget import Budget
from negbench.harness.training.dynamic import ModelView, PlanInputs, TrainingPlan, run_refresh
from negbench.harness.training.masking import in_batch_mask
from negbench.harness.training.pairs import TrainingPairs

StepHook = Callable[[int, int], None]  # (step, total steps) after each optimizer step


def encode_length_grouped(model, tok, input_ids: list[list[int]], group: int = 16):
    """Sentence embeddings of ``input_ids`` (one list of token ids per query), computed in
    groups of similar length, each padded only to its own longest query, and returned in the
    input order. The same function as one forward over the batch padded to its longest query
    (padding is masked out of attention and pooling), at a fraction of the cost when one long
    query would otherwise pad the whole batch."""
    import torch

    order = sorted(range(len(input_ids)), key=lambda i: len(input_ids[i]))
    device = next(model.parameters()).device
    parts = []
    for start in range(0, len(order), group):
        rows = order[start:start + group]
        batch = tok.pad({"input_ids": [input_ids[i] for i in rows]}, return_tensors="pt")
        parts.append(model({k: v.to(device) for k, v in batch.items()})["sentence_embedding"])
    emb = torch.cat(parts)
    inverse = torch.empty(len(order), dtype=torch.long)
    inverse[torch.tensor(order)] = torch.arange(len(order))
    return emb[inverse.to(device)]


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity; all of them where unknown)."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, n or 1)


def set_cpu_threads() -> int:
    """Use every core this process may run on (torch's default can be fewer), unless the user
    fixed the thread count with ``OMP_NUM_THREADS``."""
    import torch

    if os.environ.get("OMP_NUM_THREADS"):
        return torch.get_num_threads()
    torch.set_num_threads(usable_cores())
    return torch.get_num_threads()


def train_query_side(model, pairs: TrainingPairs, doc_vectors: np.ndarray,
                     doc_row: dict[str, int], extra_vectors: dict[str, np.ndarray],
                     budget: Budget, seed: int, device: str, precision: str, mask: bool,
                     hooks: Sequence[StepHook] = (), progress: bool = True,
                     plan: TrainingPlan | None = None, corpus=None,
                     exclude: dict[str, set[str]] | None = None, prompts=None,
                     loss=None) -> int:
    """Train ``model`` (the query tower) in place; returns the number of optimizer steps.
    ``prompts``: the query prompt is prepended to every query (documents are vectors).
    ``loss``: a ``harness.training.losses.Loss`` (default MNRL); a plan with
    ``retrieve_depth`` retrieves each batch query's top-k from ``doc_vectors`` with the
    current query tower at every step (ADORE), handed to the loss as candidates or, for a
    loss without them, sampled into the negative columns; a plan's ``teacher_scores`` reach
    the loss as teacher scores.

    ``doc_vectors[doc_row[d]]`` is document ``d``'s frozen vector; ``extra_vectors[text]`` the
    frozen vector of a generated negative text (no corpus id). ``plan`` composes the batches
    and refreshes the negatives (re-encoding only the training queries: the documents are
    ``doc_vectors``); a refreshing plan needs the ``corpus`` (ids in ``doc_vectors`` order) and
    ``exclude``. Its ``stats`` count steps, pairs seen and refresh cost."""
    import torch
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    if device == "cpu":
        set_cpu_threads()
    dev = torch.device(device)
    steps = budget.num_steps(len(pairs))
    docs = torch.from_numpy(np.ascontiguousarray(doc_vectors, dtype=np.float32)).to(dev)
    extra = {t: torch.from_numpy(v).to(dev) for t, v in extra_vectors.items()}
    tok = model.tokenizer
    from negbench.harness.retrieval.prompts import Prompts

    prompts = prompts or Prompts()
    encoded = tok(prompts.queries(pairs.query_texts), truncation=True, max_length=budget.query_max_length,
                  add_special_tokens=True)["input_ids"]
    columns = [(pairs.doc_ids[c], pairs.negative_texts[c - 1] if c else pairs.positive_texts)
               for c in range(len(pairs.doc_ids))]

    def column_vectors(ids, texts, rows) -> torch.Tensor:
        idx = [doc_row[ids[r]] if ids[r] is not None else -1 for r in rows]
        if -1 not in idx:
            return docs[torch.tensor(idx, device=dev)]
        return torch.stack([docs[i] if i >= 0 else extra[texts[r]] for i, r in zip(idx, rows)])

    from negbench.harness.training.losses import MNRL, LossBatch

    loss_fn = loss or MNRL()
    plan = plan or TrainingPlan()
    retrieval = (StepRetrieval(docs, doc_row, pairs, exclude or {}, plan.retrieve_depth, seed,
                               "candidates" in loss_fn.consumes)
                 if plan.retrieve_depth else None)
    inputs = PlanInputs(plan, pairs, loss_fn)
    listed = "candidates" in loss_fn.consumes and retrieval is None
    model.to(dev)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=budget.learning_rate, weight_decay=0.0,
                            fused=True)
    sched = get_linear_schedule_with_warmup(opt, int(np.ceil(budget.warmup_ratio * steps)), steps)
    scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None
    group = 16 if device == "cpu" else budget.batch_size  # GPUs gain nothing from grouping
    if plan.refresh_every and corpus is None:
        raise ValueError("a refreshing plan needs the corpus")
    rng = np.random.default_rng(seed)
    step, bar = 0, tqdm(total=steps, desc="train (query-side)", unit="step",
                        disable=not progress)
    while step < steps:
        before = step
        for rows in plan.batches(pairs, budget.batch_size, rng):
            if step >= steps:
                break
            ids = [encoded[r] for r in rows]
            with autocast(device, precision):  # bf16/fp16 autocast on the CPU or CUDA
                q = encode_length_grouped(model, tok, ids, group)
            batch_ids = [[col[r] for r in rows] for col, _ in columns]
            doc_cols = [column_vectors(col, texts, rows) for col, texts in columns]
            batch = LossBatch(q.float(), doc_cols)
            if retrieval is not None and step >= plan.retrieve_from:
                retrieval(rows, q, batch, batch_ids, plan.stats)
            batch.mask = in_batch_mask([pairs.query_ids[r] for r in rows], batch_ids,
                                       pairs.relevant, dev, judged=mask)
            inputs.fill(batch, rows, dev)
            if listed and (got := plan.candidate_lists(pairs, rows)) is not None:
                lists, ranker = got
                batch.candidates = docs[torch.tensor([[doc_row[d] for d in line]
                                                      for line in lists], device=dev)]
                batch.candidate_labels = torch.tensor(
                    [[d in pairs.relevant.get(pairs.query_ids[r], ()) for d in line]
                     for r, line in zip(rows, lists)], dtype=torch.bool, device=dev)
                batch.candidate_teacher = torch.from_numpy(ranker).to(dev)
            loss = loss_fn(batch)
            opt.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.unscale_(opt)
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                scaler.step(opt)
                scaler.update()
            else:
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
            sched.step()
            step += 1
            plan.stats.optimizer_steps = step
            plan.stats.pairs_seen += len(rows)
            bar.update(1)
            if step % 10 == 0:
                bar.set_postfix(loss=f"{loss.item():.3f}")
            if plan.due(step, steps):
                view = ModelView(model, corpus, budget.query_max_length, budget.eval_max_length,
                                 device, plan.stats, fixed_docs=doc_vectors, prompts=prompts)
                run_refresh(plan, pairs, view, step, steps, exclude or {})
                model.train()
            for hook in hooks:
                hook(step, steps)
        if step == before:
            from negbench.harness.errors import NegbenchError

            raise NegbenchError(f"{len(pairs)} training pairs cannot fill one batch of "
                                f"{budget.batch_size} without repeating a query or document")
    bar.close()
    model.eval()
    return steps


class StepRetrieval:
    """ADORE's per-step retrieval on the query-side track: the batch's queries, encoded by
    the current query tower, against the fixed document vectors (one matrix product), top
    ``depth``. With ``as_candidates`` the ranked list (vectors, judged labels) goes to the
    loss; otherwise each row's negative columns are re-drawn uniformly, without replacement,
    from its top ``depth`` non-relevant documents (seeded), so a loss over own and in-batch
    negatives sees ADORE's negatives. Counted in ``stats.step_retrievals``."""

    def __init__(self, docs, doc_row: dict[str, int], pairs: TrainingPairs,
                 exclude: dict[str, set[str]], depth: int, seed: int,
                 as_candidates: bool) -> None:
        import torch

        self.docs = torch.nn.functional.normalize(docs, dim=-1)
        self.rows = doc_row
        self.ids = [""] * len(doc_row)
        for d, i in doc_row.items():
            self.ids[i] = d
        self.pairs, self.exclude, self.depth = pairs, exclude, depth
        self.as_candidates = as_candidates
        self.rng = np.random.default_rng([seed, 0xAD0])

    def __call__(self, rows: list[int], q, batch, batch_ids: list[list[str | None]],
                 stats) -> None:
        import torch

        qids = [self.pairs.query_ids[r] for r in rows]
        judged = [self.exclude.get(x, set()) for x in qids]
        with torch.no_grad():
            qn = torch.nn.functional.normalize(q.detach().float(), dim=-1)
            extra = 0 if self.as_candidates else max(map(len, judged), default=0)
            k = min(self.docs.size(0), self.depth + extra)
            top = torch.topk(qn @ self.docs.T, k, dim=1).indices.cpu().numpy()
        stats.step_retrievals += 1
        dev = self.docs.device
        if self.as_candidates:
            top = top[:, :self.depth]
            batch.candidates = self.docs[torch.from_numpy(top).to(dev)]
            batch.candidate_labels = torch.tensor(
                [[self.ids[j] in rel for j in line] for rel, line in zip(judged, top)],
                dtype=torch.bool, device=dev)
            return
        cols = len(batch.docs) - 1
        for i, (rel, line) in enumerate(zip(judged, top)):
            if any(batch_ids[c][i] is None for c in range(1, cols + 1)):
                continue  # a row with generated negative texts keeps them
            window = [int(j) for j in line if self.ids[j] not in rel][:self.depth]
            picks = self.rng.choice(len(window), size=cols, replace=len(window) < cols)
            for c, pick in enumerate(picks, start=1):
                batch_ids[c][i] = self.ids[window[int(pick)]]
        for c in range(1, cols + 1):
            batch.docs[c] = torch.stack([self.docs[self.rows[d]] if d is not None else
                                         batch.docs[c][i] for i, d in enumerate(batch_ids[c])])
