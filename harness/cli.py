"""The ``negbench`` command line; subcommands live in ``negbench.harness.commands``."""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from negbench.harness.errors import NegbenchError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def build_parser() -> argparse.ArgumentParser:
    from negbench.harness import commands

    p = argparse.ArgumentParser(
        prog="negbench",
        description="Benchmark negative-sampling strategies for dense retrieval under a fixed "
                    "training budget.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    try:  # argument types (e.g. --seeds) raise NegbenchError too: one line, exit 2
        args = build_parser().parse_args(argv)
        return args.func(args)
    except NegbenchError as exc:
        print(f"negbench: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `negbench strategies | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("negbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
