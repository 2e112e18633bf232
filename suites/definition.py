"""Suite definitions: declarative YAML (safe-loaded, unknown keys rejected) -> ``Suite``."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from negbench.harness.errors import NegbenchError

DEFAULT_MEASURES = ("nDCG@10", "RR@10", "R@100", "R@1000")
COLLECTION_LOADERS = ("msmarco", "ecthr")  # the loaders that read ``--collection``


@dataclass(frozen=True)
class Suite:
    """Fixes everything except the sampler: data, splits, model, budgets, conventions, measures."""

    name: str
    description: str
    # "irds" (ir_datasets ids), "beir-folder" (a local BEIR folder), "msmarco", "esco", "ecthr",
    # "beir-generic" / "irds-generic" (placeholder rows for any ir_datasets BEIR id / any
    # ir_datasets id as irds:ID; see registry.get_suite)
    loader: str
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
    # documents not staged here: a path (``--collection``) or this environment variable
    collection: str | None = None
    collection_env: str | None = None
    params: dict = field(default_factory=dict)  # loader options (splits, dates, ...)

    def collection_path(self) -> Path | None:
        """The user's document collection: the ``collection`` field, else ``$collection_env``."""
        value = self.collection or (os.environ.get(self.collection_env)
                                    if self.collection_env else None)
        return Path(value) if value else None

    def with_collection(self, path: str | os.PathLike | None) -> Suite:
        """This suite with its documents read from ``path`` (``negbench run --collection``);
        a suite that reads no collection (every one but MS MARCO and ECtHR-PCR) refuses one."""
        if path is None:
            return self
        if self.loader not in COLLECTION_LOADERS:
            raise NegbenchError(f"--collection {path}: suite {self.name!r} has no collection to "
                                "choose (only the MS MARCO and ECtHR-PCR suites read one)")
        return dataclasses.replace(self, collection=str(path))

    def candidate_list_files(self, data_root: Path | None) -> tuple[Path, Path]:
        """A rerank suite's candidate lists: (JSON with texts, TREC run) under ``staged``."""
        from negbench.harness.data.paths import data_root as default_root

        if self.staged is None or not {"json", "trec"} <= set(self.params):
            raise NegbenchError(f"suite {self.name!r}: a rerank suite needs 'staged' and "
                                "params 'json' and 'trec' (its list files)")
        folder = Path(data_root or default_root(required=False)) / self.staged
        return folder / self.params["json"], folder / self.params["trec"]

    def missing_candidate_lists(self, data_root: Path | None) -> str | None:
        """None when a rerank suite's two list files are present, else one line: what to
        place where."""
        files = self.candidate_list_files(data_root)
        if all(f.is_file() for f in files):
            return None
        source = self.params.get("source", "")
        return (f"place {files[0].name} and {files[1].name}" + (f" ({source})" if source else "")
                + f" in {files[0].parent}/")

    def data_status(self, data_root: Path | None) -> str:
        """'present', or what is missing and how to get it."""
        staged = (self.staged is not None and data_root is not None
                  and (Path(data_root) / self.staged).is_dir())
        if self.loader in COLLECTION_LOADERS:
            coll = self.collection_path()
            hint = f"--collection PATH or ${self.collection_env}" if self.collection_env else \
                "--collection PATH"
            have_docs = coll is not None and coll.exists()
            if self.loader == "ecthr":
                return "present" if have_docs else \
                    f"needs data: echr_pcr_dataset.json via {hint} (see docs/suites.md)"
            if not staged:
                return f"needs data: {self.staged}/ under $NEGBENCH_DATA"
            return "present" if have_docs else \
                f"eval: present (queries+qrels); train/index: needs collection.tsv via {hint}"
        if self.loader in ("beir-generic", "irds-generic"):
            return "ir_datasets download (needs network)"
        if self.loader == "esco":
            missing = [d for d in ("esco-skill-extraction", "esco-taxonomy")
                       if data_root is None or not (Path(data_root) / d).is_dir()]
            return "present" if not missing else \
                f"needs data: {', '.join(m + '/' for m in missing)} under $NEGBENCH_DATA"
        if self.loader == "rerank":  # candidate lists with texts, staged by the user
            missing = self.missing_candidate_lists(data_root)
            return "present" if missing is None else f"needs data: {missing}"
        if self.loader == "beir-folder":
            return "present" if Path(self.corpus).is_dir() else f"needs data: {self.corpus}"
        if self.staged is None:
            return "ir_datasets download (needs network)"
        if data_root is not None and (Path(data_root) / self.staged).is_dir():
            return "present"
        if self.loader == "irds" and self.corpus.startswith("beir/"):
            from negbench.harness.data.irds import irds_home

            if (irds_home() / self.corpus / "source.zip").is_file():
                return "present (ir_datasets cache; staged files absent)"
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
