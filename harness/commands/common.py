"""Argument helpers shared by subcommands."""

from __future__ import annotations

import argparse


def csv_list(text: str) -> list[str]:
    """Split a comma list, dropping blanks."""
    return [t.strip() for t in text.split(",") if t.strip()]


def name_list(text: str, option: str, what: str, why: str = "") -> list[str]:
    """``csv_list`` for an option that names things (``--measures``, ``--samplers``): a list
    naming nothing, or one name twice, is a ``NegbenchError`` naming ``option`` (``why``:
    why a repeat is refused)."""
    from negbench.harness.errors import NegbenchError

    names = csv_list(text)
    if not names:
        raise NegbenchError(f"{option} {text!r}: no {what} named")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise NegbenchError(f"{option} {text!r}: {', '.join(map(repr, dup))} listed twice"
                            + (f" ({why})" if why else ""))
    return names


def seed_list(text: str) -> list[int]:
    """Comma list of distinct decimal seeds in 0..2^32-1 (argparse type; ``1_0`` is not 10).
    Raises ``NegbenchError``, which the CLI prints as one line."""
    from negbench.harness.errors import NegbenchError
    from negbench.harness.io import parse

    seeds = [parse.integer(s, "seed", "--seeds", 0, 2**32 - 1) for s in csv_list(text)]
    if not seeds or len(set(seeds)) != len(seeds):
        raise NegbenchError(f"--seeds {text!r}: give distinct integers in 0..2^32-1")
    return seeds


def add_data_root(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", default=None,
                        help="staged data folder: where the suites' files (corpus, queries, "
                             "qrels) are read from (default: $NEGBENCH_DATA or "
                             "../shared/data)")


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
                                 "bf16 is unsupported) and on a CPU with AVX-512 BF16 or "
                                 "AMX-BF16 (training and every encoding of the run), fp32 "
                                 "elsewhere; for `run`, auto keeps the precision of the runs "
                                 "already in --output; part of the config hash (default: auto)")


def add_prompts(parser: argparse.ArgumentParser) -> None:
    """``--query-prompt`` / ``--doc-prompt`` (default: the model's own, see harness.prompts)."""
    parser.add_argument("--query-prompt", default=None, metavar="TEXT",
                        help="prepended to every query, e.g. 'query: ' (default: the model's "
                             "config_sentence_transformers.json prompts['query'], else none; "
                             "'' for none); recorded, and part of the config hash when set")
    parser.add_argument("--doc-prompt", default=None, metavar="TEXT",
                        help="prepended to every document, e.g. 'passage: ' (default: the "
                             "model's prompts['document'], else none; '' for none)")
