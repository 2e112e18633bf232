"""Loaders of suites read through ir_datasets (``irds``) or from a local BEIR folder
(``beir-folder``), and the placeholders of the generic ``irds:`` and ``beir/`` suites."""

from __future__ import annotations

from pathlib import Path

from negbench.harness.errors import NegbenchError
from negbench.suites.definition import Suite
from negbench.suites.loaders import register_loader
from negbench.suites.suite_data import NoTrainSplit, SuiteData, judged_positives


@register_loader("irds")
def load_irds(suite: Suite, data_root: Path | None) -> SuiteData:
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


@register_loader("beir-folder")
def load_beir_folder_suite(suite: Suite, data_root: Path | None = None) -> SuiteData:
    from negbench.harness.data.beir_folder import load_beir_folder

    corpus, train = load_beir_folder(Path(suite.corpus), suite.train)
    test = load_beir_folder(Path(suite.corpus), suite.test, corpus)[1]
    dev = load_beir_folder(Path(suite.corpus), suite.dev, corpus)[1] if suite.dev else None
    splits = [s for s in (train, test, dev) if s is not None]
    return SuiteData(corpus, train, test, judged_positives(*splits), dev=dev)


@register_loader("irds-generic")
def _irds_placeholder(suite: Suite, data_root: Path | None) -> SuiteData:
    raise NegbenchError(f"{suite.name!r} is a placeholder: name an ir_datasets id, e.g. "
                        "--suite irds:beir/scifact/test,train=beir/scifact/train")


@register_loader("beir-generic")
def _beir_placeholder(suite: Suite, data_root: Path | None) -> SuiteData:
    raise NegbenchError(f"{suite.name!r} is a placeholder: name a BEIR dataset, e.g. "
                        "--suite beir/fiqa (any ir_datasets beir/... id)")
