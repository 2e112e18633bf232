"""Refuse to compare records that do not answer the same question.

Trained records must agree on track, budget (its name and each of its values), suite, split,
model (name and fingerprint), data fingerprint and precision (training and encodings);
zero-shot records (no training, hence no track or training budget) on suite, split, data and
the precision of their encodings. Precisions may differ only when asked
(``mixed_precision``, ``report --mixed-precision``). ``check_comparable`` is called by
``report`` and ``regress`` and should be by anything that puts records into one table
(``table.md``).
"""

from __future__ import annotations

from collections import Counter

from negbench.harness.errors import NegbenchError
from negbench.harness.retrieval.encoder import FINGERPRINT_SCHEME

DEFAULT_TRACK = "full"  # records written before tracks existed


def track(record: dict) -> str:
    """The record's track (``full`` for records without one)."""
    return str(record.get("track") or DEFAULT_TRACK)


def budget_name(record: dict) -> str:
    return str((record.get("budget") or {}).get("name", "-"))


# the budget fields that change training or evaluation, each compared on its own so that a
# refusal names it (``--lr`` etc. set them within one named budget)
BUDGET_FIELDS = ("epochs", "steps", "max_steps", "batch_size", "learning_rate", "warmup_ratio",
                 "query_max_length", "train_max_length", "eval_max_length",
                 "negatives_per_example", "retrieve_k")


def budget_field(field: str):
    """A trained record's value of budget ``field`` (None when it does not record it)."""
    def value(record: dict) -> str | None:
        budget = record.get("budget") or {}
        return str(budget[field]) if field in budget else None
    return value


def base_model(record: dict) -> str | None:
    """The trained record's base-model fingerprint (``encoder.model_fingerprint``: weights,
    modules, pooling, tokenizer), shortened; ``None`` for records written before it covered
    more than the weights (their model name is still compared)."""
    fp = str(record.get("base_model_fingerprint") or "")
    return fp[:15] if fp.startswith(FINGERPRINT_SCHEME) else None


def precision(record: dict) -> str:
    """A trained record's training precision (``fp32`` for records that name no device)."""
    return str((record.get("device") or {}).get("precision") or "fp32")


def encoding_precision(record: dict) -> str | None:
    """The precision a record's vectors were encoded in (``fp32`` for records before it was
    recorded: until bf16 on the CPU, every encoding was fp32); None for BM25's zero-shot row,
    which encodes nothing."""
    if (record.get("zero_shot") or {}).get("system") == "bm25":
        return None
    return str((record.get("device") or {}).get("encoding_precision") or "fp32")


# fields that ``check_comparable(..., mixed_precision=True)`` (``report --mixed-precision``)
# lets differ: an fp32 and a bf16 grid in one table only when asked
PRECISION_FIELDS = ("precision", "encoding precision")


def _trained(record: dict) -> bool:
    return record.get("kind") != "zero-shot"


# field -> (applies to zero-shot records too?, value of a record)
FIELDS = {
    "track": (False, track),
    "budget": (False, budget_name),
    **{f"budget {f}": (False, budget_field(f)) for f in BUDGET_FIELDS},
    "suite": (True, lambda r: str(r.get("suite"))),
    "split": (True, lambda r: str(r.get("split"))),
    "model": (False, lambda r: str(r.get("model"))),
    # two models of one name (a folder changed in place: pooling, tokenizer, weights)
    "base model": (False, base_model),
    # the data they came from (harness.fingerprint); "none" = written before fingerprints
    "data": (True, lambda r: str(r.get("data_fingerprint") or "none")[:12]),
    # cross-fitted (run --folds): the fold assignment; "official" = the suite's test split
    "fold assignment": (True, lambda r: str((r.get("crossfit") or {}).get(
        "assignment_sha256") or "official")[:12]),
    # fp32 vs bf16 (``--precision``): training, and the vectors every row is scored with
    "precision": (False, precision),
    "encoding precision": (True, encoding_precision),
}


def differences(records: list[dict], mixed_precision: bool = False) -> dict[str, Counter]:
    """Per differing field, how many records carry each value (empty if all comparable);
    ``mixed_precision``: precisions may differ."""
    out = {}
    for field, (zero_shot_too, value) in FIELDS.items():
        if mixed_precision and field in PRECISION_FIELDS:
            continue
        counts = Counter(v for r in records if zero_shot_too or _trained(r)
                         if (v := value(r)) is not None)
        if len(counts) > 1:
            out[field] = counts
    return out


def describe(diffs: dict[str, Counter]) -> str:
    """``track differs (full: 30, short: 3); budget differs (...)`` on one line."""
    parts = []
    for field, counts in diffs.items():
        vals = ", ".join(f"{v}: {n}" for v, n in sorted(counts.items()))
        parts.append(f"{field} differs ({vals} records)")
    return "; ".join(parts)


def check_comparable(records: list[dict], what: str = "records",
                     mixed_precision: bool = False) -> None:
    """Raise ``NegbenchError`` (one line naming each differing field and its values) unless
    every record is on the same track, budget, suite, split, model, data and precision
    (zero-shot records: suite, split, data and encoding precision only). ``mixed_precision``
    lets fp32 and bf16 records share a table (``report --mixed-precision``)."""
    diffs = differences(records, mixed_precision)
    if diffs:
        hint = (" (or allow fp32 and bf16 in one table with --mixed-precision)"
                if set(diffs) <= set(PRECISION_FIELDS) else "")
        raise NegbenchError(f"{what} are not comparable: {describe(diffs)}; compare "
                            f"records of one track/budget/suite/model/data/precision at a "
                            f"time{hint}")
