"""The guard between mining and training: a run trains on what its sampler chose, on every
training pair, or it does not train at all (one line, before any training step)."""

from __future__ import annotations

from negbench.harness.errors import NegbenchError
from negbench.harness.io.negatives import NegativeRow


def check_mined(sampler: str, uses_negatives: bool, rows: list[NegativeRow],
                pairs: list[tuple[str, str]], fallback_pairs: int) -> None:
    """Refuse a training set that would make the record's name a lie: no rows, rows that miss
    training pairs (nothing records a fallback for them), a sampler that uses negatives but
    gave none, or one whose filters kept no candidate for any pair (every pair filled by the
    random fallback: the ``random`` sampler under another name)."""
    if not pairs or not rows:
        raise NegbenchError(f"sampler {sampler!r}: no training pairs ({len(rows)} rows for "
                            f"{len(pairs)} pairs): the model would train on nothing")
    got = {(r.query_id, r.positive_id) for r in rows}
    missing = [p for p in pairs if p not in got]
    if missing:
        raise NegbenchError(f"sampler {sampler!r}: filled {len(pairs) - len(missing)} of "
                            f"{len(pairs)} training pairs (first missing: {missing[0]}); every "
                            "sampler must fill every pair")
    if not uses_negatives:
        return
    if all(not r.negative_ids and not r.negative_texts for r in rows):
        raise NegbenchError(f"sampler {sampler!r}: no negative for any of the {len(rows)} "
                            "training pairs: the model would train without its negatives")
    if fallback_pairs >= len(pairs):
        raise NegbenchError(f"sampler {sampler!r}: its filters kept no candidate for any of the "
                            f"{len(pairs)} training pairs (all would get random fallback "
                            "negatives, i.e. the random sampler under another name); loosen "
                            "the score bounds/margins or widen the window")
