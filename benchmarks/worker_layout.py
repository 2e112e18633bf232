"""How to spend a CPU's cores on a grid: one process with every thread, runs one after
another (``--workers 1``), against N worker processes with 1/N of the threads each, taking
runs in turn (``--workers N``), and the per-run fixed cost of a fresh process per run
(``--isolate``) against a process that serves many runs.

Runs the same small grid (``--samplers`` x ``--seeds`` on ``--suite``, ``--steps`` training
steps each, no zero-shot rows, no audit) once per layout into fresh folders, with the shared
embedding cache warm (a first untimed run fills it), and prints per layout: wall time, the
runs' stage time (``timings_s``), the fixed cost per run (wall x processes - stage time,
over runs: process start, imports, model and data loading, record writing, idle workers at
the end), and the ratios in one table.

    python benchmarks/worker_layout.py [--suite beir/scifact] [--samplers random,dense]
        [--seeds 13,42] [--steps 40] [--workers 2] [--precision auto]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def grid(out: Path, args, *layout: str, threads: int | None = None) -> float:
    """Wall seconds of ``negbench run`` over the small grid with ``layout`` options."""
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.pop(k, None)
    if threads is not None:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    cmd = [sys.executable, "-m", "negbench.harness.cli", "run", "--suite", args.suite,
           "--budget", "standard", "--steps", str(args.steps), "--samplers", args.samplers,
           "--seeds", args.seeds, "--no-audit", "--no-zero-shot", "--quiet",
           "--precision", args.precision, "--output", str(out), *layout]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"negbench run {' '.join(layout)} failed:\n{proc.stderr[-3000:]}")
    return wall


def stage_seconds(out: Path) -> tuple[int, float, str]:
    """Runs, their summed stage time, and the device line of the folder's records."""
    recs = [json.loads(p.read_text()) for p in sorted((out / "records").glob("*.json"))]
    recs = [r for r in recs if r.get("kind") == "trained"]
    dev = recs[0]["device"]
    return (len(recs), sum(sum(r["timings_s"].values()) for r in recs),
            f"{dev['name']}, {dev['precision']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--suite", default="beir/scifact")
    ap.add_argument("--samplers", default="random,dense")
    ap.add_argument("--seeds", default="13,42")
    ap.add_argument("--steps", type=int, default=40, help="training steps per run")
    ap.add_argument("--workers", type=int, default=2, help="worker processes of the pool")
    ap.add_argument("--precision", default="auto", help="as `negbench run --precision`")
    args = ap.parse_args()
    from negbench.harness.training.query_side import usable_cores

    cores = usable_cores()
    rows = []
    with tempfile.TemporaryDirectory(prefix="negbench-layout-") as tmp:
        grid(Path(tmp) / "warm", args, "--seeds", args.seeds.split(",")[0])  # fill the cache
        layouts = [(f"1 process x {cores} threads (--workers 1)", 1, ()),
                   (f"{cores} threads, fresh process per run (--isolate)", 1, ("--isolate",)),
                   ((f"{args.workers} workers x {max(1, cores // args.workers)} thread(s) "
                    f"(--workers {args.workers})"), args.workers,
                    ("--workers", str(args.workers)))]
        for name, procs, layout in layouts:
            out = Path(tmp) / f"layout{len(rows)}"
            wall = grid(out, args, *layout)
            runs, stages, dev = stage_seconds(out)
            rows.append((name, wall, stages, (wall * procs - stages) / runs, runs, dev))
    base = rows[0][1]
    print(f"{args.samplers} x seeds {args.seeds} on {args.suite}, {args.steps} steps per run, "
          f"{cores} usable cores, precision {args.precision}\n")
    print("| layout | runs | wall s | stage s (sum) | fixed s per run | wall vs --workers 1 |"
          " device |\n|---|---:|---:|---:|---:|---:|---|")
    for name, wall, stages, fixed, runs, dev in rows:
        print(f"| {name} | {runs} | {wall:.1f} | {stages:.1f} | {fixed:.1f} | "
              f"{base / wall:.2f}x | {dev} |")


if __name__ == "__main__":
    main()
