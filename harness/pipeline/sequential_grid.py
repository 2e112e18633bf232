"""A grid that adds seeds in groups until each comparison with the baseline is decided
(``harness.reporting.sequential``: looks, error spending, stopping rules).

After each group the folder's records of the grid's samplers are reported against the
baseline; samplers whose comparison stopped get no more seeds, the baseline runs as long as
any comparison is open. ``OUTPUT/sequential.json`` keeps every look (atomic, rewritten after
each), so an interrupted sequential grid resumes like any grid: finished runs are skipped.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from negbench.harness.errors import NegbenchError
from negbench.harness.reporting import sequential

FILE = "sequential.json"


@dataclass(frozen=True)
class SequentialSpec:
    """The stopping rule of a sequential grid."""

    baseline: str
    target_mde: float | None
    looks: list[int]  # seeds per sampler at each look
    rule: str = "obrien-fleming"
    alpha: float = 0.05
    correction: str = "holm"
    measure: str | None = None  # None: the suite's first measure

    def check(self, samplers: list[str]) -> None:
        if self.baseline not in samplers:
            raise NegbenchError(f"--baseline {self.baseline!r} must be one of --samplers "
                                f"({', '.join(samplers)})")
        if len(samplers) < 2:
            raise NegbenchError("a sequential grid needs the baseline and >= 1 other sampler")
        if self.target_mde is not None and not self.target_mde > 0:
            raise NegbenchError(f"--target-mde must be positive, got {self.target_mde}")
        if self.rule not in sequential.RULES:
            raise NegbenchError(f"--spending {self.rule!r}: known {', '.join(sequential.RULES)}")


def run_sequential(ws, samplers: list[tuple], seeds: list[int], budget,
                   out: Path, spec: SequentialSpec, log=sys.stderr, **grid_kwargs
                   ) -> list[sequential.Verdict]:
    """Run the looks of ``spec`` (``run_grid`` per look, on the entries still open; an
    entry is named by its label, else its sampler) and return each comparison's final
    verdict. ``seeds`` are every look's (``sequential.extend_seeds``): look j runs the first
    ``spec.looks[j]``."""
    from negbench.harness.evaluation.records import read_records
    from negbench.harness.io.atomic import write_text_atomic
    from negbench.harness.pipeline.entries import entries
    from negbench.harness.pipeline.grid import run_grid
    from negbench.harness.reporting.report import build_report, families

    names = [e.name for e in entries(samplers)]
    spec.check(names)
    levels = sequential.look_levels(spec.looks, spec.alpha, spec.rule)
    measure = spec.measure or ws.suite.measures[0]
    open_ = [n for n in names if n != spec.baseline]
    stopped_at: dict[str, int] = {}  # sampler -> seeds when its comparison stopped
    final: dict[str, sequential.Verdict] = {}
    history = []
    for j, k in enumerate(spec.looks):
        run = [e for e in entries(samplers) if e.name == spec.baseline or e.name in open_]
        run_grid(ws, run, seeds[:k], budget, out, log=log, **grid_kwargs)
        keep = {n: set(seeds[:stopped_at.get(n, k)]) for n in names}
        records = [r for r in read_records(out) if r.get("kind") == "trained"
                   and r.get("name") in keep and r.get("seed") in keep[r["name"]]]
        rep = build_report(records, [measure], spec.baseline, correction=spec.correction,
                           alpha=spec.alpha, n_resamples=200)
        family, _ = families(rep, rep.comparisons)
        last = j == len(spec.looks) - 1
        verdicts = sequential.decide(family, j + 1, levels[j], spec.target_mde, last,
                                     spec.correction)
        for v in verdicts:
            if v.a in open_:
                final[v.a] = v
                if v.done:
                    open_.remove(v.a)
                    stopped_at[v.a] = k
        history.append({"look": j + 1, "seeds": k, "level": levels[j],
                        "verdicts": [v.to_dict() for v in verdicts]})
        doc = {"baseline": spec.baseline, "measure": measure, "rule": spec.rule,
               "rule_description": sequential.RULES[spec.rule], "alpha": spec.alpha,
               "correction": spec.correction, "target_mde": spec.target_mde,
               "looks": spec.looks, "levels": levels, "seeds": seeds,
               "final": {n: v.to_dict() for n, v in final.items()}, "history": history}
        write_text_atomic(json.dumps(doc, indent=1) + "\n", Path(out) / FILE)
        for v in verdicts:
            if v.a in final and final[v.a] is v:
                print(f"[negbench] look {j + 1}: " + v.line(spec.target_mde), file=log)
        if not open_:
            break
    return [final[n] for n in names if n in final]


def summary_lines(folder: Path) -> list[str]:
    """Lines for a report: each comparison's seeds and why it stopped (empty without a
    sequential grid in ``folder``)."""
    path = Path(folder) / FILE
    if not path.is_file():
        return []
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        finals = [sequential.Verdict(**v) for v in doc["final"].values()]
    except (ValueError, KeyError, TypeError) as e:
        raise NegbenchError(f"{path}: not a negbench sequential file ({e})") from None
    head = (f"Sequential seeds ({doc['rule_description']} error spending over looks at "
            f"{', '.join(map(str, doc['looks']))} seeds, α = {doc['alpha']}, "
            f"{doc['correction']} within each look"
            + (f", target MDE {doc['target_mde']:g}" if doc.get("target_mde") else "") + "):")
    return [head] + [v.line(doc.get("target_mde")) for v in finals]
