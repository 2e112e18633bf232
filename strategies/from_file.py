"""``from-file``: negatives produced elsewhere (another tool, an LLM, a trainer's dataset):
negbench JSONL, or the sentence-transformers / FlagEmbedding / Tevatron formats that
``negbench export`` writes (``harness.negative_formats``)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from negbench.harness.errors import NegbenchError
from negbench.harness.io.negative_formats import ALL_FORMATS, detect_format, read_foreign
from negbench.harness.io.negatives import read_negatives
from negbench.strategies.base import MiningContext, NegativeRow, Sampler, training_pairs
from negbench.strategies.engine import (
    check_num_negatives,
    pair_rng,
    random_negatives,
    record_fill,
)
from negbench.strategies.registry import register


@dataclass
class FromFileParams:
    """``path``: JSONL, one object per line with ``query_id``, ``positive_id`` and
    ``negative_ids`` (corpus ids) and/or ``negative_texts`` (generated texts). A file must
    cover every training pair with at least ``num_negatives`` negatives (ids and texts
    together; longer rows are kept as given); ``allow_partial=true`` accepts a file that does
    not and tops the short pairs up with random negatives (recorded as ``fallback_pairs``).
    ``format``: auto (detected), negbench, st (a saved sentence-transformers dataset folder),
    flagembedding or tevatron (JSONL); texts are mapped back to the suite's ids."""

    path: str = ""
    num_negatives: int = 1
    allow_partial: bool = False
    format: str = "auto"

    def check(self) -> None:
        if not self.path:
            raise NegbenchError("from-file needs --param from-file.path=FILE.jsonl")
        if self.format not in ("auto", *ALL_FORMATS):
            raise NegbenchError(f"from-file.format={self.format!r}: expected auto or one of "
                                f"{', '.join(ALL_FORMATS)}")
        path = Path(self.path)
        if not (path.is_file() or (path.is_dir() and self.resolved_format() == "st")):
            raise NegbenchError(f"{self.path}: negatives file not found")
        check_num_negatives(self.num_negatives)
        if self.resolved_format() == "negbench":
            _syntax_checked(str(path.resolve()), path.stat().st_mtime_ns)

    def resolved_format(self) -> str:
        return detect_format(Path(self.path)) if self.format == "auto" else self.format


@functools.lru_cache(maxsize=8)
def _syntax_checked(path: str, mtime_ns: int) -> None:
    """The file's lines under the negatives grammar (UTF-8, JSON, ids, lists), checked once per
    version of the file when the parameters are parsed, before anything is written."""
    read_negatives(Path(path), require_negatives=True)


@register("from-file")
class FromFileNegatives(Sampler):
    """Negatives pre-generated elsewhere, e.g. by an LLM ("Don't Retrieve, Generate"), validated."""

    Params = FromFileParams
    paper = "e.g. LLM-generated negatives; any external miner"

    def check_suite(self, data) -> None:
        """The file's rows against the suite (ids, judged positives, coverage), before
        anything is written."""
        self.given(data.corpus, data.train, data.exclude)

    def given(self, corpus, train, exclude) -> dict[tuple[str, str], NegativeRow]:
        """The file's rows by (query, positive), validated against the suite's data; a file
        that does not cover every training pair needs ``allow_partial``."""
        path, k = Path(self.params.path), self.params.num_negatives
        fmt = self.params.resolved_format()
        rows = (read_negatives(path, corpus, exclude, require_negatives=True)
                if fmt == "negbench" else read_foreign(path, fmt, corpus, train, exclude))
        given = {(r.query_id, r.positive_id): r for r in rows}
        pairs = training_pairs(train)
        if not any(p in given for p in pairs):
            raise NegbenchError(f"{path}: no row matches a training pair of the suite")
        short = [p for p in pairs if p not in given or
                 len(given[p].negative_ids) + len(given[p].negative_texts) < k]
        if short and not self.params.allow_partial:
            missing = sum(p not in given for p in short)
            raise NegbenchError(
                f"{path}: covers {len(pairs) - missing} of {len(pairs)} training pairs and "
                f"{len(short) - missing} of them have fewer than {k} negative(s); complete "
                "it, or accept random negatives for the rest with "
                "--param from-file.allow_partial=true (recorded as fallback_pairs)")
        return given

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        self.params.check()
        k = self.params.num_negatives
        given = self.given(ctx.corpus, ctx.train, ctx.exclude)
        ctx.extra["input_file"] = str(Path(self.params.path))
        ctx.extra["input_format"] = self.params.resolved_format()
        pairs = training_pairs(ctx.train)
        rows, fill = [], {}
        for q, pos in pairs:
            g = given.get((q, pos), NegativeRow(q, pos, ()))
            have = len(g.negative_ids) + len(g.negative_texts)
            if have < k:
                ids = random_negatives(ctx.corpus.ids, ctx.exclude.get(q, set()) | {pos},
                                       list(g.negative_ids), len(g.negative_ids) + k - have,
                                       pair_rng(ctx.seed, q, "fallback|" + pos))
                g = NegativeRow(q, pos, tuple(ids), g.negative_texts)
                fill[(q, pos)] = "fallback"
            rows.append(g)
        record_fill(ctx, fill)
        return rows
