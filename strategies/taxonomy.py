"""``taxonomy``: negatives that share a parent with the positive in a label taxonomy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from negbench.harness.errors import NegbenchError, where
from negbench.harness.io import parse
from negbench.strategies.base import MiningContext, NegativeRow, Sampler, training_pairs
from negbench.strategies.engine import check_num_negatives, finish, pair_rng
from negbench.strategies.registry import register

NO_TAXONOMY = ("taxonomy needs a parent map: the suite provides none, set "
               "--param taxonomy.parents_file=FILE.tsv")


@dataclass
class TaxonomyParams:
    """Siblings of the positive (docs sharing a parent). ``parents_file``: TSV ``doc_id<TAB>
    parent_id`` (header optional); empty = the parent map the suite provides (ESCO).
    Pairs with fewer siblings than ``num_negatives`` are topped up with random negatives
    (``fallback_pairs``); ``fallback_random=false`` is refused (every sampler fills every pair)."""

    parents_file: str = ""
    num_negatives: int = 1
    fallback_random: bool = True

    def check(self) -> None:
        check_num_negatives(self.num_negatives)
        if not self.fallback_random:
            raise NegbenchError("taxonomy: fallback_random=false is no longer supported: every "
                                "sampler trains on every pair (short pairs get random negatives)")
        if self.parents_file and not Path(self.parents_file).is_file():
            raise NegbenchError(f"{self.parents_file}: parents file not found")


def read_parent_map(path: Path) -> dict[str, set[str]]:
    """``doc_id<TAB>parent_id`` lines (header optional); problems name the file and line."""
    if not path.is_file():
        raise NegbenchError(f"{path}: parents file not found")
    out: dict[str, set[str]] = {}
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, 1):
            try:
                row = raw.decode("utf-8").rstrip("\r\n").split("\t")
            except UnicodeDecodeError:
                raise NegbenchError(f"{where(path, n)}: not valid UTF-8") from None
            if n == 1 and row[:2] == ["doc_id", "parent_id"] or row == [""]:
                continue
            if len(row) < 2:
                raise NegbenchError(f"{where(path, n)}: expected doc_id<TAB>parent_id")
            doc = parse.identifier(row[0], "doc_id", where(path, n))
            out.setdefault(doc, set()).add(parse.identifier(row[1], "parent_id", where(path, n)))
    return out


def siblings_index(parents: dict[str, set[str]]) -> dict[str, list[str]]:
    """parent -> sorted children."""
    children: dict[str, set[str]] = {}
    for doc, ps in parents.items():
        for p in ps:
            children.setdefault(p, set()).add(doc)
    return {p: sorted(c) for p, c in children.items()}


@register("taxonomy")
class TaxonomyNegatives(Sampler):
    """Taxonomy-aware negatives: siblings under a shared parent (Decorte et al. 2022, ESCO)."""

    Params = TaxonomyParams
    paper = "Decorte et al. 2022, Design of Negative Sampling Strategies for Distantly "\
            "Supervised Skill Extraction, RecSys in HR workshop"
    simplified = "siblings sampled uniformly; no other ESCO-specific negative types"

    def check_suite(self, data) -> None:
        if not self.params.parents_file and not data.parents:
            raise NegbenchError(NO_TAXONOMY)

    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        p = self.params
        p.check()
        if p.parents_file:
            parents = read_parent_map(Path(p.parents_file))
        elif ctx.extra.get("parent_map"):
            parents = ctx.extra["parent_map"]
        else:
            raise NegbenchError(NO_TAXONOMY)
        children = siblings_index(parents)
        pairs = training_pairs(ctx.train)
        chosen, no_sibling = {}, 0
        for q, pos in pairs:
            banned = ctx.exclude.get(q, set()) | {pos}
            sib = sorted({d for par in parents.get(pos, ()) for d in children[par]} - banned)
            sib = [d for d in sib if d in ctx.corpus.docs]
            no_sibling += not sib
            k = min(p.num_negatives, len(sib))
            pick = sorted(pair_rng(ctx.seed, q, pos).choice(len(sib), k, replace=False))
            chosen[(q, pos)] = tuple(sib[i] for i in pick)
        rows = finish(ctx, pairs, chosen, p.num_negatives)
        ctx.extra["pairs_without_sibling"] = no_sibling
        return rows
