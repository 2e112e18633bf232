"""What a suite loader returns: corpus, splits, judged positives, candidate pools, taxonomy."""

from __future__ import annotations

from dataclasses import dataclass, field

from negbench.harness.data.collection import Corpus, Split
from negbench.harness.errors import NegbenchError
from negbench.harness.io.trec_files import Hits


class NoTrainSplit(Split):
    """Stands in for a training split the suite cannot provide; any use is a one-line error."""

    def __init__(self, reason: str) -> None:
        super().__init__("none", {}, {}, reason)

    def positives(self, min_rel: int = 1) -> dict[str, list[str]]:
        raise NegbenchError(self.source)


@dataclass
class SuiteData:
    corpus: Corpus
    train: Split
    test: Split
    exclude: dict[str, set[str]]  # judged relevant docs per query over every split
    dev: Split | None = None
    # temporal candidate pools (ECtHR-PCR): a query may only retrieve docs dated strictly
    # before it. ``None`` = the whole corpus is the pool.
    query_dates: dict[str, str] | None = None
    doc_dates: dict[str, str] | None = None
    info: dict = field(default_factory=dict)  # counts and provenance for records/docs
    parents: dict[str, set[str]] | None = None  # label taxonomy (doc -> parents), e.g. ESCO

    def restrict_run(self, run: dict[str, Hits]) -> dict[str, Hits]:
        """Drop hits outside each query's candidate pool (no-op without a temporal pool).

        Retrieve deeper than the cutoff before calling this: hits are removed, not replaced.
        """
        if self.query_dates is None or self.doc_dates is None:
            return run
        out = {}
        for qid, hits in run.items():
            limit = self.query_dates.get(qid)
            out[qid] = [h for h in hits if limit is not None and h[0] != qid
                        and self.doc_dates.get(h[0], "9999") < limit]
        return out

    def retrieval_depth(self, k: int) -> int:
        """How deep to search so that ``k`` hits survive ``restrict_run``."""
        return k if self.query_dates is None else len(self.corpus)

    def pool(self, qid: str) -> list[str]:
        """Doc ids a query may retrieve (all docs when the suite has no temporal pool)."""
        if self.query_dates is None or self.doc_dates is None:
            return list(self.corpus.ids)
        limit = self.query_dates[qid]
        return [d for d in self.corpus.ids if d != qid and self.doc_dates[d] < limit]


def judged_positives(*splits: Split) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for sp in splits:
        for q, judged in sp.qrels.items():
            out.setdefault(q, set()).update(d for d, r in judged.items() if r >= 1)
    return out
