"""Evaluation convention profiles: how runs and qrels are treated before measuring."""

from __future__ import annotations

from dataclasses import dataclass

from negbench.harness.errors import NegbenchError


@dataclass(frozen=True)
class Profile:
    """A named set of trec_eval-style conventions, printed under every table."""

    name: str
    drop_self: bool  # BEIR: a retrieved doc whose id equals the query id is ignored
    min_rel: int  # binary measures count relevance >= min_rel
    description: str


PROFILES = {
    "beir": Profile("beir", True, 1,
                    "BEIR: doc id == query id dropped from runs; mean over all qrels queries "
                    "with a relevant doc, missing queries score 0; ties by doc id (trec_eval)"),
    "msmarco": Profile("msmarco", False, 1,
                       "MS MARCO: mean over all qrels queries (dev-small: 6,980), missing "
                       "queries score 0; ties by doc id (trec_eval)"),
    "trec-dl": Profile("trec-dl", False, 2,
                       "TREC DL: graded nDCG; binary measures count relevance >= 2; mean over "
                       "judged queries with a relevant doc, missing = 0; ties by doc id"),
}


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise NegbenchError(f"unknown convention profile {name!r}; known: {', '.join(PROFILES)}")
    return PROFILES[name]
