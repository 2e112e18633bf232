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
