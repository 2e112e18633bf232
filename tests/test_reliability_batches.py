"""Class 10 of issue 25: a valid sampler that cannot be trained. A negative repeated across rows
(one hard negative for many queries) is legitimate sampler output: batches keep queries,
positives and ordinary negatives distinct as before, but a negative in more rows than an epoch
has batches may repeat; the loss masks it where it is a row's own (or, with the in-batch mask, a
judged) positive; a plan no batching can meet is refused before anything is written
(docs/reliability.md, "Cache keys and batches")."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from reliability_helpers import cli, copy_folder, fails, record

from negbench.harness.io.negatives import read_negatives
from negbench.harness.training.batching import duplicate_free_batches, shared_negatives
from negbench.harness.training.losses import MNRL, LossBatch
from negbench.harness.training.masking import in_batch_mask
from negbench.harness.training.pairs import training_pairs
from negbench.strategies.base import NegativeRow
from negbench.strategies.base import training_pairs as pair_list

DENSE = Path(__file__).resolve().parents[1] / "results" / "inputs" / \
    "scifact-dense-seed13.negatives.jsonl"


def _run(suite, out, model, *extra) -> list:
    return ["run", "--suite", suite, "--seeds", "13", "--budget", "smoke", "--model", model,
            "--no-audit", "--quiet", "--output", out, *extra]


def _same_negative_file(tmp_path: Path, pairs: list, exclude: dict, negative: str,
                        other: str) -> Path:
    """Every pair gets ``negative`` (``other`` where ``negative`` is judged for its query)."""
    path = tmp_path / "same-negative.jsonl"
    path.write_text("".join(json.dumps({"query_id": q, "positive_id": p, "negative_ids": [
        negative if negative not in exclude[q] else other]}) + "\n" for q, p in pairs))
    return path


def _unjudged(ids, pairs, exclude) -> list[str]:
    return [d for d in ids if all(d not in exclude[q] for q, _ in pairs)]


@pytest.mark.parametrize("track", ["query-side", "full"])
def test_a_sampler_giving_every_pair_the_same_negative_trains(track, small, tiny_model_dir,
                                                              cli_env, scifact, tmp_path):
    """One negative for all 919 pairs: the old batching could not fill one batch of 8 (the
    error came after mining and the zero-shot rows were written); now the run trains its 3
    steps and writes a record saying one negative was shared."""
    pairs = pair_list(scifact.train)
    ids = sorted(json.loads(ln)["_id"] for ln in (small / "corpus.jsonl").read_text()
                 .splitlines())
    negative, other = _unjudged(ids, pairs, scifact.exclude)[:2]
    path = _same_negative_file(tmp_path, pairs, scifact.exclude, negative, other)
    out = tmp_path / "out"
    proc = cli(_run(small, out, tiny_model_dir, "--samplers", "from-file", "--param",
                    f"from-file.path={path}", "--track", track, "--no-zero-shot"), cli_env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rec = record(out, "from-file-seed13")
    assert rec["steps"] == 3 and rec["train_examples"] == 919
    assert rec["training"]["optimizer_steps"] == 3
    assert rec["training"]["pairs_seen"] == 3 * 8
    assert rec["training"]["shared_negatives"] == 1


def test_a_shared_negative_never_counts_against_a_row_whose_positive_it_is(scifact):
    """Real SciFact pairs, every pair given one document as its negative: ``d``, the positive
    of a query with two judged docs (``d``, ``e``). Batches now hold ``d``'s own row beside rows
    whose negative it is; the mask removes that copy of its positive always, and ``e``'s row's
    view of ``d`` (a judged positive of its query, not its own) with the in-batch mask."""
    pairs_list = pair_list(scifact.train)
    by_query: dict[str, list[str]] = {}
    for q, p in pairs_list:
        by_query.setdefault(q, []).append(p)
    q2 = next(q for q, ps in sorted(by_query.items()) if len(ps) == 2)
    d, e = by_query[q2]
    spare = _unjudged(scifact.corpus.ids, pairs_list, scifact.exclude)[0]
    rows = [NegativeRow(q, p, (d if d not in scifact.exclude[q] else spare,))
            for q, p in pairs_list]
    pairs = training_pairs(rows, scifact.corpus, scifact.train, 1, scifact.exclude)
    assert shared_negatives(pairs, 8) == {d}
    batches = []
    rng = np.random.default_rng(13)
    for _ in range(3):
        batches += list(duplicate_free_batches(pairs, 8, rng))
    assert len(batches) >= 3 * 100  # 919 // 8 = 114 per epoch, less what waits for a query
    for b in batches:  # queries and positives never repeat
        assert len({pairs.query_ids[r] for r in b}) == len({pairs.doc_ids[0][r] for r in b}) == 8
    row_d = next(r for r in range(len(pairs)) if pairs.doc_ids[0][r] == d)
    row_e = next(r for r in range(len(pairs)) if pairs.doc_ids[0][r] == e)
    for row, own in ((row_d, True), (row_e, False)):
        batch = next(b for b in batches if row in b
                     and any(pairs.doc_ids[1][r] == d for r in b))
        i = batch.index(row)
        qids = [pairs.query_ids[r] for r in batch]
        columns = [[c[r] for r in batch] for c in pairs.doc_ids]
        copies = {8 + k for k, r in enumerate(batch) if pairs.doc_ids[1][r] == d}
        plain = in_batch_mask(qids, columns, pairs.relevant, "cpu", judged=False)
        judged = in_batch_mask(qids, columns, pairs.relevant, "cpu")
        assert set(np.flatnonzero(judged[i].numpy())) >= copies
        if own:  # d's own row: every copy of d is masked, mask or no mask
            assert set(np.flatnonzero(plain[i].numpy())) == copies
            assert plain.sum().item() == len(copies)
        else:  # e's row: d is judged for its query, masked by the in-batch mask only
            assert plain is None or not plain[i].any()
    # why the copy must go: a query identical to its positive, whose copy is another row's
    # negative, gets at most half of the probability unmasked, nearly all of it masked
    batch = next(b for b in batches if row_d in b and any(pairs.doc_ids[1][r] == d for r in b))
    i = batch.index(row_d)
    queries = torch.nn.functional.normalize(
        torch.randn(8, 16, generator=torch.Generator().manual_seed(0)), dim=-1)
    negatives = torch.stack([queries[i] if pairs.doc_ids[1][r] == d else -queries[k]
                             for k, r in enumerate(batch)])
    mask = in_batch_mask([pairs.query_ids[r] for r in batch],
                         [[c[r] for r in batch] for c in pairs.doc_ids], pairs.relevant, "cpu",
                         judged=False)
    scores = queries[i] @ torch.cat([queries, negatives]).T * MNRL().scale
    assert scores.softmax(0)[i] <= 0.5 + 1e-6
    assert scores.masked_fill(mask[i], float("-inf")).softmax(0)[i] > 0.9
    assert (MNRL()(LossBatch(queries, [queries, negatives], mask))
            < MNRL()(LossBatch(queries, [queries, negatives])))


def _compositions(pairs, batch_size: int) -> tuple[str, int]:
    rng, out = np.random.default_rng(13), []
    for _ in range(3):
        out += list(duplicate_free_batches(pairs, batch_size, rng))
    return hashlib.sha256(json.dumps(out).encode()).hexdigest()[:16], len(out)


# batch compositions (3 epochs, seed 13) the code before the change built: unchanged
BEFORE = {("dense", 8): ("d83fc8dc20a12a10", 342), ("dense", 64): ("e36d9dcbf494884a", 42),
          ("dense", 128): ("8b40f64375ad84fd", 20),
          ("in-batch", 8): ("9662d4bd07828569", 342), ("in-batch", 64): ("2d2d061733e4705e", 42)}


def test_batches_without_widely_shared_negatives_are_the_ones_built_before(scifact):
    """The committed dense negatives (177 of 919 rows share a negative with another row, 95
    negatives are another row's positive, none in more rows than an epoch has batches) and
    in-batch pairs: the same batches, row for row, as before the change, so committed results
    stand."""
    dense = read_negatives(DENSE)
    inb = [NegativeRow(q, p, ()) for q, p in pair_list(scifact.train)]
    for (name, size), expected in BEFORE.items():
        rows, k = (dense, 1) if name == "dense" else (inb, 0)
        pairs = training_pairs(rows, scifact.corpus, scifact.train, k, scifact.exclude)
        assert not shared_negatives(pairs, size)
        assert _compositions(pairs, size) == expected, (name, size)


def test_a_plan_no_batch_can_meet_is_refused_before_anything_is_written(small, tiny_model_dir,
                                                                        cli_env, tmp_path):
    """5 training queries cannot fill a batch of 8 without repeating one: refused in the
    preflight (the old code mined, wrote the zero-shot rows, then failed in training)."""
    folder = copy_folder(small, tmp_path / "five" / "scifact-small")
    qrels = folder / "qrels" / "train.tsv"
    lines = qrels.read_text().splitlines()
    queries = sorted({ln.split("\t")[0] for ln in lines[1:]})[:5]
    qrels.write_text("\n".join([lines[0]] + [ln for ln in lines[1:]
                                             if ln.split("\t")[0] in queries]) + "\n")
    out = tmp_path / "out"
    fails(_run(folder, out, tiny_model_dir, "--samplers", "random"), cli_env,
          f"{qrels}: 5 distinct training queries", "cannot fill one batch of 8",
          "budget 'smoke'", output=out)
