"""ESCO skill extraction (Decorte et al. 2022 TECH/HOUSE, 2023 TECHWOLF) as retrieval.

Documents are the 13,896 ESCO v1.1.1 skills (text = the line of ``skills_en_label.txt``, id =
the skill URI's UUID). A query is a job-ad sentence (``granularity: sentence``, the 2023
protocol: relevant = every skill annotated on any span of it) or one annotated span
(``granularity: span``: text = the span, then the sentence as context). Spans labelled
``LABEL NOT PRESENT`` / ``UNDERSPECIFIED`` carry no skill; queries left with no skill are
dropped. Annotation labels join on both ``preferred_label`` and ``esco_preferred_label``
(four labels exist only in the raw upstream form, see MANIFEST).

Training data is distantly supervised from the taxonomy itself: every alternative label that
differs from the skill's own label, and every description, is a query for its skill
(identical texts are merged into one query with several positives), plus the TECH and HOUSE
validation annotations unless ``train_with_validation: false``.
"""

from __future__ import annotations

import csv
import gzip
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

from negbench.harness.data.collection import Corpus, Split, check_doc, validate_split
from negbench.harness.errors import NegbenchError
from negbench.harness.io import parse
from negbench.suites.definition import Suite
from negbench.suites.loaders import register_loader
from negbench.suites.suite_data import SuiteData, judged_positives

NO_SKILL = {"LABEL NOT PRESENT", "UNDERSPECIFIED"}
EXTRACTION = "esco-skill-extraction"
TAXONOMY = "esco-taxonomy"


def _root(data_root: Path | None) -> Path:
    from negbench.harness.data.paths import data_root as resolve

    root = resolve(data_root)
    for d in (EXTRACTION, TAXONOMY):
        if not (root / d).is_dir():
            raise NegbenchError(f"{root / d}: ESCO data not found; set $NEGBENCH_DATA or "
                                "--data-root to the folder holding esco-skill-extraction/ and "
                                "esco-taxonomy/")
    return root


def _tsv_rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def skill_id(uri: str) -> str:
    """Doc id of a skill: the UUID at the end of its ESCO URI."""
    return uri.rstrip("/").rsplit("/", 1)[-1]


@lru_cache(maxsize=4)
def _skills(root: Path) -> tuple[dict[str, str], dict[str, str], dict[str, list[str]]]:
    """(doc id -> label text, any label form -> doc id, doc id -> alt labels)."""
    rows = _tsv_rows(root / TAXONOMY / "skill_labels.tsv")
    labels = (root / EXTRACTION / "skills_en_label.txt").read_text(encoding="utf-8").split("\n")
    if len(rows) != len(labels):
        raise NegbenchError(f"{root / TAXONOMY}/skill_labels.tsv has {len(rows)} rows but "
                            f"skills_en_label.txt has {len(labels)} labels")
    text, lookup, alts = {}, {}, {}
    path = root / TAXONOMY / "skill_labels.tsv"
    for n, r in enumerate(rows, 2):
        loc = f"{path}:{n}"
        did = skill_id(parse.identifier(r.get("skill_uri"), "skill_uri", loc))
        idx = parse.integer(r.get("label_idx"), "label_idx", loc, 0, len(labels) - 1)
        label = parse.text(r.get("preferred_label"), "preferred_label", loc)
        if labels[idx] != label:
            raise NegbenchError(f"{loc}: label_idx {idx} disagrees with skills_en_label.txt")
        text[did] = label
        lookup.setdefault(label, did)
        lookup.setdefault(parse.text(r.get("esco_preferred_label"), "esco_preferred_label",
                                     loc), did)
        alts[did] = [a for a in parse.text(r.get("alt_labels"), "alt_labels", loc,
                                           optional=True).split(" | ") if a]
    return text, lookup, alts


def esco_corpus(data_root: Path | None = None) -> Corpus:
    """The 13,896 ESCO skills as documents (text = the benchmark's label line)."""
    root = _root(data_root)
    text, _, _ = _skills(root)
    docs: dict = {}
    for did, label in text.items():
        docs[did] = check_doc(did, "", label, docs, "esco-taxonomy/skill_labels.tsv")
    return Corpus(docs, source=str(root / TAXONOMY / "skill_labels.tsv"))


def parent_map(data_root: Path | None = None) -> dict[str, set[str]]:
    """Skill doc id -> ids of its broader concepts (skill groups and broader skills), from
    ``esco-taxonomy/skill_parents.tsv``; ids are URI UUIDs, like the doc ids."""
    root = _root(data_root)
    out: dict[str, set[str]] = defaultdict(set)
    path = root / TAXONOMY / "skill_parents.tsv"
    for n, r in enumerate(_tsv_rows(path), 2):
        loc = f"{path}:{n}"
        out[skill_id(parse.identifier(r.get("skill_uri"), "skill_uri", loc))].add(
            skill_id(parse.identifier(r.get("parent_uri"), "parent_uri", loc)))
    return dict(out)


def annotation_split(data_root: Path | None, dataset: str, split: str,
                     granularity: str = "sentence") -> Split:
    """Queries and qrels of ``<dataset>_<split>_annotations.csv`` (real rows, quoted CSV)."""
    root = _root(data_root)
    path = root / EXTRACTION / f"{dataset}_{split}_annotations.csv"
    if not path.is_file():
        raise NegbenchError(f"{path}: no such ESCO annotation file")
    _, lookup, _ = _skills(root)
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    if granularity == "span" and rows and "span" not in rows[0]:
        raise NegbenchError(f"{path}: has no spans; use granularity 'sentence'")
    keys: dict[tuple, str] = {}
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    for n, r in enumerate(rows, 2):
        loc = f"{path}:{n}"
        sentence = parse.text(r.get("sentence"), "sentence", loc).strip()
        if not sentence:
            raise NegbenchError(f"{loc}: sentence is empty")
        key = (sentence,) if granularity == "sentence" else (
            sentence, parse.text(r.get("span"), "span", loc).strip())
        if key not in keys:
            keys[key] = f"{dataset}-{split}-{len(keys)}"
            queries[keys[key]] = sentence if granularity == "sentence" else \
                f"{key[1]} ({sentence})"
        label = parse.text(r.get("label"), "label", loc)
        if label.strip() in NO_SKILL:
            continue
        did = lookup.get(label) or lookup.get(label.strip())
        if did is None:
            raise NegbenchError(f"{path}:{n}: label {label!r} is not an ESCO skill label")
        qrels.setdefault(keys[key], {})[did] = 1
    return Split(f"{dataset}/{split}", {q: queries[q] for q in qrels}, qrels, str(path))


def taxonomy_training_split(data_root: Path | None = None) -> Split:
    """Distant supervision from ESCO: alt labels and descriptions -> their skill."""
    root = _root(data_root)
    text, _, alts = _skills(root)
    positives: dict[str, set[str]] = defaultdict(set)
    for did, alt in alts.items():
        own = text[did].strip().lower()
        for a in alt:
            if a.strip().lower() != own:
                positives[a.strip()].add(did)
    with gzip.open(root / TAXONOMY / "skills_en.csv.gz", "rt", encoding="utf-8", newline="") as fh:
        for n, r in enumerate(csv.DictReader(fh), 2):
            loc = f"{root / TAXONOMY / 'skills_en.csv.gz'}:{n}"
            desc = parse.text(r.get("description"), "description", loc, optional=True).strip()
            if desc:
                positives[desc].add(skill_id(parse.identifier(r.get("conceptUri"),
                                                              "conceptUri", loc)))
    queries, qrels = {}, {}
    for i, (q, dids) in enumerate(positives.items()):
        qid = f"esco-tax-{i}"
        queries[qid] = q
        qrels[qid] = {d: 1 for d in sorted(dids)}
    return Split("esco-taxonomy", queries, qrels, str(root / TAXONOMY))


def _merge(name: str, splits: list[Split]) -> Split:
    queries, qrels = {}, {}
    for s in splits:
        queries.update(s.queries)
        qrels.update(s.qrels)
    return Split(name, queries, qrels, "+".join(s.source for s in splits))


@register_loader("esco")
def load_esco(suite: Suite, data_root: Path | None = None) -> SuiteData:
    """Corpus = ESCO skills; test/dev = the suite's annotations; train = taxonomy (+ val)."""
    p = suite.params
    dataset, gran = p.get("dataset", "tech"), p.get("granularity", "sentence")
    if gran not in ("sentence", "span"):
        raise NegbenchError(f"suite {suite.name}: granularity must be sentence or span")
    corpus = esco_corpus(data_root)
    test = annotation_split(data_root, dataset, "test", gran)
    dev = annotation_split(data_root, dataset, "validation", gran) \
        if dataset in ("tech", "house") else None
    parts = [taxonomy_training_split(data_root)]
    if p.get("train_with_validation", True):
        parts += [annotation_split(data_root, d, "validation", gran) for d in ("tech", "house")]
    train = _merge("train", parts)
    for s in (train, test) + ((dev,) if dev else ()):
        validate_split(corpus, s)
    info = {"train_queries_taxonomy": len(parts[0].queries),
            "train_pairs_taxonomy": sum(len(j) for j in parts[0].qrels.values()),
            "train_queries": len(train.queries), "test_queries": len(test.queries)}
    return SuiteData(corpus, train, test, judged_positives(train, test, *([dev] if dev else [])),
                     dev=dev, info=info, parents=parent_map(data_root))
