"""A whole comparison's cost: a finished grid folder against the naive cost of running each
of its runs on its own (one corpus encoding per run).

Reads every trained record in ``FOLDER/records``: the wall time of its stages (``timings_s``)
and ``base_encodings_computed`` (the base-model encodings the run itself computed, cache
misses; 0 corpus encodings for a run that reused the grid's shared one). Then encodes the
suite's corpus once with the harness's encoder, bypassing the cache, to measure what one
corpus encoding costs on this machine right now (``--encode-seconds S`` gives a figure
measured elsewhere instead). Prints, for the grid as run and for the naive alternative:
runs, corpus encodings, and wall time (stage time of the runs + corpus encodings x their
cost), and the ratio, also with every run at the median run time (robust to runs slowed by
other jobs on a shared machine). Runs recorded before ``base_encodings_computed`` existed are counted
as "not recorded" and left out of the encodings figure (said so), never guessed.

With ``--workers N`` it also prints the wall time of the grid run by N worker processes
(``negbench run --workers N``): each run's stage time packed onto N workers, longest first,
plus one corpus encoding and ``--fixed-seconds`` per run (process-level costs outside the
stages, measured by ``benchmarks/worker_layout.py``), at the recorded times and with every
run at the median. ``--against FOLDER`` prints the per-run median stage time against another
grid of the same samplers (e.g. the fp32, one-process grid before a change), per sampler.

    python benchmarks/grid_cost.py results/runs/scifact-query-side [--encode-seconds S]
        [--samplers in-batch,random,...] [--workers 2 --fixed-seconds F] [--against FOLDER]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path


def load_runs(folder: Path, samplers: list[str] | None = None) -> list[dict]:
    """The trained records of the folder (only those of ``samplers`` when given; a name
    without records is an error, as in ``negbench report --systems``)."""
    from negbench.harness.commands.report import select_systems
    from negbench.harness.evaluation.records import read_records

    recs = read_records(folder)
    if samplers is not None:
        recs = select_systems(recs, samplers, folder, "--samplers")
    return [r for r in recs if r.get("kind") == "trained"]


def corpus_encoding_seconds(rec: dict) -> float:
    """Encode the record's suite corpus once, at its evaluation length and in its encoding
    precision, without the cache."""
    from negbench.harness.pipeline.workspace import Workspace
    from negbench.suites.registry import get_suite

    dev = rec.get("device") or {}
    ws = Workspace(get_suite(rec["suite"]), model=rec["model"], progress=True,
                   precision=dev.get("encoding_precision") or dev.get("precision") or "fp32")
    length = rec["budget"]["eval_max_length"]
    texts = ws.data.corpus.texts()
    inner = ws.base_encoder.inner
    t0 = time.perf_counter()
    inner.encode(texts, "doc", length)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path, help="a grid's output folder (records/ inside)")
    ap.add_argument("--encode-seconds", type=float, default=None,
                    help="cost of one corpus encoding (default: measure it here, once)")
    ap.add_argument("--samplers", default=None,
                    help="comma list: count only these samplers' runs (default: every run)")
    ap.add_argument("--workers", type=int, default=1,
                    help="worker processes (negbench run --workers N): also print the grid's "
                         "wall time with the runs packed onto them")
    ap.add_argument("--fixed-seconds", type=float, default=0.0,
                    help="cost per run outside its stages (benchmarks/worker_layout.py)")
    ap.add_argument("--against", type=Path, default=None,
                    help="another grid folder: per-sampler median stage time, this / that")
    args = ap.parse_args()
    from negbench.harness.errors import NegbenchError

    try:
        runs = load_runs(args.folder, args.samplers.split(",") if args.samplers else None)
    except NegbenchError as exc:
        raise SystemExit(f"error: {exc}") from None
    if not runs:
        raise SystemExit(f"error: no trained records in {args.folder / 'records'}")
    per_run = sorted(sum(r.get("timings_s", {}).values()) for r in runs)
    stage_s, median = sum(per_run), statistics.median(per_run)
    counted = [r for r in runs if "base_encodings_computed" in r]
    docs = sum(r["base_encodings_computed"]["doc"] for r in counted)
    enc_s = (args.encode_seconds if args.encode_seconds is not None
             else corpus_encoding_seconds(runs[0]))
    how = "given" if args.encode_seconds is not None else "measured now"
    print(f"grid folder: {args.folder}  ({len(runs)} trained runs; suite {runs[0]['suite']}, "
          f"model {runs[0]['model']}, track {runs[0].get('track')}, "
          f"device {runs[0].get('device', {}).get('device')})")
    print(f"one corpus encoding: {enc_s:.1f} s ({how})")
    print(f"stage time per run: median {median:.0f} s, "
          f"min {per_run[0]:.0f} s, max {per_run[-1]:.0f} s")
    print(f"corpus encodings computed by the runs: {docs} in the {len(counted)} runs that "
          f"record it; {len(runs) - len(counted)} runs predate that field (not recorded)")
    # the grid as run: at most one corpus encoding (the first run needing it, or an earlier
    # grid on this cache); naive: every run encodes the corpus for itself
    shared_enc = max(docs, 1)
    shared = stage_s + (0 if docs else enc_s)  # a computed encoding is already in stage_s
    naive = stage_s - docs * enc_s + len(runs) * enc_s
    rows = [("negbench grid (shared cache)", shared_enc, shared),
            ("naive (one corpus encoding per run)", len(runs), naive)]
    print(f"{'':38} {'corpus encodings':>17} {'wall time':>12}")
    for name, n, s in rows:
        print(f"{name:38} {n:>17} {s / 3600:>10.2f} h")
    print(f"naive / negbench: encodings {len(runs) / shared_enc:.0f}x, wall time "
          f"{naive / shared:.2f}x")
    # runs slowed by other jobs on a shared machine inflate the sums: the same with every run
    # at the median stage time
    med = median * len(runs)
    med_shared, med_naive = med + enc_s, med + len(runs) * enc_s
    print(f"with every run at the median ({median:.0f} s): negbench "
          f"{med_shared / 3600:.2f} h, naive {med_naive / 3600:.2f} h, naive / negbench "
          f"{med_naive / med_shared:.2f}x")
    if args.workers > 1:
        print_workers(per_run, median, enc_s, 0 if docs else enc_s, args.workers,
                      args.fixed_seconds)
    if args.against is not None:
        print_against(runs, load_runs(args.against, args.samplers.split(",")
                                      if args.samplers else None), args.against)


def packed(seconds: list[float], workers: int) -> float:
    """The makespan of ``seconds`` on ``workers`` taken longest first, each by the least
    loaded worker (what a queue of runs taken in turn comes to)."""
    load = [0.0] * workers
    for s in sorted(seconds, reverse=True):
        load[load.index(min(load))] += s
    return max(load)


def print_workers(per_run: list[float], median: float, enc_s: float, extra_enc: float,
                  workers: int, fixed: float) -> None:
    """The grid's wall time run by ``workers`` processes."""
    runs = len(per_run)
    with_fixed = [s + fixed for s in per_run]
    recorded = packed(with_fixed, workers) + extra_enc
    at_median = packed([median + fixed] * runs, workers) + extra_enc
    print(f"\n{runs} runs on {workers} workers (longest first; + {fixed:.1f} s per run "
          f"outside the stages{'; + one corpus encoding' if extra_enc else ''}):")
    print(f"  at the recorded times: {recorded / 60:.1f} min; with every run at the median "
          f"({median:.0f} s): {at_median / 60:.1f} min")


def print_against(runs: list[dict], other: list[dict], other_folder: Path) -> None:
    """Per sampler in both grids: the median stage time per run, this grid / that one."""
    def by_sampler(recs: list[dict]) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for r in recs:
            out.setdefault(r["name"], []).append(sum(r.get("timings_s", {}).values()))
        return out

    def devices(recs: list[dict]) -> dict[str, str]:
        out: dict[str, set[str]] = {}
        for r in recs:
            d = r.get("device") or {}
            out.setdefault(r["name"], set()).add(f"{d.get('name')}, {d.get('precision')}")
        return {k: " / ".join(sorted(v)) for k, v in out.items()}

    mine, theirs = by_sampler(runs), by_sampler(other)
    here, there = devices(runs), devices(other)
    print(f"\nper run, this grid against {other_folder}:")
    print("| sampler | runs | here | median s here | there | median s there | there / here |"
          "\n|---|---:|---|---:|---|---:|---:|")
    ratios = []
    for name in sorted(set(mine) & set(theirs)):
        a, b = statistics.median(mine[name]), statistics.median(theirs[name])
        ratios.append(b / a)
        print(f"| {name} | {len(mine[name])} | {here[name]} | {a:.0f} | {there[name]} | {b:.0f} "
              f"| {b / a:.2f}x |")
    if ratios:
        print(f"median over samplers: {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
