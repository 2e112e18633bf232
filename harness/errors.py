"""The one exception type the CLI turns into a one-line error and a non-zero exit."""

from __future__ import annotations


class NegbenchError(Exception):
    """A user-facing error: bad input, missing data, unknown name. Printed as one line."""


def where(path: object, line: int | None = None) -> str:
    """Format a ``file:line`` location for error messages."""
    return f"{path}:{line}" if line is not None else str(path)


def first_line(exc: BaseException, limit: int = 200) -> str:
    """An exception's first non-empty message line (its type name when it has none), cut to
    ``limit`` characters: how a library's multi-line error enters a one-line NegbenchError."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:limit]
