"""The registered losses against hand computations on tiny batches (``harness/training/losses``)."""

from __future__ import annotations

import math

import pytest
import torch

from negbench.harness.errors import NegbenchError
from negbench.harness.training.losses import (
    LossBatch,
    get_loss,
    loss_names,
    metric_weights,
)


def unit(*rows):
    t = torch.tensor(rows, dtype=torch.float32)
    return t / t.norm(dim=-1, keepdim=True)


def _batch():
    """3 queries, one positive and one negative each (2-d vectors, distinct cosines)."""
    q = unit([1.0, 0.0], [0.0, 1.0], [1.0, 1.0])
    pos = unit([1.0, 0.2], [0.1, 1.0], [1.0, 0.5])
    neg = unit([0.3, 1.0], [1.0, 0.4], [-1.0, 1.0])
    return q, pos, neg


def cos(a, b):
    return float(sum(x * y for x, y in zip(a.tolist(), b.tolist())))


def test_the_registry_holds_the_published_losses():
    assert {"mnrl", "weighted-mnrl", "pairwise", "lambda-pairwise", "nll", "margin-mse",
            "triplet"} <= set(loss_names())


def test_nll_is_the_softmax_over_own_positive_and_negative_only():
    q, pos, neg = _batch()
    scale = 2.0
    got = get_loss("nll", {"scale": "2"})(LossBatch(q, [pos, neg])).item()
    want = 0.0
    for i in range(3):
        sp, sn = scale * cos(q[i], pos[i]), scale * cos(q[i], neg[i])
        want += -(sp - math.log(math.exp(sp) + math.exp(sn)))
    assert got == pytest.approx(want / 3, rel=1e-5)


def test_pairwise_averages_logistic_loss_over_in_batch_positives_and_all_hard_negatives():
    q, pos, neg = _batch()
    scale = 20.0
    docs = [*pos, *neg]  # columns: 3 positives, then the 3 rows' negatives
    terms = []
    for i in range(3):
        sp = scale * cos(q[i], pos[i])
        for j, d in enumerate(docs):
            if j == i:
                continue
            terms.append(math.log1p(math.exp(scale * cos(q[i], d) - sp)))
    got = get_loss("pairwise")(LossBatch(q, [pos, neg])).item()
    assert len(terms) == 3 * 5
    assert got == pytest.approx(sum(terms) / len(terms), rel=1e-5)


def test_pairwise_mask_drops_judged_relevant_pairs():
    q, pos, neg = _batch()
    mask = torch.zeros(3, 6, dtype=torch.bool)
    mask[0, 1] = True  # row 1's positive is relevant to query 0
    full = get_loss("pairwise")(LossBatch(q, [pos, neg])).item()
    masked = get_loss("pairwise")(LossBatch(q, [pos, neg], mask=mask)).item()
    scale = 20.0
    dropped = math.log1p(math.exp(scale * (cos(q[0], pos[1]) - cos(q[0], pos[0]))))
    assert masked == pytest.approx((full * 15 - dropped) / 14, rel=1e-5)


def test_mnrl_is_cross_entropy_over_every_batch_document():
    q, pos, neg = _batch()
    scale = 20.0
    docs = [*pos, *neg]
    want = 0.0
    for i in range(3):
        logits = [scale * cos(q[i], d) for d in docs]
        want += -(logits[i] - math.log(sum(math.exp(x) for x in logits)))
    assert get_loss("mnrl")(LossBatch(q, [pos, neg])).item() == pytest.approx(want / 3, rel=1e-5)


def test_weighted_mnrl_with_unit_weights_is_mnrl_and_zero_weight_removes_a_negative():
    q, pos, neg = _batch()
    plain = get_loss("mnrl")(LossBatch(q, [pos, neg])).item()
    ones = get_loss("weighted-mnrl")(LossBatch(q, [pos, neg], weights=torch.ones(3, 1))).item()
    assert ones == pytest.approx(plain, rel=1e-6)
    w = torch.ones(3, 1)
    w[0, 0] = 0.0
    mask = torch.zeros(3, 6, dtype=torch.bool)
    mask[0, 3] = True  # row 0's own negative
    zero = get_loss("weighted-mnrl")(LossBatch(q, [pos, neg], weights=w)).item()
    masked = get_loss("mnrl")(LossBatch(q, [pos, neg], mask=mask)).item()
    assert zero == pytest.approx(masked, rel=1e-5)


def test_adore_weights_are_the_metric_change_of_swapping_two_ranks():
    ranks = torch.tensor([1, 2, 4, 12])
    w = metric_weights(ranks, "mrr", cutoff=None)
    for i, ri in enumerate(ranks.tolist()):
        for j, rj in enumerate(ranks.tolist()):
            assert w[i, j].item() == pytest.approx(abs(1 / ri - 1 / rj))
    cut = metric_weights(ranks, "mrr", cutoff=10)
    assert cut[0, 3].item() == pytest.approx(1.0)  # rank 12 is past MRR@10's cutoff: gain 0
    ndcg = metric_weights(ranks, "ndcg", cutoff=None)
    assert ndcg[0, 1].item() == pytest.approx(1 - 1 / math.log2(3))


def test_lambda_pairwise_weights_pairs_by_their_ranks_under_the_current_scores():
    q = unit([1.0, 0.0])
    # three retrieved candidates at cosines 0.9 (not relevant), 0.6 (relevant), 0.1 (not)
    c = torch.tensor([[0.9, math.sqrt(1 - 0.81)], [0.6, 0.8], [0.1, math.sqrt(0.99)]])
    labels = torch.tensor([[False, True, False]])
    loss = get_loss("lambda-pairwise", {"cutoff": "none", "scale": "1"})
    got = loss(LossBatch(q, [c[1:2]], candidates=c[None], candidate_labels=labels)).item()
    # pairs (relevant rank 2, non-relevant rank 1) and (rank 2, rank 3)
    want = (abs(1 / 2 - 1) * math.log1p(math.exp(0.9 - 0.6))
            + abs(1 / 2 - 1 / 3) * math.log1p(math.exp(0.1 - 0.6))) / 2
    assert got == pytest.approx(want, rel=1e-5)


def test_margin_mse_regresses_the_students_margin_on_the_teachers():
    q, pos, neg = _batch()
    teacher = torch.tensor([[5.0, 1.0], [2.0, 3.0], [0.0, -4.0]])
    got = get_loss("margin-mse", {"scale": "1", "teacher_scale": "1"})(
        LossBatch(q, [pos, neg], teacher=teacher))
    want = sum(((cos(q[i], pos[i]) - cos(q[i], neg[i])) - (teacher[i, 0] - teacher[i, 1])) ** 2
               for i in range(3)) / 3
    assert got.item() == pytest.approx(float(want), rel=1e-5)


def test_margin_mse_puts_the_teachers_margins_on_the_students_scale():
    """A cross-encoder's probabilities differ by ~0.02 where a cosine student's margins are
    ~2-6: regressed unscaled, every margin is pulled to ~0 and the student flattens (the
    SciFact recipe run collapsed to nDCG@10 0.007). "auto" fits the factor once, on the first
    batch, so the loss does not depend on the teacher's units."""
    q, pos, neg = _batch()
    teacher = torch.tensor([[0.25, 0.21], [0.22, 0.23], [0.24, 0.20]])
    first, other = get_loss("margin-mse", {}), get_loss("margin-mse", {})
    a = first(LossBatch(q, [pos, neg], teacher=teacher)).item()
    b = other(LossBatch(q, [pos, neg], teacher=teacher * 100)).item()
    assert a == pytest.approx(b, rel=1e-4)
    student = torch.tensor([float(cos(q[i], pos[i]) - cos(q[i], neg[i])) for i in range(3)]) * 20
    fitted = float(student.std() / (teacher[:, 0] - teacher[:, 1]).std())
    assert first._fitted == pytest.approx(fitted,
                                          rel=1e-4)
    again = first(LossBatch(q, [pos, neg], teacher=teacher * 3)).item()  # fixed after batch 1
    assert again != pytest.approx(a, rel=1e-3)


def test_triplet_is_the_hinge_on_cosine_margins():
    q, pos, neg = _batch()
    got = get_loss("triplet", {"margin": "0.5", "hardest": "false"})(
        LossBatch(q, [pos, neg])).item()
    want = sum(max(0.0, 0.5 - cos(q[i], pos[i]) + cos(q[i], neg[i])) for i in range(3)) / 3
    assert got == pytest.approx(float(want), rel=1e-5)


def test_triplet_hardest_takes_each_rows_hardest_batch_document():
    q, pos, neg = _batch()
    docs = torch.cat([pos, neg])
    got = get_loss("triplet", {"margin": "0.5"})(LossBatch(q, [pos, neg])).item()
    want = 0.0
    for i in range(3):
        others = [cos(q[i], docs[j]) for j in range(6) if j != i]
        want += max(0.0, 0.5 - cos(q[i], pos[i]) + max(others))
    assert got == pytest.approx(float(want / 3), rel=1e-5)


def test_bad_names_and_parameters_are_one_line_errors():
    with pytest.raises(NegbenchError, match="unknown loss"):
        get_loss("softmax")
    with pytest.raises(NegbenchError, match="has no parameter 'margin'"):
        get_loss("nll", {"margin": "1"})
    with pytest.raises(NegbenchError, match="expects float"):
        get_loss("mnrl", {"scale": "big"})
    with pytest.raises(NegbenchError, match="choose mrr or ndcg"):
        get_loss("lambda-pairwise", {"metric": "map"})
