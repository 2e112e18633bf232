"""The ``negbench`` command line; subcommands live in ``negbench.harness.commands``."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from importlib.metadata import PackageNotFoundError, version

from negbench.harness.errors import NegbenchError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Exit codes (README, "Exit codes"): a crash is told apart from a regression and a usage error.
EXIT_OK, EXIT_REGRESSION, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def package_version() -> str:
    try:
        return version("negbench")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    from negbench.harness import commands

    p = argparse.ArgumentParser(
        prog="negbench",
        description="Benchmark negative-sampling strategies for dense retrieval under a fixed "
                    "training budget.",
        epilog="Exit codes: 0 success, 1 regression found (regress), 2 usage or input error, "
               "3 internal error (a bug: please report it with --log-file's traceback), "
               "130 interrupted.")
    p.add_argument("--version", action="version", version=f"negbench {package_version()}")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="more messages: -v debug messages, -vv library messages too, and "
                        "tracebacks of internal errors")
    p.add_argument("--log-file", default=None, metavar="FILE",
                   help="also write every message, at debug level with timestamps, to FILE")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    from negbench.harness.logs import setup_logging

    argv = sys.argv[1:] if argv is None else list(argv)
    verbose = 0
    try:  # argument types (e.g. --seeds) raise NegbenchError too: one line, exit 2
        args = build_parser().parse_args(argv)
        args.argv, verbose = argv, args.verbose
        try:
            setup_logging(args.verbose, args.log_file)
        except OSError as exc:
            raise NegbenchError(f"--log-file {args.log_file}: cannot write ({exc.strerror})") \
                from None
        return args.func(args)
    except NegbenchError as exc:
        logging.getLogger("negbench").debug("error", exc_info=True)
        print(f"negbench: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. `negbench strategies | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("negbench: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: one line, its own exit code
        logging.getLogger("negbench").debug("internal error", exc_info=True)
        hint = "" if verbose else " (rerun with -v or --log-file FILE for the traceback)"
        print(f"negbench: internal error: {type(exc).__name__}: {exc}{hint}", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
