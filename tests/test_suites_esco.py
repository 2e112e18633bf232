"""ESCO skill-extraction suites on the real staged TECH/HOUSE/TECHWOLF data and taxonomy."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from negbench.suites.loading import load_suite_data
from negbench.suites.registry import get_suite


@pytest.fixture(scope="module")
def tech(data_dir):
    return load_suite_data(get_suite("esco/tech"), data_dir)


def _rows(data_dir, name):
    with open(data_dir / "esco-skill-extraction" / f"{name}_annotations.csv", newline="",
              encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_corpus_and_test_qrels_match_the_csv(tech, data_dir):
    assert len(tech.corpus) == 13896
    labels = (data_dir / "esco-skill-extraction" / "skills_en_label.txt").read_text().split("\n")
    # Doc.text strips the leading blanks a few upstream labels carry
    assert sorted(d.text for d in tech.corpus.docs.values()) == sorted(x.strip() for x in labels)
    rows = [r for r in _rows(data_dir, "tech_test")
            if r["label"].strip() not in ("LABEL NOT PRESENT", "UNDERSPECIFIED")]
    # one query per labelled sentence; every labelled row is one of its qrels
    assert len(tech.test.qrels) == len({r["sentence"].strip() for r in rows})
    by_text = {tech.test.queries[q]: {tech.corpus.docs[d].text for d in j}
               for q, j in tech.test.qrels.items()}
    for r in rows:
        assert r["label"].replace(",", "").strip() in by_text[r["sentence"].strip()]


def test_raw_form_labels_join(data_dir):
    from negbench.suites.esco import annotation_split

    raw = {"plan ", "handle knives ", "provide care for a particular patient group ",
           "data extraction, transformation and loading tools"}
    found = set()
    for ds in ("tech", "house", "techwolf"):
        for split in ("validation", "test"):
            if ds == "techwolf" and split == "validation":
                continue
            annotation_split(data_dir, ds, split)  # raises on any unknown label
            found |= {r["label"] for r in _rows(data_dir, f"{ds}_{split}")} & raw
    assert found == raw


def test_training_set_from_taxonomy(tech, data_dir):
    import gzip

    with gzip.open(data_dir / "esco-taxonomy" / "skills_en.csv.gz", "rt", newline="",
                   encoding="utf-8") as fh:
        skills = list(csv.DictReader(fh))
    descs = {r["description"].strip() for r in skills if r["description"].strip()}
    tax = {q: t for q, t in tech.train.queries.items() if q.startswith("esco-tax-")}
    assert descs <= set(tax.values())
    assert tech.info["train_queries_taxonomy"] == len(tax) > 90000
    # an alt label is a query for its own skill, never the skill's own label
    first = skills[0]
    did = first["conceptUri"].rsplit("/", 1)[-1]
    alt = next(a for a in first["altLabels"].split("\n") if a.strip() != first["preferredLabel"])
    qid = next(q for q, t in tax.items() if t == alt.strip())
    assert did in tech.train.qrels[qid]
    assert first["preferredLabel"] not in tax.values() or \
        did not in tech.train.qrels[next(q for q, t in tax.items()
                                         if t == first["preferredLabel"])]
    # validation annotations of TECH and HOUSE are part of the training set
    assert any(q.startswith("tech-validation-") for q in tech.train.qrels)
    assert any(q.startswith("house-validation-") for q in tech.train.qrels)
    assert not set(tech.train.qrels) & set(tech.test.qrels)


def test_parent_map(data_dir):
    import pandas as pd

    from negbench.suites.esco import parent_map

    pm = parent_map(data_dir)
    assert len(pm) == 13896 and sum(len(v) for v in pm.values()) == 20013
    # independently from the upstream relations file (skill -> broader concept)
    rel = pd.read_csv(data_dir / "esco-taxonomy" / "broaderRelationsSkillPillar.csv.gz")
    rel = rel[rel.conceptType == "KnowledgeSkillCompetence"]
    expected: dict[str, set[str]] = {}
    for c, b in zip(rel.conceptUri, rel.broaderUri):
        expected.setdefault(c.rsplit("/", 1)[-1], set()).add(b.rsplit("/", 1)[-1])
    assert pm == expected
    groups = pd.read_csv(data_dir / "esco-taxonomy" / "skillGroups_en.csv")
    group_ids = {u.rsplit("/", 1)[-1] for u in groups.conceptUri}
    assert sum(bool(v & group_ids) for v in pm.values()) == 13373  # MANIFEST count


def test_span_granularity(data_dir):
    data = load_suite_data(get_suite("esco/tech/span"), data_dir)
    rows = [r for r in _rows(data_dir, "tech_test")
            if r["label"].strip() not in ("LABEL NOT PRESENT", "UNDERSPECIFIED")]
    assert len(data.test.qrels) == len({(r["sentence"].strip(), r["span"].strip())
                                        for r in rows})


def test_esco_smoke_run_end_to_end(tiny_model_dir, cache_dir, tmp_path):
    out = tmp_path / "esco"
    env = dict(os.environ, NEGBENCH_CACHE=str(cache_dir))
    proc = subprocess.run([sys.executable, "-m", "negbench.harness.cli", "run", "--suite",
                           "esco/tech", "--samplers", "random", "--seeds", "13", "--model",
                           str(tiny_model_dir), "--budget", "smoke", "--no-zero-shot",
                           "--quiet", "--output", str(out)],
                          env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rec = json.loads((out / "records" / "random-seed13.json").read_text())
    assert rec["suite"] == "esco/tech" and set(rec["metrics"]) == {"RP@5", "RP@10", "RR"}
    assert len(rec["per_query"]["RP@5"]) == 338
    assert all(0.0 <= v <= 1.0 for v in rec["metrics"].values())
    assert "RP@5" in (out / "table.md").read_text()
