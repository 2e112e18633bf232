"""Strict value grammar shared by every reader (BEIR JSONL/TSV, TREC runs and qrels, negatives
files, seeds): a value that does not fit is a one-line error naming ``file:line``, never a
silent conversion.

Python's ``int()``/``float()`` accept what trec_eval and BEIR do not (``1_0`` is 10, `` 7 `` is
7, ``inf``/``nan`` are floats) and ``str()`` turns ``None`` into ``"None"``; these helpers accept
only the grammar of the formats themselves.
"""

from __future__ import annotations

import math
import re

from negbench.harness.errors import NegbenchError

_INT = re.compile(r"^[+-]?[0-9]+$")
_SPACE = re.compile(r"\s")  # the characters str.isspace() accepts, checked for every code point
_FLOAT = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")
REL_LIMIT = 2**31  # relevance grades beyond a 32-bit int are not grades (trec_eval: long)


def _text_error(value: str) -> str | None:
    """Why a decoded string cannot be stored as UTF-8 (a lone surrogate), or None."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"contains a lone surrogate ({value[exc.start]!r}), not valid UTF-8 text"
    return None


def integer(text: str, what: str, loc: str, lo: int | None = None,
            hi: int | None = None) -> int:
    """A decimal integer (optional sign, digits only: no ``_``, spaces or decimals), in
    ``lo..hi`` when given."""
    if not isinstance(text, str) or not _INT.match(text):
        raise NegbenchError(f"{loc}: {what} {text!r} is not an integer")
    value = int(text)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise NegbenchError(f"{loc}: {what} {text} is out of range {lo}..{hi}")
    return value


def relevance(text: str, loc: str) -> int:
    """A qrels relevance grade: an integer that fits 32 bits."""
    return integer(text, "relevance", loc, -REL_LIMIT, REL_LIMIT - 1)


def score(text: str, loc: str) -> float:
    """A finite decimal number (``1.5``, ``-2e-3``; not ``1_0``, ``inf`` or ``nan``)."""
    if not _FLOAT.match(text):
        if text.lower().lstrip("+-") in ("nan", "inf", "infinity"):
            raise NegbenchError(f"{loc}: score is {'NaN' if 'nan' in text.lower() else text}")
        raise NegbenchError(f"{loc}: score {text!r} is not a number")
    value = float(text)
    if not math.isfinite(value):
        raise NegbenchError(f"{loc}: score {text!r} overflows a float")
    return value


def identifier(value: object, what: str, loc: str) -> str:
    """A query/doc id from JSON: a string (or an integer, as some BEIR files write them) that
    is non-empty, has no whitespace (TREC files are whitespace-separated) and is valid UTF-8."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise NegbenchError(f"{loc}: {what} must be a string, got {_json_type(value)}")
    text = str(value)
    if not text:
        raise NegbenchError(f"{loc}: {what} is empty")
    if _SPACE.search(text):
        raise NegbenchError(f"{loc}: {what} {text!r} contains whitespace (TREC files could not "
                            "hold it)")
    problem = _text_error(text)
    if problem:
        raise NegbenchError(f"{loc}: {what} {problem}")
    return text


def text(value: object, what: str, loc: str, optional: bool = False) -> str:
    """A text field from JSON: a string (absent is ``""`` when ``optional``), valid UTF-8."""
    if value is None and optional:
        return ""
    if not isinstance(value, str):
        raise NegbenchError(f"{loc}: {what} must be a string, got {_json_type(value)}")
    problem = _text_error(value)
    if problem:
        raise NegbenchError(f"{loc}: {what} {problem}")
    return value


def text_list(value: object, what: str, loc: str, ids: bool = False) -> tuple[str, ...]:
    """A JSON list of ids (``ids``) or texts."""
    if not isinstance(value, list):
        raise NegbenchError(f"{loc}: {what} must be a list, got {_json_type(value)}")
    one = identifier if ids else text
    return tuple(one(v, f"{what}[{i}]", loc) for i, v in enumerate(value))


def _json_type(value: object) -> str:
    names = {type(None): "null", bool: "a boolean", int: "a number", float: "a number",
             list: "a list", dict: "an object", str: "a string"}
    return names.get(type(value), type(value).__name__)
