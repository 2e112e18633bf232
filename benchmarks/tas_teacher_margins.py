"""How strong is TAS-B's teacher relative to the student, on the negatives a run trained on?

For each training row of a ``tas-balanced`` negatives file: the teacher's margin (logit of the
cached cross-encoder probability of the positive minus that of the negative, as the recipe's
Margin-MSE sees it) and the base student's (cosine x 20, the loss's scale), their correlation,
the share of rows each orders wrong, and the target the "auto" teacher scale implies. Margin-MSE
regresses the student's margins on the teacher's, so a teacher weaker than the student pulls
it down. Reads the harness's cross-encoder score cache (``NEGBENCH_CACHE/ce-scores``), filled by
the run.

Usage (about 1 min; after a tas-balanced run)::

    python benchmarks/tas_teacher_margins.py \\
        --negatives results/runs/scifact-recipe/negatives/tas-balanced-seed13.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from negbench.harness.data.paths import cache_root
from negbench.harness.pipeline.workspace import Workspace
from negbench.suites.registry import get_suite


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--negatives", required=True, help="a tas-balanced run's negatives JSONL")
    ap.add_argument("--suite", default="beir/scifact")
    ap.add_argument("--scale", type=float, default=20.0, help="the loss's cosine scale")
    args = ap.parse_args()

    scores: dict[str, float] = {}
    for f in sorted((cache_root(None) / "ce-scores").glob("*.json")):
        scores.update(json.loads(f.read_text()))
    rows = [json.loads(line) for line in Path(args.negatives).read_text().splitlines()]
    ws = Workspace(get_suite(args.suite), progress=False)
    text = dict(zip(ws.data.corpus.ids, ws.data.corpus.texts()))
    qids = sorted({r["query_id"] for r in rows})
    docs = sorted({d for r in rows for d in [r["positive_id"], *r["negative_ids"]]})
    qv = ws.base_encoder.encode([ws.data.train.queries[q] for q in qids], "query", 64)
    dv = ws.base_encoder.encode([text[d] for d in docs], "doc", 256)
    qv = qv / np.linalg.norm(qv, axis=1, keepdims=True)
    dv = dv / np.linalg.norm(dv, axis=1, keepdims=True)
    qi, di = {q: i for i, q in enumerate(qids)}, {d: i for i, d in enumerate(docs)}
    student, teacher = [], []
    for r in rows:
        q, p = r["query_id"], r["positive_id"]
        for n in r["negative_ids"]:
            kp, kn = f"{q}\t{p}", f"{q}\t{n}"
            if kp in scores and kn in scores:
                student.append(args.scale * float(qv[qi[q]] @ (dv[di[p]] - dv[di[n]])))
                teacher.append(float(logit(np.array(scores[kp])) - logit(np.array(scores[kn]))))
    s, t = np.array(student), np.array(teacher)
    factor = s.std() / t.std()
    print(f"{args.negatives}: {s.size} (positive, negative) rows with teacher scores")
    print(f"  student margin (cos x {args.scale:g}): mean {s.mean():.3f}, sd {s.std():.3f}, "
          f"orders {np.mean(s < 0):.1%} wrong")
    print(f"  teacher margin (logits):        mean {t.mean():.3f}, sd {t.std():.3f}, "
          f"orders {np.mean(t < 0):.1%} wrong")
    print(f"  correlation {np.corrcoef(s, t)[0, 1]:.3f}; 'auto' factor {factor:.1f}: target "
          f"margins mean {factor * t.mean():.3f} vs the student's {s.mean():.3f}")


if __name__ == "__main__":
    main()
