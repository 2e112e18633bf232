"""Logging for the CLI: ``-v/--verbose``, ``--quiet`` and ``--log-file``."""

from __future__ import annotations

import logging
import sys

LOGGER = "negbench"


def setup_logging(verbose: int = 0, log_file: str | None = None) -> None:
    """negbench's messages on stderr (INFO; DEBUG with ``-v``, library INFO too with ``-vv``),
    and everything at DEBUG, timestamped, in ``log_file``."""
    logging.disable(logging.NOTSET)  # a quiet in-process run before must not silence this one
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_negbench", False):
            root.removeHandler(h)
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(logging.Formatter("%(message)s"))
    console.setLevel(logging.DEBUG if verbose else logging.INFO)
    console.addFilter(lambda r: verbose >= 2 or r.name.startswith(LOGGER)
                      or r.levelno >= logging.WARNING)
    handlers = [console]
    if log_file:
        fh = logging.FileHandler(log_file, encoding="utf-8")
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        fh.setLevel(logging.DEBUG)
        handlers.append(fh)
    for h in handlers:
        h._negbench = True
        root.addHandler(h)
    root.setLevel(logging.DEBUG if verbose or log_file else logging.INFO)
    logging.getLogger(LOGGER).setLevel(logging.DEBUG)


def _ours(file: bool) -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if getattr(h, "_negbench", False)
            and isinstance(h, logging.FileHandler) == file]


def logs_to_file() -> bool:
    """Whether a ``--log-file`` handler is installed."""
    return bool(_ours(file=True))


def quiet_console() -> None:
    """``--quiet``: only warnings and errors on the console. A ``--log-file`` still gets every
    message; without one (e.g. the Python API in a user's process) INFO is disabled outright.
    ``console_levels``/``restore_console`` undo it."""
    if not logs_to_file():
        logging.disable(logging.INFO)
        return
    for h in _ours(file=False):
        h.setLevel(logging.WARNING)


def console_levels() -> dict[logging.Handler, int]:
    return {h: h.level for h in _ours(file=False)}


def restore_console(levels: dict[logging.Handler, int]) -> None:
    for h, level in levels.items():
        h.setLevel(level)


class LogStream:
    """A file-like ``write`` that sends each line to a logger (for code that takes ``log=``)."""

    def __init__(self, name: str = LOGGER, level: int = logging.INFO) -> None:
        self.logger, self.level, self._buf = logging.getLogger(name), level, ""

    def write(self, text: str) -> int:
        self._buf += text
        *lines, self._buf = self._buf.split("\n")
        for line in lines:
            if line:
                self.logger.log(self.level, line)
        return len(text)

    def flush(self) -> None:
        if self._buf:
            self.logger.log(self.level, self._buf)
            self._buf = ""
