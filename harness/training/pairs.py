"""The training set both tracks read: one row per (query, positive) pair with its negatives."""

from __future__ import annotations

from dataclasses import dataclass

from negbench.harness.data.collection import Corpus, Split
from negbench.harness.errors import NegbenchError
from negbench.harness.io.negatives import NegativeRow


@dataclass
class TrainingPairs:
    """Row ``r``: ``query_ids[r]`` with ``doc_ids[0][r]`` (positive) and ``doc_ids[c][r]``
    (negative ``c``; None for a generated text). Texts are aligned the same way."""

    query_ids: list[str]
    query_texts: list[str]
    positive_texts: list[str]
    negative_texts: list[list[str]]  # one list per negative column
    doc_ids: list[list[str | None]]  # column 0 = positives, then one per negative column
    relevant: dict[str, set[str]]  # every judged-relevant doc per query (the in-batch mask)

    def __len__(self) -> int:
        return len(self.query_ids)


def training_pairs(rows: list[NegativeRow], corpus: Corpus, split: Split, n_neg: int,
                   relevant: dict[str, set[str]]) -> TrainingPairs:
    """Every row becomes a training pair with its first ``n_neg`` negatives (corpus negatives
    first, then generated texts). A row with fewer than ``n_neg`` negatives is an error: every
    sampler trains on the same pairs (samplers fall back to random negatives and count it)."""
    if not rows:
        raise NegbenchError("the sampler produced no training pairs: nothing to train on")
    qids, qtexts, ptexts, pids = [], [], [], []
    neg_texts: list[list[str]] = [[] for _ in range(n_neg)]
    neg_ids: list[list[str | None]] = [[] for _ in range(n_neg)]
    for r in sorted(rows, key=lambda r: (r.query_id, r.positive_id)):
        negatives = ([(d, corpus.docs[d].text) for d in r.negative_ids]
                     + [(None, t) for t in r.negative_texts])
        if len(negatives) < n_neg:
            raise NegbenchError(f"pair ({r.query_id!r}, {r.positive_id!r}) has "
                                f"{len(negatives)} negative(s); the budget trains with {n_neg}")
        qids.append(r.query_id)
        qtexts.append(split.queries[r.query_id])
        pids.append(r.positive_id)
        ptexts.append(corpus.docs[r.positive_id].text)
        for i in range(n_neg):
            neg_ids[i].append(negatives[i][0])
            neg_texts[i].append(negatives[i][1])
    return TrainingPairs(qids, qtexts, ptexts, neg_texts, [pids, *neg_ids], relevant)
