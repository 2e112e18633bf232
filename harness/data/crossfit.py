"""Cross-fitting (``negbench run --folds K``): every labelled query a test query exactly once.

The labelled queries of a suite (train ∪ test: queries with at least one judged relevant
document; an id in both splits is one query, its judgements merged) are dealt into ``K`` folds
by a seeded permutation; queries with the same text go to the same fold. Fold ``i``'s data trains on the other folds' queries and tests on fold
``i``'s; a query's qrels always go with it, the corpus, the ``exclude`` set (judged positives
over every split) and any dev split stay as they are.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

from negbench.harness.data.collection import Qrels, Split
from negbench.harness.errors import NegbenchError
from negbench.suites.suite_data import NoTrainSplit, SuiteData


def labelled(data: SuiteData) -> Split:
    """Train ∪ test as one split over the queries with a judged relevant document; an id in
    both splits is one query (its judgements merged, the higher relevance kept). A suite
    without a training split, or one id with two texts, is a one-line error."""
    if isinstance(data.train, NoTrainSplit):
        raise NegbenchError(f"--folds: cross-fitting trains on the other folds' labelled "
                            f"queries, but {data.train.source}")
    queries: dict[str, str] = {}
    qrels: Qrels = {}
    for split in (data.train, data.test):
        for qid, judged in split.qrels.items():
            text = split.queries[qid]
            if qid in queries and queries[qid].strip() != text.strip():
                raise NegbenchError(f"--folds: query {qid!r} is in the training and test "
                                    "qrels with two different texts; cross-fitting needs one")
            queries[qid] = text
            merged = qrels.setdefault(qid, {})
            for did, rel in judged.items():
                merged[did] = max(rel, merged.get(did, rel))
    keep = sorted(q for q, j in qrels.items() if any(r >= 1 for r in j.values()))
    source = " ∪ ".join(s.source or s.name for s in (data.train, data.test))
    return Split("labelled", {q: queries[q] for q in keep}, {q: qrels[q] for q in keep}, source)


def _rank(seed: int, qid: str) -> str:
    return hashlib.sha256(f"{seed}\0{qid}".encode("utf-8", "surrogatepass")).hexdigest()


def assign_folds(qids, k: int, seed: int = 0,
                 together: dict[str, str] | None = None) -> list[list[str]]:
    """``qids`` (duplicates are one query) in ``k`` folds, each sorted. The permutation is
    seeded and the same on every platform and version (ids ordered by sha256 of seed and id),
    dealt to the smallest fold (round-robin), so fold sizes differ by at most 1.
    ``together`` (qid -> key): queries of one key are one unit, dealt to one fold (larger
    units first; the sizes are then as balanced as the units allow)."""
    ids = sorted(set(qids))
    if isinstance(k, bool) or not isinstance(k, int) or not 2 <= k <= len(ids):
        raise NegbenchError(f"--folds {k}: expected an integer from 2 to the number of labelled "
                            f"queries ({len(ids)})")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise NegbenchError(f"--fold-seed {seed}: expected an integer in 0..2^32-1")
    units: dict[str, list[str]] = {}
    for q in ids:
        units.setdefault((together or {}).get(q, f"\0{q}"), []).append(q)
    order = sorted(units.values(), key=lambda u: (-len(u), _rank(seed, u[0]), u[0]))
    folds: list[list[str]] = [[] for _ in range(k)]
    for unit in order:
        min(folds, key=len).extend(unit)  # the first of the smallest folds
    return [sorted(f) for f in folds]


def same_text(split: Split) -> dict[str, str]:
    """qid -> its text, whitespace-normalised: queries of one text go to one fold (else the
    same claim would be trained on and tested; SciFact has such pairs)."""
    return {q: " ".join(t.split()) for q, t in split.queries.items()}


def assignment_sha256(folds: list[list[str]]) -> str:
    """sha256 of a fold assignment (each fold's sorted query ids, in fold order)."""
    canon = [sorted(f) for f in folds]
    return hashlib.sha256(json.dumps(canon, separators=(",", ":")).encode()).hexdigest()


def _subset(split: Split, qids: list[str], name: str, source: str) -> Split:
    return Split(name, {q: split.queries[q] for q in qids},
                 {q: dict(split.qrels[q]) for q in qids}, source)


def fold_data(data: SuiteData, folds: list[list[str]], i: int | None) -> SuiteData:
    """``data`` for fold ``i``: train = the other folds' queries with their qrels, test = fold
    ``i``'s; ``i=None``: the pooled test split (every labelled query, no training split), for
    runs that do not train (the zero-shot rows)."""
    k = len(folds)
    pool = labelled(data)
    unknown = sorted({q for f in folds for q in f} - set(pool.queries))
    if unknown:
        raise NegbenchError(f"fold assignment names {len(unknown)} queries that are not labelled "
                            f"queries of the suite (e.g. {unknown[0]!r})")
    if i is None:
        everyone = sorted(q for f in folds for q in f)
        test = _subset(pool, everyone, f"crossfit-{k}",
                       f"{pool.source} (cross-fitted: all {k} folds)")
        train: Split = NoTrainSplit(f"the pooled cross-fitted split of {k} folds has no "
                                    "training split (each fold trains on the others)")
    else:
        if not 0 <= i < k:
            raise NegbenchError(f"fold {i}: expected 0..{k - 1}")
        rest = sorted(q for j, f in enumerate(folds) if j != i for q in f)
        train = _subset(pool, rest, f"crossfit-{k}-train{i}",
                        f"{pool.source} (cross-fitted: folds other than {i} of {k})")
        test = _subset(pool, list(folds[i]), f"crossfit-{k}-fold{i}",
                       f"{pool.source} (cross-fitted: fold {i} of {k})")
    info = {**data.info, "crossfit": {"folds": k, "fold": i, "train_queries": len(train.qrels),
                                      "test_queries": len(test.qrels)}}
    return dataclasses.replace(data, train=train, test=test, info=info)


@dataclass(frozen=True)
class CrossFit:
    """A fold spec: ``k`` folds of the labelled queries under fold seed ``seed``."""

    k: int
    seed: int
    folds: tuple[tuple[str, ...], ...]

    @classmethod
    def of(cls, data: SuiteData, k: int, seed: int = 0) -> CrossFit:
        pool = labelled(data)
        folds = assign_folds(pool.queries, k, seed, together=same_text(pool))
        return cls(k, seed, tuple(tuple(f) for f in folds))

    @property
    def sha256(self) -> str:
        return assignment_sha256([list(f) for f in self.folds])

    @property
    def split(self) -> str:
        """The records' split name, e.g. ``crossfit-5``."""
        return f"crossfit-{self.k}"

    @property
    def num_queries(self) -> int:
        return sum(len(f) for f in self.folds)

    def spec(self) -> dict:
        """What an output folder and its records agree on (``harness.pipeline.folders``)."""
        return {"folds": self.k, "seed": self.seed, "assignment_sha256": self.sha256}

    def info(self, fold: int | None) -> dict:
        """A record's ``crossfit`` field: the spec and the fold (None: pooled, untrained)."""
        return {"folds": self.k, "fold": fold, "seed": self.seed,
                "assignment_sha256": self.sha256}

    def data(self, data: SuiteData, fold: int | None) -> SuiteData:
        return fold_data(data, [list(f) for f in self.folds], fold)


def spec_of(record: dict) -> dict | None:
    """A record's (or ownership file's) fold spec without the fold; None for the official
    split."""
    cf = record.get("crossfit") if isinstance(record, dict) else None
    if not isinstance(cf, dict):
        return None
    return {k: cf.get(k) for k in ("folds", "seed", "assignment_sha256")}


def describe_spec(spec: dict | None) -> str:
    """``cross-fitted (5 folds, fold seed 0, assignment 1a2b3c4d5e6f)`` or ``the official
    split``."""
    if spec is None:
        return "the official split"
    return (f"cross-fitted ({spec.get('folds')} folds, fold seed {spec.get('seed')}, "
            f"assignment {str(spec.get('assignment_sha256'))[:12]})")
