"""What a suite loader returns: corpus, splits, judged positives, candidate pools (temporal or
per-query first-stage lists), taxonomy."""

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
    # per-query candidate pools (reranking suites): query -> its first-stage candidates with
    # their scores; a query retrieves only from its own list. ``first_stage`` names the system
    # that ranked them ("bm25": the lists are the suite's BM25 row). ``None`` = no such pool.
    candidates: dict[str, Hits] | None = None
    first_stage: str | None = None

    @property
    def pooled(self) -> bool:
        """Whether queries retrieve from a pool smaller than the corpus (dates or candidates)."""
        return self.candidates is not None or (self.query_dates is not None
                                               and self.doc_dates is not None)

    def restrict_run(self, run: dict[str, Hits]) -> dict[str, Hits]:
        """Drop hits outside each query's pool (no-op without a temporal or candidate pool).

        Retrieve deeper than the cutoff before calling this: hits are removed, not replaced.
        """
        if not self.pooled:
            return run
        lists = None if self.candidates is None else \
            {q: {d for d, _ in h} for q, h in self.candidates.items()}
        out = {}
        for qid, hits in run.items():
            allowed = None if lists is None else lists.get(qid, set())
            out[qid] = [h for h in hits if (allowed is None or h[0] in allowed)
                        and self._dated_before(qid, h[0])]
        return out

    def _dated_before(self, qid: str, doc_id: str) -> bool:
        """The temporal pool's rule: the doc is dated strictly before the query (True when the
        suite has no dates)."""
        if self.query_dates is None or self.doc_dates is None:
            return True
        limit = self.query_dates.get(qid)
        return limit is not None and doc_id != qid and self.doc_dates.get(doc_id, "9999") < limit

    def retrieval_depth(self, k: int) -> int:
        """How deep to search so that ``k`` hits survive ``restrict_run``."""
        return len(self.corpus) if self.pooled else k

    def pool(self, qid: str) -> list[str]:
        """Doc ids a query may retrieve (all docs when the suite has no pool)."""
        if self.candidates is not None:
            ids = [d for d, _ in self.candidates.get(qid, [])]
        else:
            ids = list(self.corpus.ids)
        if self.query_dates is None or self.doc_dates is None:
            return ids
        limit = self.query_dates[qid]
        return [d for d in ids if d != qid and self.doc_dates[d] < limit]

    def first_stage_run(self, system: str) -> dict[str, Hits] | None:
        """The candidate lists of the test queries as a run when ``system`` ranked them (the
        reranking suite's own row for that system, scores as given), else None."""
        if self.candidates is None or self.first_stage != system:
            return None
        return {q: list(self.candidates.get(q, [])) for q in self.test.queries}


def judged_positives(*splits: Split) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for sp in splits:
        for q, judged in sp.qrels.items():
            out.setdefault(q, set()).update(d for d, r in judged.items() if r >= 1)
    return out
