"""Suite definitions: declarative YAML (safe-loaded, unknown keys rejected) -> ``Suite``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from negbench.harness.errors import NegbenchError

DEFAULT_MEASURES = ("nDCG@10", "RR@10", "R@100", "R@1000")


@dataclass(frozen=True)
class Suite:
    """Fixes everything except the sampler: data, splits, model, budgets, conventions, measures."""

    name: str
    description: str
    loader: str  # "irds" (ir_datasets ids) or "beir-folder" (a local BEIR folder)
    corpus: str
    train: str
    test: str
    dev: str | None = None
    staged: str | None = None  # folder under the data root that seeds this suite
    profile: str = "beir"
    measures: tuple[str, ...] = DEFAULT_MEASURES
    model: str = "all-MiniLM-L6-v2"
    budgets: dict = field(default_factory=dict)  # budget name -> field overrides
    reference: dict = field(default_factory=dict)  # zero-shot name -> {measure: value}

    def data_status(self, data_root: Path | None) -> str:
        """'present', or what is missing and how to get it."""
        if self.loader == "beir-folder":
            return "present" if Path(self.corpus).is_dir() else f"needs data: {self.corpus}"
        if self.staged is None:
            return "ir_datasets download (needs network)"
        if data_root is not None and (Path(data_root) / self.staged).is_dir():
            return "present"
        return f"needs data: {self.staged}/ under $NEGBENCH_DATA (see README 'Data')"


def parse_suites(path: Path) -> list[Suite]:
    """Read a YAML list of suites; any unknown key is a one-line error naming the file."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise NegbenchError(f"{path}{line}: invalid YAML") from None
    if not isinstance(raw, list):
        raise NegbenchError(f"{path}: expected a list of suites")
    known = {f.name for f in dataclasses.fields(Suite)}
    suites = []
    for i, entry in enumerate(raw, 1):
        if not isinstance(entry, dict):
            raise NegbenchError(f"{path}: suite #{i} is not a mapping")
        unknown = sorted(set(entry) - known)
        if unknown:
            raise NegbenchError(f"{path}: suite #{i} ({entry.get('name')}) has unknown key(s) "
                                f"{unknown}; known: {sorted(known)}")
        missing = sorted({"name", "loader", "corpus", "train", "test"} - set(entry))
        if missing:
            raise NegbenchError(f"{path}: suite #{i} lacks required key(s) {missing}")
        entry = dict(entry)
        entry.setdefault("description", "")
        entry["measures"] = tuple(entry.get("measures", DEFAULT_MEASURES))
        suites.append(Suite(**entry))
    return suites
