"""``from-file``: negatives produced elsewhere (another tool, an LLM), read from JSONL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from negbench.harness.errors import NegbenchError, where
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
    ``negative_ids`` (corpus ids) and/or ``negative_texts`` (generated texts). Training pairs
    the file lacks, or with fewer than ``num_negatives`` negatives (ids and texts together), are
    topped up with random negatives (``fallback_pairs``); longer rows are kept as given."""

    path: str = ""
    num_negatives: int = 1


def read_negatives_jsonl(path: Path) -> dict[tuple[str, str], NegativeRow]:
    """Parse and validate the user's file; every problem names the file and line."""
    if not path.is_file():
        raise NegbenchError(f"{path}: negatives file not found")
    rows: dict[tuple[str, str], NegativeRow] = {}
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise NegbenchError(f"{where(path, n)}: invalid JSON ({exc.msg})") from None
            if not isinstance(obj, dict) or not {"query_id", "positive_id"} <= set(obj):
                raise NegbenchError(f"{where(path, n)}: needs query_id and positive_id")
            ids, texts = obj.get("negative_ids", []), obj.get("negative_texts", [])
            if not isinstance(ids, list) or not isinstance(texts, list) or not (ids or texts):
                raise NegbenchError(f"{where(path, n)}: negative_ids / negative_texts must be "
                                    "non-empty lists")
            if any(not str(t).strip() for t in texts):
                raise NegbenchError(f"{where(path, n)}: empty generated negative text")
            key = (str(obj["query_id"]), str(obj["positive_id"]))
            if key in rows:
                raise NegbenchError(f"{where(path, n)}: duplicate row for {key}")
            rows[key] = NegativeRow(*key, tuple(str(d) for d in ids),
                                    tuple(str(t) for t in texts))
    return rows


@register("from-file")
class FromFileNegatives(Sampler):
    """Negatives pre-generated elsewhere, e.g. by an LLM ("Don't Retrieve, Generate"), validated."""

    Params = FromFileParams
    paper = "e.g. LLM-generated negatives; any external miner"

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        if not self.params.path:
            raise NegbenchError("from-file needs --param from-file.path=FILE.jsonl")
        path = Path(self.params.path)
        given = read_negatives_jsonl(path)
        ctx.extra["input_file"] = str(path)
        pairs = training_pairs(ctx.train)
        if not any(p in given for p in pairs):
            raise NegbenchError(f"{path}: no row matches a training pair of the suite")
        k = self.params.num_negatives
        check_num_negatives(k)
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
