"""A grid's entries: a sampler, its parameters and an optional label, the name of the entry's
records and table row (``dense`` twice with other parameters, as ``dense`` and ``deep``)."""

from __future__ import annotations

import re
from typing import NamedTuple

LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*\Z")  # it names files: records/LABEL-seedN.json
LABEL_RULE = "letters, digits and . _ + - (it names the row's files)"


class Entry(NamedTuple):
    """One grid entry; ``(sampler, params)`` tuples are entries without a label."""

    sampler: str
    params: dict
    label: str = ""

    @property
    def name(self) -> str:
        """The records' and table row's name: the label, else the sampler."""
        return self.label or self.sampler


def entries(items) -> list[Entry]:
    """``items`` ((sampler, params) or (sampler, params, label) tuples) as entries."""
    return [Entry(*item) for item in items]


def split_label(text: str) -> tuple[str, str]:
    """``LABEL=SAMPLER`` as (sampler, label); a bare ``SAMPLER`` has the label ''."""
    label, sep, sampler = text.partition("=")
    return (sampler.strip(), label.strip()) if sep else (text.strip(), "")


def label_problem(label: str) -> str | None:
    """Why ``label`` cannot name a row (None when it can)."""
    return None if LABEL.match(label) else f"label {label!r}: use {LABEL_RULE}"


def repeated_rows(rows: list[tuple[str, str]]) -> str | None:
    """Why (sampler, label) pairs cannot share a grid (None when they can): two entries with
    one name, from a repeated label or a label equal to another entry's sampler."""
    names = [label or sampler for sampler, label in rows]
    for (sampler, label), name in zip(rows, names, strict=True):
        if names.count(name) > 1:
            return (f"two entries named {name!r} (an entry's records and table row are named "
                    f"by its label, else its sampler); give one a label of its own, e.g. "
                    f"{name}-2={sampler}")
    return None
