"""MS MARCO passage suites: staged queries/qrels (ir_datasets ids) + the user's passages.

The 8.8M passages are not staged. Training and indexing read them from ``collection.tsv``
(``pid<TAB>passage``, as in MS MARCO's ``collectionandqueries.tar.gz``) given by
``--collection`` / ``$NEGBENCH_MSMARCO_COLLECTION``, or from the ir_datasets cache when the
user has downloaded ``msmarco-passage`` there. Training queries/qrels come from
``queries.train.tsv`` + ``qrels.train.tsv`` next to the collection when present, else from
ir_datasets ``msmarco-passage/train/judged``.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from negbench.harness.data.collection import Corpus, Split, check_doc
from negbench.harness.errors import NegbenchError, where
from negbench.harness.io import parse
from negbench.suites.definition import Suite
from negbench.suites.loaders import register_loader
from negbench.suites.suite_data import NoTrainSplit, SuiteData, judged_positives


def read_collection(path: Path) -> Corpus:
    """``pid<TAB>text`` lines; lines starting with ``#`` are comments (fixture headers)."""
    path = Path(path)
    if path.is_dir():
        path = path / "collection.tsv"
    if not path.is_file():
        raise NegbenchError(f"{path}: MS MARCO collection not found (expected collection.tsv)")
    csv.field_size_limit(sys.maxsize)
    docs: dict = {}
    with open(path, encoding="utf-8", newline="") as fh:
        for n, row in enumerate(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
            if not row or row[0].startswith("#"):
                continue
            if len(row) != 2:
                raise NegbenchError(f"{where(path, n)}: expected pid<TAB>passage, got "
                                    f"{len(row)} columns")
            docs[row[0]] = check_doc(row[0], "", row[1], docs, where(path, n))
    if not docs:
        raise NegbenchError(f"{path}: collection is empty")
    return Corpus(docs, source=str(path))


def read_queries_tsv(path: Path) -> dict[str, str]:
    """``qid<TAB>text`` (MS MARCO queries files); ``#`` lines are comments."""
    out: dict[str, str] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        for n, row in enumerate(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
            if not row or row[0].startswith("#"):
                continue
            if len(row) != 2 or not row[1].strip():
                raise NegbenchError(f"{where(path, n)}: expected qid<TAB>query text")
            out[row[0]] = row[1].strip()
    return out


def read_qrels_trec(path: Path) -> dict[str, dict[str, int]]:
    """``qid 0 pid rel`` (tab or space separated); ``#`` lines are comments."""
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            cols = line.split()
            if not cols or cols[0].startswith("#"):
                continue
            if len(cols) != 4:
                raise NegbenchError(f"{where(path, n)}: expected 'qid 0 pid rel'")
            qrels.setdefault(cols[0], {})[cols[2]] = parse.relevance(cols[3], where(path, n))
    return qrels


def _train_split(suite: Suite, coll: Path | None, corpus: Corpus, root: Path | None) -> Split:
    folder = (coll if coll.is_dir() else coll.parent) if coll else None
    if folder and (folder / "queries.train.tsv").is_file() and \
            (folder / "qrels.train.tsv").is_file():
        queries = read_queries_tsv(folder / "queries.train.tsv")
        qrels = read_qrels_trec(folder / "qrels.train.tsv")
        split = Split("train", queries, qrels, str(folder / "qrels.train.tsv"))
        from negbench.harness.data.collection import validate_split

        validate_split(corpus, split)
        split.queries = {q: queries[q] for q in qrels}
        return split
    try:
        from negbench.harness.data.irds_fetch import load_split

        return load_split(suite.train, corpus, root)
    except Exception as exc:  # noqa: BLE001 - ir_datasets raises many types offline
        return NoTrainSplit(f"{suite.name}: no MS MARCO training data ({type(exc).__name__}); "
                            "put queries.train.tsv and qrels.train.tsv next to collection.tsv "
                            f"or let ir_datasets download {suite.train}")


@register_loader("msmarco")
def load_msmarco(suite: Suite, data_root: Path | None = None,
                 allow_partial: bool = False) -> SuiteData:
    """Corpus from the user's collection, real staged test queries/qrels.

    The collection must contain every judged passage of the test qrels, else a one-line error
    (a partial collection would silently lower every score). ``allow_partial`` (Python API only,
    for fixtures) keeps the full official qrels and skips that check.
    """
    from negbench.harness.data.irds_fetch import load_corpus, load_split
    from negbench.harness.data.paths import given_root

    root = given_root(data_root)  # None: the default places, else the ir_datasets cache
    coll = suite.collection_path()
    if coll is not None:
        corpus = read_collection(coll)
    else:
        try:
            corpus = load_corpus(suite.corpus, root)
        except NegbenchError:
            raise
        except Exception:  # noqa: BLE001 - any ir_datasets download failure
            raise NegbenchError(
                f"{suite.name}: MS MARCO passages are not available offline; pass "
                f"--collection PATH/collection.tsv (or set ${suite.collection_env}); "
                "`negbench eval` scores a run file without them") from None
    test = load_split(suite.test, None, root)
    judged = {d for j in test.qrels.values() for d, r in j.items() if r >= 1}
    missing = judged - set(corpus.docs)
    if missing and not allow_partial:
        raise NegbenchError(f"{corpus.source}: the collection lacks {len(missing):,} of "
                            f"{len(judged):,} relevant passages of {suite.test}; use the full "
                            "MS MARCO collection.tsv (8,841,823 passages)")
    train = _train_split(suite, coll, corpus, root)
    splits = [s for s in (train, test) if not isinstance(s, NoTrainSplit)]
    info = {"collection": corpus.source, "passages": len(corpus),
            "relevant_passages_missing": len(missing)}
    return SuiteData(corpus, train, test, judged_positives(*splits), info=info)
