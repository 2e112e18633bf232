"""The one exception type the CLI turns into a one-line error and a non-zero exit."""

from __future__ import annotations


class NegbenchError(Exception):
    """A user-facing error: bad input, missing data, unknown name. Printed as one line."""


def where(path: object, line: int | None = None) -> str:
    """Format a ``file:line`` location for error messages."""
    return f"{path}:{line}" if line is not None else str(path)
