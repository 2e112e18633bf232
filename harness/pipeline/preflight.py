"""Checks a command makes before it writes anything: every folder and file it will write can
be written, the data can be trained on and evaluated, the model folder loads, the prompts are
text and the executor's package imports. Each failure is a one-line ``NegbenchError``; data
that is suspicious but usable (train/test overlap) is a warning and a record field.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from negbench.harness.errors import NegbenchError

# the path checks live in io (data.paths needs them too); commands call them from here
from negbench.harness.io.writable import not_an_input, writable_dir, writable_file  # noqa: F401


def relevant_judged(split, role: str, why: str) -> None:
    """``split``'s qrels judge at least one doc relevant (relevance >= 1); the error names
    the qrels file (the split's source)."""
    if not split.positives():
        where = split.source or split.name
        raise NegbenchError(f"{where}: no {role} pair (no query has a judged doc with "
                            f"relevance >= 1): {why}")


def training_pairs_present(data) -> None:
    """The suite's training split has at least one (query, relevant doc) pair."""
    relevant_judged(data.train, "training", "a sampler would train on nothing")


def judged_test_pairs_present(split) -> None:
    """The test split has at least one relevant judgment: else every score is 0."""
    relevant_judged(split, "test", "every measure would be 0 (nothing to retrieve)")


WEIGHTS = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
           "pytorch_model.bin.index.json")


def _hf_folder(folder: Path) -> str | None:
    """Why ``folder`` is not a loadable transformers model (config.json with ``model_type``
    and weights), or None."""
    config = folder / "config.json"
    if not config.is_file():
        return f"{config} not found"
    try:
        model_type = json.loads(config.read_text(encoding="utf-8")).get("model_type")
    except (ValueError, UnicodeDecodeError, AttributeError):
        return f"{config} is not a JSON object"
    if not isinstance(model_type, str) or not model_type:
        return f"{config} has no 'model_type'"
    if not any((folder / w).is_file() for w in WEIGHTS):
        return f"no model weights in {folder} ({', '.join(WEIGHTS)})"
    return None


def model_folder(name: str, flag: str = "--model") -> Path:
    """The model ``name`` resolves to (``models.resolve_model``) is loadable: a
    sentence-transformers folder whose ``modules.json`` Transformer modules are, or a
    transformers folder (config.json with ``model_type``, and weights)."""
    from negbench.harness.retrieval.models import resolve_model

    folder = resolve_model(name)
    modules = folder / "modules.json"
    if not modules.is_file() and not (folder / "config.json").is_file():
        raise NegbenchError(f"{flag} {name}: not a model folder (no modules.json or "
                            f"config.json in {folder})")
    if not modules.is_file():
        problem = _hf_folder(folder)
    else:
        try:
            entries = json.loads(modules.read_text(encoding="utf-8"))
            paths = [e.get("path", "") for e in entries
                     if str(e.get("type", "")).rpartition(".")[2] == "Transformer"]
        except (ValueError, UnicodeDecodeError, AttributeError, TypeError):
            raise NegbenchError(f"{flag} {name}: {modules} is not a sentence-transformers "
                                "module list") from None
        problem = next(filter(None, (_hf_folder(folder / p) for p in paths)), None)
    if problem:
        raise NegbenchError(f"{flag} {name}: {problem}")
    return folder


def prompts_text(ws, given: dict[str, str | None]) -> None:
    """The prompts given (``{flag: text}``) and the model's own are text: encodable as UTF-8
    (an undecodable command-line byte arrives as a surrogate escape and would crash the
    tokenizer after the first write)."""
    from negbench.harness.io import parse

    for flag, text in given.items():
        parse.text(text, "prompt", flag, optional=True)
    own = f"{ws.model_name} (config_sentence_transformers.json)"
    parse.text(ws.prompts.query, "query prompt", own)
    parse.text(ws.prompts.document, "document prompt", own)


def executor_package(name: str):
    """The package ``--executor NAME`` needs (ray, submitit), imported; None for local."""
    import importlib

    package = {"ray": "ray", "slurm": "submitit"}.get(name)
    if package is None:
        return None
    try:
        return importlib.import_module(package)
    except ImportError:
        raise NegbenchError(f"--executor {name} needs the '{package}' package: pip install "
                            f"'negbench[scale]' (or pip install {package})") from None


def train_test_overlap(data) -> int:
    """How many test queries also appear in the training qrels, by id or by text."""
    train = data.train.qrels  # {} for a suite without a training split
    texts = {data.train.queries[q].strip() for q in train if q in data.train.queries}
    return sum(q in train or t.strip() in texts for q, t in data.test.queries.items())


def data_checks(data) -> dict:
    """What the data checks found, for every record a run writes."""
    return {"train_test_overlap": train_test_overlap(data)}


def held_out(ws) -> None:
    """One WARNING line when test queries of the workspace's data also appear in the training
    qrels (the count is recorded too, ``data_checks``): the test split is then not (fully)
    held out."""
    n, m = ws.data_checks["train_test_overlap"], len(ws.data.test.queries)
    if n:
        logging.getLogger(__name__).warning(
            "%d of %d test queries also appear in the training qrels (same id or same text): "
            "the test split is not %sheld out", n, m, "" if n == m else "fully ")


def batches_fillable(data, budget) -> None:
    """A batch of the budget's size can be filled: it needs as many distinct training queries
    and distinct positives (neither repeats within a batch; negatives may,
    ``training.batching``)."""
    from negbench.strategies.base import training_pairs

    pairs = training_pairs(data.train)
    queries, positives = len({q for q, _ in pairs}), len({p for _, p in pairs})
    if min(queries, positives) < budget.batch_size:
        where = data.train.source or data.train.name
        raise NegbenchError(f"{where}: {queries} distinct training queries and {positives} "
                            f"distinct positives cannot fill one batch of {budget.batch_size} "
                            f"(budget {budget.name!r}; neither may repeat within a batch)")


def suite_data(ws) -> None:
    """Load and check the workspace's data (the test qrels judge a doc relevant); suites read
    through ir_datasets first need a writable ``$IR_DATASETS_HOME`` (the cache is seeded from
    the staged files)."""
    if ws.suite.loader in ("irds", "msmarco", "rerank"):
        from negbench.harness.data.irds import irds_home

        writable_dir(irds_home(), "the ir_datasets cache ($IR_DATASETS_HOME)")
    judged_test_pairs_present(ws.data.test)  # loads and validates corpus, queries and qrels


def folder_precisions(folder: str | os.PathLike) -> set[str]:
    """The training precisions of the trained records already in ``folder`` (empty: none)."""
    from negbench.harness.evaluation.records import read_records
    from negbench.harness.reporting.comparability import precision

    if not (Path(folder) / "records").is_dir():
        return set()
    return {precision(r) for r in read_records(Path(folder)) if r.get("kind") == "trained"}


def readable_records(folder: str | os.PathLike) -> None:
    """Every record already in ``folder/records`` is a readable record (the grid reuses and
    tabulates them at the end: a malformed one is named now, not after hours of training)."""
    from negbench.harness.evaluation.records import read_records

    if (Path(folder) / "records").is_dir():
        read_records(Path(folder))
