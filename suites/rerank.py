"""Reranking suites: each test query's first-stage candidate list, with the passage texts.

The lists are rank_llm's layout (castorini/rank_llm ``retrieve_results/<RUN>/``): a JSON list of
``{"query", "hits": [{"qid", "docid", "rank", "score", "content"}]}`` plus the same run in
TREC format; both must list the same passages in the same order. The corpus is the union of
the candidate passages, a query's pool is its own candidates (``SuiteData.candidates``), and
the first stage's ranking with its scores is the suite's zero-shot row for that system
(``params.first_stage``: ``bm25`` gives the BM25 row). Queries and qrels are the official
ones (``Suite.test``, an ir_datasets id read as for the MS MARCO suites). There is no training
split: these suites are evaluation-only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from negbench.harness.data.collection import Corpus, check_doc
from negbench.harness.errors import NegbenchError
from negbench.harness.io import parse
from negbench.harness.io.trec_files import Hits, read_trec_run
from negbench.suites.loaders import register_loader
from negbench.suites.suite_data import NoTrainSplit, SuiteData, judged_positives

if TYPE_CHECKING:
    from negbench.suites.definition import Suite


def read_candidates(path: Path) -> tuple[dict[str, Hits], dict[str, str]]:
    """rank_llm's ``retrieve_results_*.json``: ({qid: [(docid, score)] in list order},
    {docid: passage}); a docid with two different texts is an error."""
    try:
        raw = json.loads(Path(path).read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NegbenchError(f"{path}: not a JSON file of candidate lists ({exc})") from None
    if not isinstance(raw, list) or not raw:
        raise NegbenchError(f"{path}: expected a non-empty JSON list of "
                            "{'query', 'hits'} objects")
    lists: dict[str, Hits] = {}
    texts: dict[str, str] = {}
    for i, entry in enumerate(raw):
        loc = f"{path}: entry {i}"
        hits = entry.get("hits") if isinstance(entry, dict) else None
        if not isinstance(hits, list) or not hits:
            raise NegbenchError(f"{loc}: expected an object with a non-empty 'hits' list")
        qid = None
        ranked: dict[str, float] = {}
        for j, hit in enumerate(hits):
            at = f"{loc}, hit {j}"
            if not isinstance(hit, dict) or not {"qid", "docid", "score", "content"} <= set(hit):
                raise NegbenchError(f"{at}: expected qid, docid, score and content")
            q = parse.identifier(hit["qid"], "qid", at)
            if qid not in (None, q):
                raise NegbenchError(f"{at}: qid {q} in the list of query {qid}")
            qid = q
            did = parse.identifier(hit["docid"], "docid", at)
            text = parse.text(hit["content"], "content", at).strip()
            if did in ranked:
                raise NegbenchError(f"{at}: docid {did} twice for query {qid}")
            if texts.setdefault(did, text) != text:
                raise NegbenchError(f"{at}: docid {did} has another text than before")
            if isinstance(hit["score"], bool) or not isinstance(hit["score"], (int, float)):
                raise NegbenchError(f"{at}: score must be a number")
            ranked[did] = float(hit["score"])
        if qid in lists:
            raise NegbenchError(f"{loc}: a second list for query {qid}")
        lists[qid] = list(ranked.items())
    return lists, texts


def check_same_run(lists: dict[str, Hits], trec: dict[str, Hits], json_path: Path,
                   trec_path: Path) -> None:
    """The JSON lists and the TREC run hold the same passages for the same queries."""
    if set(lists) != set(trec):
        odd = sorted(set(lists) ^ set(trec))[:3]
        raise NegbenchError(f"{trec_path}: not the run of {json_path.name} (queries differ, "
                            f"e.g. {', '.join(odd)})")
    for qid, hits in lists.items():
        if {d for d, _ in hits} != {d for d, _ in trec[qid]}:
            raise NegbenchError(f"{trec_path}: query {qid} lists other passages than "
                                f"{json_path.name}")


@register_loader("rerank")
def load_rerank(suite: Suite, data_root: Path | None = None) -> SuiteData:
    """Corpus = the candidate passages; test = the official queries/qrels of ``suite.test``
    (full qrels: judged passages outside the pools count in the ideal ranking)."""
    from negbench.harness.data.irds_fetch import load_split
    from negbench.harness.data.paths import given_root

    root = given_root(data_root)
    missing = suite.missing_candidate_lists(root)
    if missing:
        raise NegbenchError(f"{suite.name}: candidate lists not found: {missing}")
    json_path, trec_path = suite.candidate_list_files(root)
    lists, texts = read_candidates(json_path)
    trec = read_trec_run(trec_path)  # trec_eval order: score descending, ties by doc id
    check_same_run(lists, trec, json_path, trec_path)
    test = load_split(suite.test, None, root)
    unknown = sorted(set(lists) - set(test.queries))
    if unknown:
        raise NegbenchError(f"{json_path}: {len(unknown)} lists for queries that are not "
                            f"judged in {suite.test} (e.g. {unknown[0]}); wrong year?")
    absent = sorted(set(test.queries) - set(lists))
    if absent:
        raise NegbenchError(f"{json_path}: no candidate list for {len(absent)} of "
                            f"{len(test.queries)} judged queries of {suite.test} "
                            f"(e.g. {absent[0]})")
    docs: dict = {}
    for did in sorted(texts):
        docs[did] = check_doc(did, "", texts[did], docs, str(json_path))
    corpus = Corpus(docs, source=str(json_path))
    train = NoTrainSplit(f"{suite.name} is evaluation-only (first-stage candidate lists, no "
                         "training split): use `negbench zero-shot` or `negbench eval`")
    first_stage = suite.params.get("first_stage")
    info = {"candidate_lists": f"{suite.staged}/{json_path.name}", "first_stage": first_stage,
            "passages": len(corpus), "queries": len(trec),
            "pool_depths": sorted({len(h) for h in trec.values()})}
    return SuiteData(corpus, train, test, judged_positives(test), info=info,
                     candidates=trec, first_stage=first_stage)
