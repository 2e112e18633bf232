"""bf16 autocast against fp32 on the CPU (issue 31): speed of query-side training and corpus
encoding in one process, and the ΔnDCG@10 gate between an fp32 and a bf16 grid.

Speed (default): all-MiniLM-L6-v2, interleaved so that other load on the machine hits both
sides alike (absolute seconds on a shared machine mean little; the ratios are the figures).
(a) ``--rounds`` rounds of ``--steps`` query-side training steps per precision, the harness's
own loop (``train_query_side``: length-grouped encoding, fused AdamW, MNRL) on real SciFact
training pairs (``random`` negatives) at the ``standard`` budget's batch and query length,
against frozen random unit document vectors (their values do not change the cost); each
round runs fp32 and bf16 once, the order alternating; a step's time is the gap between two
optimizer steps (the first step of each run is warm-up). (b) the first ``--docs`` SciFact
documents at length 256 through ``SentenceTransformerEncoder`` (batch 64), fp32 and bf16
alternating every ``--chunk`` documents, order rotated; then the largest |cosine - 1| between
the two precisions' vectors. Prints the CPU's bf16 features, medians and fp32/bf16 ratios.

    python benchmarks/cpu_bf16.py [--rounds 3] [--steps 8] [--docs 512] [--chunk 64]

The gate (``--compare FP32_DIR BF16_DIR``): mean nDCG@10 per sampler over the seeds both
folders hold, Δ = bf16 - fp32, and whether |Δ| <= 0.005 for every sampler (the condition for
``--precision auto`` to choose bf16 on such CPUs, ``AUTO_CPU_BF16`` in
``harness/retrieval/device.py``); it also checks that the paired runs' configs differ only in
precision.

    python benchmarks/cpu_bf16.py --compare FP32_DIR BF16_DIR [--samplers in-batch,random,dense]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

GATE = 0.005  # |ΔnDCG@10| per sampler for `auto` to choose bf16 on the CPU


def cpu_line() -> str:
    from negbench.harness.retrieval.device import cpu_bf16_features, cpu_bf16_supported

    name = "?"
    try:
        name = next(line.split(":", 1)[1].strip() for line in
                    Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"cpu: {name}; bf16 features {', '.join(cpu_bf16_features()) or 'none'} "
            f"(supported: {cpu_bf16_supported()}); torch {torch.__version__} capability "
            f"{torch.backends.cpu.get_cpu_capability()}, oneDNN "
            f"{torch.backends.mkldnn.is_available()}")


def time_training(args, data) -> dict[str, list[float]]:
    from negbench.harness.retrieval.models import load_model
    from negbench.harness.training.budget import get_budget
    from negbench.harness.training.pairs import training_pairs
    from negbench.harness.training.query_side import train_query_side
    from negbench.strategies.base import MiningContext
    from negbench.strategies.registry import get_sampler

    std = get_budget("standard")
    budget = dataclasses.replace(std, epochs=None, steps=args.steps)
    ctx = MiningContext(corpus=data.corpus, train=data.train, exclude=data.exclude, seed=13,
                        max_length=std.eval_max_length, dense=lambda: None, bm25=lambda: None)
    rows = get_sampler("random")().mine(ctx)
    pairs = training_pairs(rows, data.corpus, data.train, std.negatives_per_example,
                           data.exclude)
    rng = np.random.default_rng(0)
    docs = rng.standard_normal((len(data.corpus), 384)).astype(np.float32)
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    drow = {d: i for i, d in enumerate(data.corpus.ids)}
    steps: dict[str, list[float]] = {"fp32": [], "bf16": []}
    for r in range(args.rounds):
        for precision in (("fp32", "bf16") if r % 2 == 0 else ("bf16", "fp32")):
            model = load_model("all-MiniLM-L6-v2")
            stamps: list[float] = []
            train_query_side(model, pairs, docs, drow, {}, budget, 13, "cpu", precision,
                             mask=False, progress=False,
                             hooks=[lambda step, total, at=stamps: at.append(time.perf_counter())])
            steps[precision] += list(np.diff(stamps))
            print(f"  round {r + 1} {precision}: {statistics.median(np.diff(stamps)):.3f} s/step",
                  flush=True)
    print(f"  (batch {budget.batch_size}, query length {budget.query_max_length}, "
          f"{len(pairs)} pairs, {budget.negatives_per_example} negative per pair)")
    return steps


def time_encoding(args, data) -> tuple[dict[str, float], float]:
    from negbench.harness.retrieval.encoder import SentenceTransformerEncoder
    from negbench.harness.retrieval.models import load_model
    from negbench.harness.training.query_side import set_cpu_threads

    set_cpu_threads()
    texts = data.corpus.texts()[:args.docs]
    model = load_model("all-MiniLM-L6-v2").eval()
    enc = {p: SentenceTransformerEncoder(model, batch_size=64, progress=False, precision=p)
           for p in ("fp32", "bf16")}
    for e in enc.values():  # warm-up, not timed
        e.encode(texts[:8], "doc", 256)
    seconds = {"fp32": 0.0, "bf16": 0.0}
    parts: dict[str, list[np.ndarray]] = {"fp32": [], "bf16": []}
    for i, start in enumerate(range(0, len(texts), args.chunk)):
        chunk = texts[start:start + args.chunk]
        for p in (("fp32", "bf16") if i % 2 == 0 else ("bf16", "fp32")):
            t0 = time.perf_counter()
            parts[p].append(enc[p].encode(chunk, "doc", 256))
            seconds[p] += time.perf_counter() - t0
    a, b = np.concatenate(parts["fp32"]), np.concatenate(parts["bf16"])
    cos = (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return seconds, float(np.abs(cos - 1).max())


def speed(args) -> int:
    from negbench.harness.data.paths import data_root
    from negbench.suites.loading import load_suite_data
    from negbench.suites.registry import get_suite

    print(cpu_line())
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} cores); fp32 and bf16 interleaved in one process: other jobs "
          "inflate both sides' seconds, the ratios stay comparable")
    data = load_suite_data(get_suite("beir/scifact"), data_root())
    t0 = time.perf_counter()
    print(f"(a) query-side training: {args.rounds} rounds x {args.steps} steps per precision")
    steps = time_training(args, data)
    print(f"(b) encoding {args.docs} SciFact documents at length 256, alternating every "
          f"{args.chunk}")
    enc, cos = time_encoding(args, data)
    med = {p: statistics.median(v) for p, v in steps.items()}
    print(f"threads {torch.get_num_threads()}; load average at end: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; {time.perf_counter() - t0:.0f} s")
    print(f"training step   fp32 {med['fp32']:.3f} s, bf16 {med['bf16']:.3f} s (median of "
          f"{len(steps['fp32'])} each): fp32/bf16 = {med['fp32'] / med['bf16']:.2f}x")
    print(f"encoding        fp32 {args.docs / enc['fp32']:.1f} docs/s, bf16 "
          f"{args.docs / enc['bf16']:.1f} docs/s: fp32/bf16 time = "
          f"{enc['fp32'] / enc['bf16']:.2f}x")
    print(f"embeddings      max |cos - 1| between fp32 and bf16: {cos:.2e}")
    return 0


def compare(args) -> int:
    from negbench.harness.evaluation.records import read_records

    def trained(folder: str) -> dict[tuple[str, int], dict]:
        return {(r["name"], r["seed"]): r for r in read_records(Path(folder))
                if r["kind"] == "trained"}

    fp32, bf16 = trained(args.compare[0]), trained(args.compare[1])
    samplers = args.samplers.split(",")
    ok, lines, apart = True, [], []
    for name in samplers:
        seeds = sorted(s for (n, s) in fp32 if n == name and (n, s) in bf16)
        if not seeds:
            print(f"{name}: no seed in both folders")
            ok = False
            continue
        differ = []
        for s in seeds:
            a, b = dict(fp32[(name, s)]["config"]), dict(bf16[(name, s)]["config"])
            precisions = (a.pop("precision", "fp32"), b.pop("precision", "fp32"))
            if a != b or precisions != ("fp32", "bf16"):
                differ.append(f"seed {s}: precisions {precisions[0]} / {precisions[1]}"
                              f"{'; other config fields differ' if a != b else ''}")
        if differ:  # not twins: their difference is not the precision's
            print(f"{name}: not one run at fp32 and one at bf16 of the same config "
                  f"({'; '.join(differ)})")
            apart.append(name)
            lines.append(f"| {name} | {len(seeds)} | - | - | - | - | not compared: the runs "
                         "differ in more than their precision |")
            continue
        m32 = np.mean([fp32[(name, s)]["metrics"]["nDCG@10"] for s in seeds])
        m16 = np.mean([bf16[(name, s)]["metrics"]["nDCG@10"] for s in seeds])
        worst = max(abs(bf16[(name, s)]["metrics"]["nDCG@10"] - fp32[(name, s)]["metrics"]
                        ["nDCG@10"]) for s in seeds)
        passed = abs(m16 - m32) <= GATE
        ok &= passed
        lines.append(f"| {name} | {len(seeds)} | {m32:.4f} | {m16:.4f} | {m16 - m32:+.4f} | "
                     f"{worst:.4f} | {'pass' if passed else 'FAIL'} |")
    print("| sampler | seeds | fp32 nDCG@10 | bf16 nDCG@10 | Δ (bf16 - fp32) | largest abs Δ "
          f"of one seed | gate: abs Δ <= {GATE} |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(lines))
    ok &= len(apart) < len(samplers)
    left = f" (not compared: {', '.join(apart)})" if apart else ""
    print(f"gate: {'PASSED: AUTO_CPU_BF16 may be switched on' if ok else 'NOT passed'}{left}")
    return 0 if ok else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="training rounds per precision")
    ap.add_argument("--steps", type=int, default=8, help="training steps per round")
    ap.add_argument("--docs", type=int, default=512, help="SciFact documents to encode")
    ap.add_argument("--chunk", type=int, default=64, help="documents per alternation")
    ap.add_argument("--compare", nargs=2, metavar=("FP32_DIR", "BF16_DIR"),
                    help="the ΔnDCG@10 gate between two grid folders instead of the timing")
    ap.add_argument("--samplers", default="in-batch,random,dense",
                    help="samplers the gate compares (default: in-batch,random,dense)")
    args = ap.parse_args()
    if args.steps < 2 or args.rounds < 1 or args.docs < 1 or args.chunk < 1:
        ap.error("--steps >= 2, --rounds, --docs and --chunk >= 1")
    return compare(args) if args.compare else speed(args)


if __name__ == "__main__":
    sys.exit(main())
