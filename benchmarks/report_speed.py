"""Time of a full ``negbench report`` pass (statistics, tables, plots) on a synthetic but
realistic record set: 12 trained samplers x 5 seeds x 4 measures x 300 queries, plus the folder's
two zero-shot records.

The records are built from a committed real results folder (default
``results/runs/scifact-query-side-h100``: 10 samplers x 5 seeds, SciFact test, 300 queries):
sampler ``i`` copies the record of real sampler ``i mod 10`` for each seed (two extra names,
``<name>-b``, for the 11th and 12th) and replaces every query's scores by those of the same
sampler at a seed drawn at random per query (the same draw for all measures, so the measures
stay consistent); the means are recomputed. The report runs in-process through the CLI
(``negbench report DIR --output OUT``), with timers around the seed-aware comparisons
(``stats.compare``: seed-aware test, query-level paired test, bootstrap interval, d_z), the
multiple-comparison corrections (``stats.correct_family``) and the plots (``write_plots``);
the rest is loading, summaries and rendering. Every figure printed is a share of the total of
the same pass (the machine may be shared).

    python benchmarks/report_speed.py [--source results/runs/scifact-query-side-h100]
                                      [--samplers 12] [--repeats 2] [--all-pairs]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def build_records(source: Path, n_samplers: int, out: Path, seed: int = 0) -> tuple[int, int]:
    """Write the synthetic records to ``out/records``; returns (records, measures)."""
    rng = np.random.default_rng(seed)
    real: dict[str, dict[int, dict]] = defaultdict(dict)
    (out / "records").mkdir(parents=True, exist_ok=True)
    written = 0
    for path in sorted((source / "records").glob("*.json")):
        rec = json.loads(path.read_text())
        if rec["kind"] == "trained":
            real[rec["name"]][rec["seed"]] = rec
        else:
            (out / "records" / path.name).write_text(path.read_text())
            written += 1
    names = sorted(real)
    measures = list(next(iter(real[names[0]].values()))["metrics"])
    for i in range(n_samplers):
        src = names[i % len(names)]
        name = src if i < len(names) else f"{src}-{'bcdefghij'[i // len(names) - 1]}"
        seeds = sorted(real[src])
        for s in seeds:
            rec = json.loads(json.dumps(real[src][s]))
            rec.pop("integrity", None)  # a synthetic record: checked by its scores, unsealed
            qids = sorted(rec["per_query"][measures[0]])
            draw = rng.choice(seeds, size=len(qids))
            for m in measures:
                rec["per_query"][m] = {q: real[src][int(d)]["per_query"][m][q]
                                       for q, d in zip(qids, draw)}
                rec["metrics"][m] = float(np.mean(list(rec["per_query"][m].values())))
            rec["name"] = name
            (out / "records" / f"{name}-seed{s}.json").write_text(json.dumps(rec))
            written += 1
    return written, len(measures)


def timed_report(folder: Path, out: Path, all_pairs: bool) -> dict[str, float]:
    """One ``negbench report`` pass in-process; seconds per component and in total."""
    from negbench.harness.cli import main as cli
    from negbench.harness.reporting import plots as report_plots
    from negbench.harness.reporting import stats

    spent: dict[str, float] = defaultdict(float)
    originals = {}

    def timer(module, attr: str, key: str) -> None:
        fn = getattr(module, attr)
        originals[(module, attr)] = fn

        def wrapped(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[key] += time.perf_counter() - t0
        setattr(module, attr, wrapped)

    timer(stats, "compare", "comparisons (seed-aware + paired tests, intervals)")
    timer(stats, "correct_family", "multiple-comparison corrections (Holm)")
    timer(report_plots, "write_plots", "plots (PNG)")
    argv = ["report", str(folder), "--output", str(out)] + (["--all-pairs"] if all_pairs else [])
    t0 = time.perf_counter()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            rc = cli(argv)
    finally:
        for (module, attr), fn in originals.items():
            setattr(module, attr, fn)
    total = time.perf_counter() - t0
    if rc:
        raise SystemExit(f"negbench report exited {rc}")
    spent["loading, summaries, rendering (rest)"] = total - sum(spent.values())
    spent["total"] = total
    return dict(spent)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", default=str(ROOT / "results/runs/scifact-query-side-h100"))
    ap.add_argument("--samplers", type=int, default=12)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--all-pairs", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="report-speed-"))
    n, n_measures = build_records(Path(args.source), args.samplers, tmp / "run")
    print(f"machine: {os.cpu_count()} CPUs, shared with other jobs; {n} records "
          f"({args.samplers} samplers x 5 seeds resampled from {args.source}, plus its zero-shot "
          f"records), {n_measures} measures; "
          f"{'all pairs' if args.all_pairs else 'each against the baseline'}")
    passes = [timed_report(tmp / "run", tmp / f"out{r}", args.all_pairs)
              for r in range(args.repeats)]
    print("\n| component | " + " | ".join(f"pass {r + 1} s (share)" for r in range(len(passes)))
          + " |")
    print("| --- |" + " --- |" * len(passes))
    for key in passes[0]:
        cells = [f"{p[key]:.1f} ({100 * p[key] / p['total']:.0f} %)" for p in passes]
        print(f"| {key} | " + " | ".join(cells) + " |")
    print("(pass 1 includes the lazy imports of scipy, statsmodels and matplotlib)")
    correction_ratio(tmp / "run", args.samplers - 1)


def correction_ratio(folder: Path, family: int, repeats: int = 3) -> None:
    """Holm on one family with the records in memory: ``stats.correct`` (gc frozen around
    statsmodels, whose Holm runs ``gc.collect()`` on every call) against a bare
    ``multipletests`` call, alternating."""
    from statsmodels.stats.multitest import multipletests

    from negbench.harness.evaluation.records import read_records
    from negbench.harness.reporting import stats

    records = read_records(folder)  # noqa: F841 - the heap a report runs with
    pvals = list(np.random.default_rng(0).uniform(0, 0.2, family))
    ours, bare = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        stats.correct(pvals, "holm")
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        multipletests(pvals, method="holm")
        bare.append(time.perf_counter() - t0)
    o, b = sorted(ours)[repeats // 2], sorted(bare)[repeats // 2]
    print(f"\nHolm on {family} p-values, records in memory: bare multipletests {b * 1e3:.1f} ms, "
          f"stats.correct {o * 1e3:.2f} ms: {b / o:.0f}x faster")


if __name__ == "__main__":
    main()
