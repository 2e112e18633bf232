"""Argument helpers shared by subcommands."""

from __future__ import annotations

import argparse


def csv_list(text: str) -> list[str]:
    """Split a comma list, dropping blanks."""
    return [t.strip() for t in text.split(",") if t.strip()]


def seed_list(text: str) -> list[int]:
    """Comma list of integer seeds (argparse type)."""
    try:
        return [int(s) for s in csv_list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must be integers, got {text!r}") from None


def add_data_root(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", default=None,
                        help="staged data folder (default: $NEGBENCH_DATA or ../shared/data)")


def add_cache_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache-dir", default=None,
                        help="embedding/index cache (default: $NEGBENCH_CACHE or "
                             "~/.cache/negbench)")


def add_device(parser: argparse.ArgumentParser, precision: bool = False) -> None:
    """``--device`` (and ``--precision`` for commands that train)."""
    parser.add_argument("--device", default="auto",
                        help="where to encode/train/search: auto (CUDA when torch sees a GPU, "
                             "else MPS, else CPU), cpu, cuda, cuda:N or mps (default: auto)")
    if precision:
        parser.add_argument("--precision", default="auto",
                            choices=["auto", "fp32", "bf16", "fp16"],
                            help="training precision: auto = bf16 autocast on CUDA (fp16 where "
                                 "bf16 is unsupported), fp32 elsewhere; part of the config "
                                 "hash (default: auto)")
