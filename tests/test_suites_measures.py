"""RP@k (Decorte et al. 2023) on real ESCO TECH rows, hand-worked, next to ranx's MRR."""

from __future__ import annotations

import pytest

from negbench.harness.evaluation.conventions import PROFILES
from negbench.harness.evaluation.evaluate import evaluate_run, r_precision_at_k
from negbench.harness.evaluation.measures import parse_measure, parse_measures


@pytest.fixture(scope="module")
def tech(data_dir, irds_home):  # irds_home first: ranx imports ir_datasets, which binds its home
    from negbench.suites.esco import annotation_split, esco_corpus

    return esco_corpus(data_dir), annotation_split(data_dir, "tech", "test")


def test_rp_is_custom_and_round_trips():
    m = parse_measure("RP@5")
    assert str(m) == "RP@5" and m.custom
    assert not parse_measure("RP").custom  # plain R-precision stays with ranx


def test_rp_at_5_hand_worked_on_real_esco_rows(tech):
    corpus, split = tech
    # a real TECH sentence with 3 relevant skills and one with more than 5
    q3 = next(q for q in sorted(split.qrels) if len(split.qrels[q]) == 3)
    qbig = next(q for q in sorted(split.qrels) if len(split.qrels[q]) > 5)
    non = [d for d in corpus.ids if d not in split.qrels[q3] and d not in split.qrels[qbig]]
    r3 = sorted(split.qrels[q3])
    rb = sorted(split.qrels[qbig])
    # q3: relevant at ranks 1, 4 and 6 -> RP@5 = 2 / min(5, 3); RR = 1
    run3 = [r3[0], non[0], non[1], r3[1], non[2], r3[2]]
    # qbig: 4 relevant in the top 5 -> RP@5 = 4 / 5; first relevant at rank 2 -> RR = 1/2
    runb = [non[4], rb[0], rb[1], rb[2], rb[3], rb[4]]
    run = {q: [(d, float(100 - i)) for i, d in enumerate(ranked)]
           for q, ranked in ((q3, run3), (qbig, runb))}
    qrels = {q3: split.qrels[q3], qbig: split.qrels[qbig]}
    ev = evaluate_run(qrels, run, parse_measures(["RP@5", "RR"]), PROFILES["beir"])
    assert ev.per_query["RP@5"][q3] == pytest.approx(2 / 3)
    assert ev.per_query["RP@5"][qbig] == pytest.approx(4 / 5)
    assert ev.per_query["RR"][q3] == 1.0 and ev.per_query["RR"][qbig] == 0.5
    assert ev.means["RP@5"] == pytest.approx((2 / 3 + 4 / 5) / 2)
    assert list(ev.means) == ["RP@5", "RR"]


def test_rp_counts_only_relevance_at_threshold(irds_home):
    judged = {"a": 2, "b": 1, "c": 0}
    assert r_precision_at_k(judged, ["b", "a"], 5, min_rel=1) == 1.0
    assert r_precision_at_k(judged, ["b", "c"], 5, min_rel=2) == 0.0
    assert r_precision_at_k(judged, ["c", "a"], 1, min_rel=2) == 0.0
