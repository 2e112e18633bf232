"""Training losses as registered objects (like samplers): each declares what it consumes.

A loss sees one ``LossBatch``: the batch's query vectors and its document columns (column 0 =
each row's positive, then one column per negative slot), plus whatever else it declares in
``consumes``:

- ``in_batch``: the other rows' documents count as negatives (with the false-negative ``mask``);
- ``candidates``: a retrieved top-k per query (``candidates`` vectors in rank order and their
  ``candidate_labels``), as ADORE retrieves at every step;
- ``teacher``: teacher scores of each row's positive and negatives (``teacher``), and of every
  batch document (``teacher_in_batch``) for in-batch distillation;
- ``weights``: per-negative weights in [0, 1] (``weights``), as CET and soft denoising give;
- ``ranker``: a ranker's scores of the candidates (``candidate_teacher``), as AR2's KL needs.

Scores are cosine similarities times ``scale`` (sentence-transformers' convention for
normalised models; the papers' raw dot products of unnormalised towers correspond to
``scale`` = the vectors' squared norm). ``negbench strategies`` lists the registry.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor
from torch.nn import functional as F

from negbench.harness.errors import NegbenchError

CONSUMABLE = ("in_batch", "negatives", "candidates", "teacher", "weights", "ranker")


@dataclass
class LossBatch:
    """What one training step hands a loss; fields a loss does not consume may stay None."""

    queries: Tensor  # (B, H)
    docs: list[Tensor]  # C columns of (B, H): docs[0] positives, docs[1:] negatives
    mask: Tensor | None = None  # (B, B*C) True = remove (judged relevant, not own positive)
    weights: Tensor | None = None  # (B, C-1) negative weights in [0, 1]
    teacher: Tensor | None = None  # (B, C) teacher scores of positive and negatives
    teacher_in_batch: Tensor | None = None  # (B, B*C) teacher scores of every batch document
    candidates: Tensor | None = None  # (B, K, H) retrieved top-k vectors, rank order
    candidate_labels: Tensor | None = None  # (B, K) bool: judged relevant
    candidate_teacher: Tensor | None = None  # (B, K) a ranker's scores of the candidates


class Loss:
    """A training objective. Subclasses are dataclasses (their fields are the parameters, with
    defaults) and set ``name``, ``paper``, ``consumes`` and ``__call__``."""

    name: ClassVar[str] = ""
    paper: ClassVar[str] = ""
    consumes: ClassVar[frozenset[str]] = frozenset()
    requires: ClassVar[frozenset[str]] = frozenset()  # inputs it cannot do without

    def __call__(self, batch: LossBatch) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def params_dict(self) -> dict:
        return dataclasses.asdict(self)

    def describe(self) -> str:
        """``name(param=value, ...)``: how records and tables state the loss."""
        params = ", ".join(f"{k}={v}" for k, v in self.params_dict().items())
        return f"{self.name}({params})" if params else self.name

    def check(self, batch: LossBatch) -> None:
        missing = [f for f in self.requires if getattr(batch, _FIELD[f]) is None]
        if missing:
            raise ValueError(f"loss {self.name!r} needs {', '.join(sorted(missing))}")


_FIELD = {"candidates": "candidates", "teacher": "teacher", "weights": "weights",
          "ranker": "candidate_teacher"}
_REGISTRY: dict[str, type[Loss]] = {}


def register_loss(cls: type[Loss]) -> type[Loss]:
    """Class decorator: make ``cls`` available by its ``name``."""
    assert cls.name and set(cls.consumes) <= set(CONSUMABLE), cls
    _REGISTRY[cls.name] = cls
    return cls


def loss_names() -> list[str]:
    return sorted(_REGISTRY)


def get_loss(name: str, params: Mapping[str, object] | None = None) -> Loss:
    """The loss ``name`` with ``params`` (strings from ``--loss-param`` are converted to the
    field's type); unknown names and parameters are one-line errors."""
    cls = _REGISTRY.get(name)
    if cls is None:
        raise NegbenchError(f"--loss {name!r}: unknown loss; choose from {', '.join(loss_names())}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, raw in (params or {}).items():
        if key not in fields:
            raise NegbenchError(f"--loss-param {key}={raw}: loss {name!r} has no parameter "
                                f"{key!r} (it has: {', '.join(fields) or 'none'})")
        values[key] = _convert(raw, fields[key], name)
    return cls(**values)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _convert(raw: object, field: dataclasses.Field, loss: str) -> object:
    kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    try:
        if kind.startswith("float | str"):  # a number or a word the loss knows ("auto")
            value = float(text) if _is_number(text) else text
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError
            return value
        if kind.startswith("float"):
            value = float(text)
            if not math.isfinite(value):
                raise ValueError
            return value
        if kind.startswith("int") and "None" in kind and text.lower() in ("none", "null", ""):
            return None
        if kind.startswith("int"):
            return int(text)
        if kind.startswith("bool"):
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return text.lower() in ("true", "1")
    except ValueError:
        raise NegbenchError(f"--loss-param {field.name}={raw}: loss {loss!r} expects "
                            f"{kind}") from None
    return text


def _cos(q: Tensor, d: Tensor) -> Tensor:
    return F.normalize(q, dim=-1) @ F.normalize(d, dim=-1).T


def _own(q: Tensor, column: Tensor) -> Tensor:
    """Cosine of each row's query with the same row of ``column``: (B,)."""
    return (F.normalize(q, dim=-1) * F.normalize(column, dim=-1)).sum(-1)


@register_loss
@dataclass
class MNRL(Loss):
    """MultipleNegativesRankingLoss: cross-entropy of each query's positive against every
    document of the batch (all positives, all negative columns), false negatives masked."""

    name: ClassVar[str] = "mnrl"
    paper: ClassVar[str] = "Henderson et al. 2017 (sentence-transformers)"
    consumes: ClassVar[frozenset[str]] = frozenset({"in_batch", "negatives"})
    scale: float = 20.0

    def __call__(self, batch: LossBatch) -> Tensor:
        scores = _cos(batch.queries, torch.cat(list(batch.docs))) * self.scale
        if batch.mask is not None:
            scores = scores.masked_fill(batch.mask, float("-inf"))
        target = torch.arange(scores.size(0), device=scores.device)
        return F.cross_entropy(scores.float(), target)


@register_loss
@dataclass
class WeightedMNRL(Loss):
    """MNRL in which each row's own negatives enter the softmax with a weight in [0, 1]
    (``log w`` added to its logit): weight 0 removes a negative, 1 is plain MNRL. Other rows'
    documents keep weight 1. What CET's relevance step and soft denoising need."""

    name: ClassVar[str] = "weighted-mnrl"
    paper: ClassVar[str] = "Cai et al. 2022 (CET), weighted negatives"
    consumes: ClassVar[frozenset[str]] = frozenset({"in_batch", "negatives", "weights"})
    requires: ClassVar[frozenset[str]] = frozenset({"weights"})
    scale: float = 20.0

    def __call__(self, batch: LossBatch) -> Tensor:
        self.check(batch)
        b, c = batch.queries.size(0), len(batch.docs)
        scores = (_cos(batch.queries, torch.cat(list(batch.docs))) * self.scale).float()
        logw = torch.zeros_like(scores)
        rows = torch.arange(b, device=scores.device)
        w = batch.weights.to(scores.device).float().clamp(0.0, 1.0)
        for col in range(1, c):
            logw[rows, col * b + rows] = torch.log(w[:, col - 1].clamp_min(1e-12))
        scores = scores + logw
        if batch.mask is not None:
            scores = scores.masked_fill(batch.mask, float("-inf"))
        return F.cross_entropy(scores, rows)


@register_loss
@dataclass
class Pairwise(Loss):
    """DRhard STAR's loss: a logistic (two-way softmax) loss ``log(1 + exp(s_neg - s_pos))``
    averaged over every pair of a row's positive with each other row's positive and with every
    hard negative of the batch, judged-relevant pairs masked out."""

    name: ClassVar[str] = "pairwise"
    paper: ClassVar[str] = "Zhan et al. 2021 (STAR, DRhard)"
    consumes: ClassVar[frozenset[str]] = frozenset({"in_batch", "negatives"})
    scale: float = 20.0

    def __call__(self, batch: LossBatch) -> Tensor:
        b = batch.queries.size(0)
        scores = (_cos(batch.queries, torch.cat(list(batch.docs))) * self.scale).float()
        pos = scores.diagonal()[:, None]
        keep = torch.ones_like(scores, dtype=torch.bool)
        keep[:, :b] &= ~torch.eye(b, dtype=torch.bool, device=scores.device)
        if batch.mask is not None:
            keep &= ~batch.mask
        losses = F.softplus(scores - pos)
        return (losses * keep).sum() / keep.sum().clamp_min(1)


def metric_gain(ranks: Tensor, metric: str = "mrr", cutoff: int | None = 10) -> Tensor:
    """The gain of a document at each 1-based rank: ``1/r`` (MRR) or ``1/log2(r + 1)``
    (nDCG), 0 beyond ``cutoff``."""
    ranks = ranks.float()
    gain = 1.0 / ranks if metric == "mrr" else 1.0 / torch.log2(ranks + 1.0)
    if cutoff is not None:
        gain = torch.where(ranks > cutoff, torch.zeros_like(gain), gain)
    return gain


def metric_weights(ranks: Tensor, metric: str = "mrr", cutoff: int | None = 10) -> Tensor:
    """``|g(r_i) - g(r_j)|`` for every pair of the list (ADORE's weights: the change in the
    metric when documents i and j swap)."""
    gain = metric_gain(ranks, metric, cutoff)
    return (gain[:, None] - gain[None, :]).abs()


@register_loss
@dataclass
class LambdaPairwise(Loss):
    """ADORE's loss: over each query's retrieved top-k (retrieved with the current query
    encoder; the positive appended when none is retrieved), a logistic loss on every
    (relevant, non-relevant) pair weighted by ``|g(r_i) - g(r_j)|``, the metric change of
    swapping them (``metric`` mrr: ``|1/r_i - 1/r_j|``, or ndcg; ``cutoff``: gain 0 beyond
    it, none by default), averaged over pairs. No
    in-batch negatives."""

    name: ClassVar[str] = "lambda-pairwise"
    paper: ClassVar[str] = "Zhan et al. 2021 (ADORE, DRhard)"
    consumes: ClassVar[frozenset[str]] = frozenset({"candidates"})
    requires: ClassVar[frozenset[str]] = frozenset({"candidates"})
    metric: str = "mrr"
    cutoff: int | None = None
    scale: float = 20.0

    def __post_init__(self) -> None:
        if self.metric not in ("mrr", "ndcg"):
            raise NegbenchError(f"--loss-param metric={self.metric}: choose mrr or ndcg")

    def __call__(self, batch: LossBatch) -> Tensor:
        self.check(batch)
        total = batch.queries.new_zeros((), dtype=torch.float32)
        q = F.normalize(batch.queries, dim=-1)
        for i in range(q.size(0)):
            vecs, labels = batch.candidates[i], batch.candidate_labels[i].bool()
            if not labels.any():
                vecs = torch.cat([vecs, batch.docs[0][i:i + 1]])
                labels = torch.cat([labels, labels.new_ones(1)])
            s = (F.normalize(vecs, dim=-1) @ q[i]).float() * self.scale
            with torch.no_grad():
                order = torch.argsort(s, descending=True, stable=True)
                ranks = torch.empty_like(order)
                ranks[order] = torch.arange(1, len(order) + 1, device=order.device)
                w = metric_weights(ranks, self.metric, self.cutoff)
            pairs = labels[:, None] & ~labels[None, :]  # (relevant i, non-relevant j)
            c = F.softplus(s[None, :] - s[:, None])  # log(1 + exp(s_j - s_i))
            total = total + (c * w * pairs).sum() / pairs.sum().clamp_min(1)
        return total / q.size(0)


@register_loss
@dataclass
class NLL(Loss):
    """ANCE's loss: negative log-likelihood of each row's positive against its own negatives
    only (no in-batch negatives)."""

    name: ClassVar[str] = "nll"
    paper: ClassVar[str] = "Xiong et al. 2021 (ANCE)"
    consumes: ClassVar[frozenset[str]] = frozenset({"negatives"})
    scale: float = 20.0

    def __call__(self, batch: LossBatch) -> Tensor:
        scores = torch.stack([_own(batch.queries, d) for d in batch.docs], dim=1) * self.scale
        target = torch.zeros(scores.size(0), dtype=torch.long, device=scores.device)
        return F.cross_entropy(scores.float(), target)


@register_loss
@dataclass
class MarginMSE(Loss):
    """Margin-MSE (Hofstätter et al. 2020): the student's margin ``s_pos - s_neg`` regressed
    on the teacher's, for each own negative; with ``in_batch_weight`` > 0 and teacher scores of
    every batch document, TAS-B's in-batch distillation adds the same over the other rows'
    documents."""

    name: ClassVar[str] = "margin-mse"
    paper: ClassVar[str] = "Hofstätter et al. 2020 (Margin-MSE); 2021 (TAS-B)"
    consumes: ClassVar[frozenset[str]] = frozenset({"negatives", "teacher", "in_batch"})
    requires: ClassVar[frozenset[str]] = frozenset({"teacher"})
    scale: float = 20.0
    in_batch_weight: float = 0.0
    # the teacher's margins in the student's units: a number, or "auto" = sd(student margins) /
    # sd(teacher margins) on the first batch, then fixed (a cosine student's margins and a
    # cross-encoder's logit margins live on different scales; regressing one on the other
    # unscaled can flatten the student to a constant ranking)
    teacher_scale: float | str = "auto"

    def __post_init__(self) -> None:
        ok = self.teacher_scale == "auto" or (
            isinstance(self.teacher_scale, (int, float)) and self.teacher_scale > 0)
        if not ok:
            raise NegbenchError(f"--loss-param teacher_scale={self.teacher_scale}: expected "
                                "'auto' or a positive number")

    def teacher_factor(self, student: Tensor, teacher: Tensor) -> float:
        """The factor applied to the teacher's margins (fitted once for ``"auto"``)."""
        if self.teacher_scale != "auto":
            return float(self.teacher_scale)
        if getattr(self, "_fitted", None) is None:
            ts, ss = float(teacher.std()), float(student.detach().std())
            self._fitted = ss / ts if ts > 0 and ss > 0 else 1.0
        return self._fitted

    def __call__(self, batch: LossBatch) -> Tensor:
        self.check(batch)
        s = torch.stack([_own(batch.queries, d) for d in batch.docs], dim=1).float() * self.scale
        t = batch.teacher.to(s.device).float()
        margins = s[:, :1] - s[:, 1:]
        factor = self.teacher_factor(margins, t[:, :1] - t[:, 1:])
        loss = F.mse_loss(margins, factor * (t[:, :1] - t[:, 1:]))
        if self.in_batch_weight > 0 and batch.teacher_in_batch is not None:
            full = (_cos(batch.queries, torch.cat(list(batch.docs))) * self.scale).float()
            tb = factor * batch.teacher_in_batch.to(full.device).float()
            pos, tpos = full.diagonal()[:, None], tb.diagonal()[:, None]
            keep = ~torch.eye(full.size(0), full.size(1), dtype=torch.bool, device=full.device)
            if batch.mask is not None:
                keep &= ~batch.mask
            err = ((pos - full) - (tpos - tb)) ** 2
            loss = loss + self.in_batch_weight * (err * keep).sum() / keep.sum().clamp_min(1)
        return loss


@register_loss
@dataclass
class Triplet(Loss):
    """NGAME's triplet margin loss on cosine similarity, ``max(0, margin - cos(q, p) +
    cos(q, n))``: with ``hardest`` (NGAME: negatives mined inside the batch of close queries)
    ``n`` is the row's hardest batch document (own negatives and other rows' documents, its
    own positive and masked documents excluded); without, the mean over its own negatives."""

    name: ClassVar[str] = "triplet"
    paper: ClassVar[str] = "Dahiya et al. 2023 (NGAME)"
    consumes: ClassVar[frozenset[str]] = frozenset({"negatives", "in_batch"})
    margin: float = 0.3
    hardest: bool = True

    def __call__(self, batch: LossBatch) -> Tensor:
        pos = _own(batch.queries, batch.docs[0]).float()
        if not self.hardest:
            negs = torch.stack([_own(batch.queries, d) for d in batch.docs[1:]], dim=1).float()
            return F.relu(self.margin - pos[:, None] + negs).mean()
        b = pos.size(0)
        scores = _cos(batch.queries, torch.cat(list(batch.docs))).float()
        drop = torch.zeros_like(scores, dtype=torch.bool)
        drop[:, :b] |= torch.eye(b, dtype=torch.bool, device=scores.device)
        if batch.mask is not None:
            drop |= batch.mask
        hardest = scores.masked_fill(drop, float("-inf")).max(dim=1).values
        return F.relu(self.margin - pos + hardest).mean()


@register_loss
@dataclass
class Ar2KL(Loss):
    """AR2's retriever loss: ``KL(p_ranker || p_retriever)`` over each query's candidate list
    (its positive first, then the retriever's top-k), ``p_ranker = softmax(ranker scores)``
    (the plan divides them by its temperature) and ``p_retriever = softmax(scale * cos)``,
    averaged over queries; with ``nll_weight`` > 0 plus that weight times the retriever's
    cross-entropy on the positive over the same list."""

    name: ClassVar[str] = "ar2-kl"
    paper: ClassVar[str] = "Zhang et al. 2022 (AR2)"
    consumes: ClassVar[frozenset[str]] = frozenset({"candidates", "ranker"})
    requires: ClassVar[frozenset[str]] = frozenset({"candidates", "ranker"})
    scale: float = 20.0
    nll_weight: float = 0.0

    def __call__(self, batch: LossBatch) -> Tensor:
        self.check(batch)
        q = F.normalize(batch.queries, dim=-1)
        c = F.normalize(batch.candidates, dim=-1)
        s = torch.einsum("bh,bkh->bk", q, c).float() * self.scale
        log_p = F.log_softmax(s, dim=1)
        target = F.softmax(batch.candidate_teacher.to(s.device).float(), dim=1)
        loss = F.kl_div(log_p, target, reduction="batchmean")
        if self.nll_weight > 0:
            loss = loss + self.nll_weight * -log_p[:, 0].mean()
        return loss
