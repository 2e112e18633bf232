"""MultipleNegativesRankingLoss with an optional in-batch false-negative mask (STAR's
``rel_pair_mask``), shared by both training tracks.

Scores are ``scale * cos(q_i, d)`` against every document of the batch: the positives of all
rows first, then each negative column (sentence-transformers' layout). With a mask, document
``d`` is removed from query ``i``'s softmax when ``d`` is judged relevant to ``i`` and is not
``i``'s own positive column: another row's positive (or negative) that is a true positive for
this query is not pushed away.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

MNRL_SCALE = 20.0  # sentence-transformers' default (cosine similarity x 20)


def in_batch_mask(query_ids: Sequence[str], doc_ids: Sequence[Sequence[str]],
                  relevant: dict[str, set[str]], device) -> Tensor:
    """Boolean ``(B, B * columns)`` mask: True where a batch document is judged relevant to the
    row's query and is not that row's own positive. ``doc_ids[c][k]`` is column ``c``'s doc of
    row ``k`` (column 0 = positives)."""
    b = len(query_ids)
    flat = [d for column in doc_ids for d in column]
    mask = torch.zeros((b, len(flat)), dtype=torch.bool)
    for i, q in enumerate(query_ids):
        rel = relevant.get(q, ())
        if not rel:
            continue
        for j, d in enumerate(flat):
            if j != i and d in rel:
                mask[i, j] = True
    return mask.to(device)


def mnrl_loss(queries: Tensor, docs: Sequence[Tensor], mask: Tensor | None = None,
              scale: float = MNRL_SCALE) -> Tensor:
    """Cross-entropy of each query against its positive (``docs[0][i]``) over all batch docs.

    ``queries`` and ``docs`` are L2-normalised or not: cosine similarity is taken here."""
    q = torch.nn.functional.normalize(queries, dim=-1)
    d = torch.nn.functional.normalize(torch.cat(list(docs), dim=0), dim=-1)
    scores = (q @ d.T) * scale
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
    target = torch.arange(q.size(0), device=q.device)
    return torch.nn.functional.cross_entropy(scores.float(), target)
