"""``from-file``: negatives produced elsewhere (another tool, an LLM), read from JSONL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from negbench.harness.errors import NegbenchError, where
from negbench.strategies.base import MiningContext, NegativeRow, Sampler, training_pairs
from negbench.strategies.registry import register


@dataclass
class FromFileParams:
    """``path``: JSONL, one object per line with ``query_id``, ``positive_id`` and
    ``negative_ids`` (corpus ids) and/or ``negative_texts`` (generated texts)."""

    path: str = ""


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

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        if not self.params.path:
            raise NegbenchError("from-file needs --param from-file.path=FILE.jsonl")
        path = Path(self.params.path)
        given = read_negatives_jsonl(path)
        ctx.extra["input_file"] = str(path)
        pairs = training_pairs(ctx.train)
        missing = [p for p in pairs if p not in given]
        if len(missing) == len(pairs):
            raise NegbenchError(f"{path}: no row matches a training pair of the suite")
        return [given.get(p, NegativeRow(*p, ())) for p in pairs]
