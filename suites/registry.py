"""Lazy registry of suites by slash-separated name, plus ad-hoc suites from local BEIR folders."""

from __future__ import annotations

import difflib
from importlib import resources
from pathlib import Path

from negbench.harness.errors import NegbenchError
from negbench.suites.definition import Suite, parse_suites

_SUITES: dict[str, Suite] | None = None


def all_suites() -> dict[str, Suite]:
    """Every suite defined by the YAML files shipped in ``negbench.suites``."""
    global _SUITES
    if _SUITES is None:
        _SUITES = {}
        for entry in sorted(resources.files("negbench.suites").iterdir(), key=lambda p: p.name):
            if entry.name.endswith(".yaml"):
                for s in parse_suites(Path(str(entry))):
                    _SUITES[s.name] = s
    return _SUITES


def get_suite(name_or_path: str) -> Suite:
    """A registered suite, or a BEIR-folder suite when given a path to a local folder."""
    suites = all_suites()
    if name_or_path in suites:
        return suites[name_or_path]
    if name_or_path.startswith("beir/"):
        return beir_suite(name_or_path)
    path = Path(name_or_path)
    if path.is_dir():
        if not (path / "corpus.jsonl").is_file():
            raise NegbenchError(f"{path}: not a BEIR folder (no corpus.jsonl)")
        splits = sorted(p.stem for p in (path / "qrels").glob("*.tsv"))
        if "test" not in splits:
            raise NegbenchError(f"{path}/qrels: needs test.tsv (found {splits})")
        train = "train" if "train" in splits else "dev" if "dev" in splits else None
        if train is None:
            raise NegbenchError(f"{path}/qrels: needs train.tsv or dev.tsv to train on")
        return Suite(name=f"beir-folder:{path.resolve().name}", description=f"local BEIR folder {path}",
                     loader="beir-folder", corpus=str(path.resolve()), train=train, test="test",
                     dev="dev" if "dev" in splits and train != "dev" else None)
    close = difflib.get_close_matches(name_or_path, list(suites), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise NegbenchError(f"unknown suite {name_or_path!r}{hint} (see `negbench suites`; a local "
                        "BEIR folder path also works)")


def beir_suite(dataset_id: str) -> Suite:
    """A suite for any BEIR dataset ir_datasets knows (downloaded where there is network).

    Splits come from the ir_datasets registry: ``<id>/train`` (else ``<id>/dev``) to train,
    ``<id>/test`` (else ``<id>`` itself) to test. Without either train or dev the suite is
    zero-shot/eval only.
    """
    import ir_datasets

    registered = set(ir_datasets.registry._registered)
    base = dataset_id.rstrip("/")
    if base not in registered:
        known = sorted(i for i in registered if i.startswith("beir/") and i.count("/") >= 1)
        close = difflib.get_close_matches(base, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise NegbenchError(f"unknown BEIR dataset {base!r}{hint} (ir_datasets ids beir/...)")
    for split in ("train", "dev", "test"):
        if base.endswith("/" + split):
            raise NegbenchError(f"{base!r} names a split; use the dataset id "
                                f"{base.rsplit('/', 1)[0]!r}")
    have = {s for s in ("train", "dev", "test") if f"{base}/{s}" in registered}
    test = f"{base}/test" if "test" in have else base
    train = f"{base}/train" if "train" in have else f"{base}/dev" if "dev" in have else ""
    dev = f"{base}/dev" if "dev" in have and train != f"{base}/dev" else None
    return Suite(name=base, description=f"BEIR {base[5:]} through ir_datasets (downloads)",
                 loader="irds", corpus=base, train=train, test=test, dev=dev)
