"""Materialise a suite's data: corpus, train/test splits, and the judged positives to exclude."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from negbench.harness.data import Corpus, Split
from negbench.harness.errors import NegbenchError
from negbench.suites.definition import Suite


@dataclass
class SuiteData:
    corpus: Corpus
    train: Split
    test: Split
    exclude: dict[str, set[str]]  # judged relevant docs per query over every split


def judged_positives(*splits: Split) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for sp in splits:
        for q, judged in sp.qrels.items():
            out.setdefault(q, set()).update(d for d, r in judged.items() if r >= 1)
    return out


def load_suite_data(suite: Suite, data_root: Path | None = None) -> SuiteData:
    """Load and validate the suite's corpus and splits."""
    if suite.loader == "irds":
        from negbench.harness.irds import load_corpus, load_split

        corpus = load_corpus(suite.corpus, data_root)
        splits = [load_split(i, corpus, data_root) for i in (suite.train, suite.test, suite.dev)
                  if i]
    elif suite.loader == "beir-folder":
        from negbench.harness.beir_folder import load_beir_folder

        corpus, train = load_beir_folder(Path(suite.corpus), suite.train)
        splits = [train] + [load_beir_folder(Path(suite.corpus), s, corpus)[1]
                            for s in (suite.test, suite.dev) if s]
    else:
        raise NegbenchError(f"suite {suite.name!r}: unknown loader {suite.loader!r}")
    return SuiteData(corpus, splits[0], splits[1], judged_positives(*splits))
