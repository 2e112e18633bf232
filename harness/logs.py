"""Logging for the CLI: ``-v/--verbose``, ``--quiet`` and ``--log-file``."""

from __future__ import annotations

import logging
import os
import sys

LOGGER = "negbench"
LIBRARY_VERBOSITY = 2  # -vv: library messages (transformers, numba, jnius, ...) too


def ours(record: logging.LogRecord) -> bool:
    """A message of negbench's own (not a library's, nor library chatter that negbench relays,
    e.g. a Hugging Face trainer's loss dicts: ``extra={"chatter": True}``)."""
    return ((record.name == LOGGER or record.name.startswith(LOGGER + "."))
            and not getattr(record, "chatter", False))


def _shown(verbose: int):
    """The filter of both handlers: negbench's messages, anything at WARNING or above, and
    library messages at any level only with ``-vv``."""
    return lambda r: verbose >= LIBRARY_VERBOSITY or ours(r) or r.levelno >= logging.WARNING


def setup_logging(verbose: int = 0, log_file: str | None = None) -> None:
    """negbench's messages on stderr (INFO; DEBUG with ``-v``) and, timestamped at DEBUG, in
    ``log_file``. Libraries' DEBUG and INFO messages (numba's compiler passes, transformers'
    load reports, jnius' reflection, HF trainers' loss dicts) reach neither unless ``-vv``;
    their warnings and errors always do."""
    logging.disable(logging.NOTSET)  # a quiet in-process run before must not silence this one
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_negbench", False):
            root.removeHandler(h)
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(logging.Formatter("%(message)s"))
    console.setLevel(logging.DEBUG if verbose else logging.INFO)
    handlers = [console]
    if log_file:
        fh = logging.FileHandler(log_file, encoding="utf-8")
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        fh.setLevel(logging.DEBUG)
        handlers.append(fh)
    for h in handlers:
        h.addFilter(_shown(verbose))
        h._negbench = True
        root.addHandler(h)
    # below -vv libraries are not even asked for their DEBUG/INFO records (numba formats
    # thousands of SSA lines per compiled function otherwise)
    root.setLevel(logging.DEBUG if verbose >= LIBRARY_VERBOSITY else logging.WARNING)
    logging.getLogger(LOGGER).setLevel(logging.DEBUG)
    _library_verbosity(verbose >= LIBRARY_VERBOSITY)


def _library_verbosity(chatty: bool) -> None:
    """transformers logs through its own stderr handler, not the root logger: its level is
    ``error`` (no load reports) unless ``-vv`` (``info``). Set through the environment while
    transformers is not imported (importing it costs seconds; child processes inherit it),
    directly once it is."""
    os.environ["TRANSFORMERS_VERBOSITY"] = "info" if chatty else "error"
    hf_logging = sys.modules.get("transformers.utils.logging")
    if hf_logging is not None:
        hf_logging.set_verbosity(logging.INFO if chatty else logging.ERROR)


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
