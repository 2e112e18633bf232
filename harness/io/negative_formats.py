"""Negatives in the formats trainers read, out (``negbench export``) and in (``from-file``).

- ``st``: a sentence-transformers training dataset (``datasets`` ``save_to_disk`` folder) with
  columns anchor, positive, negative_1..n;
- ``flagembedding``: JSONL ``{"query", "pos": [...], "neg": [...], "pos_scores": [...],
  "neg_scores": [...], "prompt", "type": "normal"}`` (FlagEmbedding's fine-tuning data), one
  line per query: the pairs of a query that share their negatives, so that reading it back
  gives every pair its own negatives (a query whose pairs differ gets a line per list);
- ``tevatron``: JSONL ``{"query_id", "query", "positive_passages": [{"docid", "title",
  "text"}], "negative_passages": [...]}`` (Tevatron).

Otherwise one record per (query, positive) pair, in the negatives file's order. Texts are what
the models see (``Doc.text``: title + body); Tevatron keeps ids, title and body apart. Reading
maps texts back to the suite's ids (a text not in the corpus is an error naming file:line).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from negbench.harness.errors import NegbenchError, where
from negbench.harness.io.atomic import write_text_atomic
from negbench.harness.io.negatives import NegativeRow, row_problem

if TYPE_CHECKING:
    from negbench.harness.data.collection import Corpus, Split

FORMATS = ("st", "flagembedding", "tevatron")
# per (query id, positive id): the positive's score and the negatives' (ids, then texts)
Scores = dict[tuple[str, str], tuple[float, list[float]]]
ALL_FORMATS = ("negbench", *FORMATS)


# -- out -------------------------------------------------------------------------------------
def _texts(r: NegativeRow, corpus: Corpus) -> list[str]:
    return [corpus.docs[d].text for d in r.negative_ids] + list(r.negative_texts)


def _passage(corpus: Corpus, d: str) -> dict:
    doc = corpus.docs[d]
    return {"docid": d, "title": doc.title, "text": doc.body}


def export_rows(rows: list[NegativeRow], corpus: Corpus, split: Split, fmt: str,
                output: Path, scores: Scores | None = None, prompt: str = "") -> int:
    """Write ``rows`` (sorted by query, positive) as ``fmt`` to ``output``; returns the number
    of pairs. FlagEmbedding lines carry ``scores`` (per pair: the positive's, the negatives')
    when given, and ``prompt`` (the run's query prompt)."""
    rows = sorted(rows, key=lambda r: (r.query_id, r.positive_id))
    if fmt == "st":
        return _export_st(rows, corpus, split, Path(output))
    if fmt not in FORMATS:
        raise NegbenchError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if fmt == "flagembedding":
        objs = _flagembedding(rows, corpus, split, scores, prompt)
    else:
        objs = [{"query_id": r.query_id, "query": split.queries[r.query_id],
                 "positive_passages": [_passage(corpus, r.positive_id)],
                 "negative_passages": [_passage(corpus, d) for d in r.negative_ids]
                 + [{"docid": "", "title": "", "text": t} for t in r.negative_texts]}
                for r in rows]
    write_text_atomic("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs),
                      Path(output))
    return len(rows)


def _flagembedding(rows: list[NegativeRow], corpus: Corpus, split: Split,
                   scores: Scores | None, prompt: str) -> list[dict]:
    """One object per query and list of negatives, its positives (and scores) in order."""
    groups: dict[tuple, list[NegativeRow]] = {}
    for r in rows:
        groups.setdefault((r.query_id, r.negative_ids, r.negative_texts), []).append(r)
    out = []
    for (q, _, _), same in groups.items():
        obj = {"query": split.queries[q], "pos": [corpus.docs[r.positive_id].text for r in same],
               "neg": _texts(same[0], corpus)}
        if scores is not None:
            obj["pos_scores"] = [scores[(q, r.positive_id)][0] for r in same]
            obj["neg_scores"] = list(scores[(q, same[0].positive_id)][1])
        out.append({**obj, "prompt": prompt, "type": "normal"})
    return out


def _export_st(rows: list[NegativeRow], corpus: Corpus, split: Split, output: Path) -> int:
    from datasets import Dataset

    n = {len(_texts(r, corpus)) for r in rows}
    if len(n) != 1:
        raise NegbenchError("rows have different numbers of negatives; a sentence-transformers "
                            "dataset needs the same in each (use flagembedding or tevatron)")
    cols: dict[str, list[str]] = {
        "anchor": [split.queries[r.query_id] for r in rows],
        "positive": [corpus.docs[r.positive_id].text for r in rows]}
    for i in range(n.pop()):
        cols[f"negative_{i + 1}"] = [_texts(r, corpus)[i] for r in rows]
    Dataset.from_dict(cols).save_to_disk(str(output))
    return len(rows)


# -- in --------------------------------------------------------------------------------------
def detect_format(path: Path) -> str:
    """``st`` for a saved dataset folder, else from the first JSONL record's keys."""
    path = Path(path)
    if path.is_dir():
        return "st"
    with open(path, "rb") as fh:
        first = next((line for line in fh if line.strip()), b"")
    try:
        keys = set(json.loads(first.decode("utf-8")))
    except (ValueError, TypeError, UnicodeDecodeError):
        return "negbench"  # the negbench reader names the line's problem
    if {"positive_passages", "negative_passages"} <= keys:
        return "tevatron"
    if {"query", "pos", "neg"} <= keys:
        return "flagembedding"
    return "negbench"


class TextIndex:
    """Texts back to ids: queries of the training split, documents of the corpus."""

    def __init__(self, corpus: Corpus, split: Split, exclude: dict[str, set[str]]) -> None:
        self.corpus, self.split, self.exclude = corpus, split, exclude
        self.queries: dict[str, list[str]] = defaultdict(list)
        for q in sorted(split.queries):
            self.queries[split.queries[q]].append(q)
        self.docs: dict[str, list[str]] = defaultdict(list)
        for d in corpus.ids:
            self.docs[corpus.docs[d].text].append(d)

    def pair(self, query: str, positive: str, loc: str,
             taken: frozenset | set = frozenset()) -> tuple[str, str]:
        """(query id, positive id): a training query with this text judging a doc with that
        text relevant; queries sharing a text take their ids in order (first not ``taken``)."""
        qids = self.queries.get(query)
        if not qids:
            raise NegbenchError(f"{loc}: query text is not a training query of the suite: "
                                f"{query[:60]!r}")
        dids = self.docs.get(positive)
        if not dids:
            raise NegbenchError(f"{loc}: positive text is not in the corpus: {positive[:60]!r}")
        found = [(q, d) for q in qids for d in dids if d in self.exclude.get(q, ())]
        if found:
            return next((p for p in found if p not in taken), found[0])
        raise NegbenchError(f"{loc}: positive is not judged relevant to query {qids[0]!r}")

    def negative(self, q: str, text: str, loc: str) -> str:
        """The corpus id of a negative's text (not a judged positive of ``q`` when the text
        is shared)."""
        dids = self.docs.get(text)
        if not dids:
            raise NegbenchError(f"{loc}: negative text is not in the corpus: {text[:60]!r}")
        return next((d for d in dids if d not in self.exclude.get(q, ())), dids[0])


def _jsonl(path: Path):
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            loc = where(path, n)
            try:
                obj = json.loads(raw.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise NegbenchError(f"{loc}: not a JSON object") from None
            if not isinstance(obj, dict):
                raise NegbenchError(f"{loc}: not a JSON object")
            yield loc, obj


def _strings(obj: dict, key: str, loc: str) -> list[str]:
    value = obj.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise NegbenchError(f"{loc}: {key!r} must be a list of strings")
    return value


def _records(path: Path, fmt: str):
    """(location, query text or id, positives, negatives) per record of a foreign file."""
    if fmt == "st":
        from datasets import load_from_disk

        ds = load_from_disk(str(path))
        negs = sorted((c for c in ds.column_names if c.startswith("negative")),
                      key=lambda c: int(c.rpartition("_")[2] or 0))
        if not {"anchor", "positive"} <= set(ds.column_names) or not negs:
            raise NegbenchError(f"{path}: a sentence-transformers dataset needs columns "
                                "anchor, positive, negative_1..n")
        for n, row in enumerate(ds, 1):
            yield f"{path} row {n}", row["anchor"], [row["positive"]], [row[c] for c in negs]
    elif fmt == "flagembedding":
        for loc, obj in _jsonl(path):
            if not isinstance(obj.get("query"), str):
                raise NegbenchError(f"{loc}: expected {{\"query\", \"pos\", \"neg\"}}")
            yield loc, obj["query"], _strings(obj, "pos", loc), _strings(obj, "neg", loc)
    else:
        for loc, obj in _jsonl(path):
            passages = []
            for key in ("positive_passages", "negative_passages"):
                ps = obj.get(key)
                if not isinstance(ps, list) or not all(isinstance(p, dict) for p in ps):
                    raise NegbenchError(f"{loc}: {key!r} must be a list of passages")
                passages.append(ps)
            yield loc, obj, *passages


def read_foreign(path: Path, fmt: str, corpus: Corpus, split: Split,
                 exclude: dict[str, set[str]]) -> list[NegativeRow]:
    """Rows of a st / flagembedding / tevatron file, ids mapped back through the suite; each
    row checked against it as it is read (``negatives.row_problem``: a known positive judged
    relevant, negatives in the corpus and not judged relevant), naming file:line."""

    index = TextIndex(corpus, split, exclude)
    rows: dict[tuple[str, str], NegativeRow] = {}
    for loc, query, positives, negatives in _records(Path(path), fmt):
        for pos in positives:
            if fmt == "tevatron":
                q, p, negs = _tevatron_pair(index, query, pos, negatives, loc)
            else:
                q, p = index.pair(query, pos, loc, rows.keys())
                negs = tuple(index.negative(q, t, loc) for t in negatives)
            if (q, p) in rows:
                raise NegbenchError(f"{loc}: pair ({q!r}, {p!r}) is listed twice")
            rows[(q, p)] = NegativeRow(q, p, negs)
            problem = row_problem(rows[(q, p)], corpus, exclude)
            if problem:
                raise NegbenchError(f"{loc}: {problem}")
    if not rows:
        raise NegbenchError(f"{path}: negatives file is empty")
    return list(rows.values())


def _tevatron_pair(index: TextIndex, obj: dict, pos: dict, negatives: list[dict], loc: str):
    """Tevatron carries ids: an id given must be the suite's (a training query, a corpus
    doc); an empty or absent one (e.g. a generated negative) is mapped through its text."""
    q = str(obj.get("query_id") or "")
    if q and q not in index.split.queries:
        raise NegbenchError(f"{loc}: query id {q!r} is not a training query of "
                            f"{index.split.source or index.split.name}")
    if not q:
        q, _ = index.pair(str(obj.get("query", "")), _passage_text(pos), loc)

    def doc(p: dict) -> str:
        d = str(p.get("docid") or "")
        if d and d not in index.corpus.docs:
            raise NegbenchError(f"{loc}: doc id {d!r} is not in the corpus")
        return d or index.negative(q, _passage_text(p), loc)

    return q, doc(pos), tuple(doc(n) for n in negatives)


def _passage_text(p: dict) -> str:
    """A Tevatron passage as the corpus text (title + body, as ``Doc.text``)."""
    title, body = str(p.get("title", "") or ""), str(p.get("text", ""))
    return f"{title} {body}".strip() if title else body.strip()
