"""The in-batch false-negative mask (STAR's ``rel_pair_mask``) every loss of both training
tracks receives (``harness.training.losses``).

A batch's documents are the positives of all rows first, then each negative column
(sentence-transformers' layout). With the mask, document
``d`` is removed from query ``i``'s softmax when ``d`` is judged relevant to ``i`` and is not
``i``'s own positive column: another row's positive (or negative) that is a true positive for
this query is not pushed away. With or without it, a copy of row ``i``'s own positive in another
column (another row's negative: batches may repeat a negative shared by many rows, see
``batching.shared_negatives``) is removed: a document cannot be its own query's negative.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def in_batch_mask(query_ids: Sequence[str], doc_ids: Sequence[Sequence[str | None]],
                  relevant: dict[str, set[str]], device, judged: bool = True) -> Tensor | None:
    """Boolean ``(B, B * columns)`` mask, True where a batch document other than row ``i``'s
    own positive column is a copy of that positive or (``judged``) is judged relevant to the
    row's query. ``doc_ids[c][k]`` is column ``c``'s doc of row ``k`` (column 0 = positives;
    None = a generated text). Without ``judged``, None when nothing is masked (the plain loss)."""
    b = len(query_ids)
    flat = [d for column in doc_ids for d in column]
    if not judged and len(set(doc_ids[0])) == b and set(doc_ids[0]).isdisjoint(flat[b:]):
        return None  # the usual case: no positive appears twice
    mask = torch.zeros((b, len(flat)), dtype=torch.bool)
    for i, q in enumerate(query_ids):
        own = doc_ids[0][i]
        rel = relevant.get(q, ()) if judged else ()
        for j, d in enumerate(flat):
            if j != i and d is not None and (d == own or d in rel):
                mask[i, j] = True
    if not judged and not bool(mask.any()):
        return None
    return mask.to(device)
