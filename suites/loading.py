"""Materialise a suite's data: corpus, train/test splits, and the judged positives to exclude.

``load_suite_data`` calls the loader ``Suite.loader`` names (``suites.loaders``); each returns
a ``SuiteData`` (``suites.suite_data``).
"""

from __future__ import annotations

from pathlib import Path

from negbench.harness.data.collection import Split
from negbench.suites.definition import Suite
from negbench.suites.loaders import get_loader
from negbench.suites.suite_data import SuiteData


def load_suite_data(suite: Suite, data_root: Path | None = None) -> SuiteData:
    """Load and validate the suite's corpus and splits with its registered loader."""
    return get_loader(suite.loader, suite.name)(suite, data_root)


def load_test_qrels(suite: Suite, data_root: Path | None = None) -> Split:
    """Only the test split (queries + qrels), without the corpus: what ``negbench eval`` needs.

    Works for MS MARCO without passage texts; other loaders load their full data.
    """
    if suite.loader in ("irds", "msmarco"):
        from negbench.harness.data.irds_fetch import load_split

        return load_split(suite.test, None, data_root)
    return load_suite_data(suite, data_root).test
