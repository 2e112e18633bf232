"""Materialise a suite's data: corpus, train/test splits, and the judged positives to exclude.

``load_suite_data`` dispatches on ``Suite.loader``; each loader returns a ``SuiteData``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from negbench.harness.data.collection import Corpus, Split
from negbench.harness.retrieval.dense_search import Hits
from negbench.harness.errors import NegbenchError
from negbench.suites.definition import Suite


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


def _load_irds(suite: Suite, data_root: Path | None) -> SuiteData:
    from negbench.harness.data.irds_fetch import suite_ids

    with suite_ids([suite.corpus, suite.train, suite.test, suite.dev]):
        return _read_irds(suite, data_root)


def _read_irds(suite: Suite, data_root: Path | None) -> SuiteData:
    from negbench.harness.data.irds_fetch import load_corpus, load_split

    corpus = load_corpus(suite.corpus, data_root)
    why = ("(add ,train=ID to --suite to name one)" if suite.name.startswith("irds:")
           else "(ir_datasets lists none)")
    train = (load_split(suite.train, corpus, data_root) if suite.train
             else NoTrainSplit(f"suite {suite.name!r} has no training split {why}; use it for "
                               "zero-shot runs and `negbench eval` only"))
    test = load_split(suite.test, corpus, data_root)
    dev = load_split(suite.dev, corpus, data_root) if suite.dev else None
    splits = [s for s in (train, test, dev) if s is not None]
    return SuiteData(corpus, train, test, judged_positives(*splits), dev=dev)


def _load_beir_folder(suite: Suite) -> SuiteData:
    from negbench.harness.data.beir_folder import load_beir_folder

    corpus, train = load_beir_folder(Path(suite.corpus), suite.train)
    test = load_beir_folder(Path(suite.corpus), suite.test, corpus)[1]
    dev = load_beir_folder(Path(suite.corpus), suite.dev, corpus)[1] if suite.dev else None
    splits = [s for s in (train, test, dev) if s is not None]
    return SuiteData(corpus, train, test, judged_positives(*splits), dev=dev)


def load_suite_data(suite: Suite, data_root: Path | None = None) -> SuiteData:
    """Load and validate the suite's corpus and splits."""
    if suite.loader == "irds":
        return _load_irds(suite, data_root)
    if suite.loader == "beir-folder":
        return _load_beir_folder(suite)
    if suite.loader == "msmarco":
        from negbench.suites.msmarco import load_msmarco

        return load_msmarco(suite, data_root)
    if suite.loader == "esco":
        from negbench.suites.esco import load_esco

        return load_esco(suite, data_root)
    if suite.loader == "ecthr":
        from negbench.suites.ecthr import load_ecthr

        return load_ecthr(suite)
    if suite.loader == "irds-generic":
        raise NegbenchError(f"{suite.name!r} is a placeholder: name an ir_datasets id, e.g. "
                            "--suite irds:beir/scifact/test,train=beir/scifact/train")
    if suite.loader == "beir-generic":
        raise NegbenchError(f"{suite.name!r} is a placeholder: name a BEIR dataset, e.g. "
                            "--suite beir/fiqa (any ir_datasets beir/... id)")
    raise NegbenchError(f"suite {suite.name!r}: unknown loader {suite.loader!r}")


def load_test_qrels(suite: Suite, data_root: Path | None = None) -> Split:
    """Only the test split (queries + qrels), without the corpus: what ``negbench eval`` needs.

    Works for MS MARCO without passage texts; other loaders load their full data.
    """
    if suite.loader in ("irds", "msmarco"):
        from negbench.harness.data.irds_fetch import load_split

        return load_split(suite.test, None, data_root)
    return load_suite_data(suite, data_root).test
