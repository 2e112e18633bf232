"""Calibrate `negbench regress`: false-alarm rate and power on real SciFact smoke runs.

* Baseline: the `in-batch` sampler, smoke budget, seed 13 (real all-MiniLM-L6-v2 training).
* False alarms: the same config with other seeds (1..N); each fresh run is checked against the
  baseline; a false alarm = the gate fails although nothing regressed (only the seed changed).
* Power, two honest degradations of those same fresh runs:
  1. Gaussian noise N(0, sigma) added to every retrieval score of the fresh run's TREC run,
     then re-evaluated (a genuinely worse ranking of controlled strength);
  2. a sabotaged learning rate (the smoke budget with lr x100): real training that goes wrong.

Usage (about 1 min of CPU per training run on 2 cores)::

    python benchmarks/regress_calibration.py --output /tmp/regress-calib --reps 8 --lr-reps 4

Finished runs in --output are reused on a re-run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
from pathlib import Path

from negbench.harness.data.paths import data_root
from negbench.harness.io.trec_files import read_trec_run
from negbench.harness.pipeline.runner import RunConfig, execute_run, is_done
from negbench.harness.pipeline.workspace import Workspace
from negbench.harness.reporting import regress
from negbench.harness.training.budget import get_budget
from negbench.suites.registry import get_suite

SAMPLER = "in-batch"
BASE_SEED = 13


def run_once(ws: Workspace, budget, seed: int, out: Path) -> dict:
    cfg = RunConfig(ws.suite.name, SAMPLER, {}, seed, budget, ws.model_name)
    path = out / "records" / f"{cfg.key}.json"
    if is_done(cfg, out, ws.data_fingerprint):
        return json.loads(path.read_text())
    print(f"[calib] training {cfg.key} (lr {budget.learning_rate}) in {out}", flush=True)
    return execute_run(cfg, ws, out)


def fails(baseline: dict, record: dict, args) -> tuple[bool, float]:
    checks = regress.check(baseline, [record], args.tolerance, args.alpha, args.test,
                           args.correction)
    drop = next(c.drop for c in checks if c.measure == "nDCG@10")
    return any(c.failed for c in checks), drop


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--output", default="/tmp/regress-calib")
    p.add_argument("--reps", type=int, default=8, help="fresh seeds for false alarm / noise")
    p.add_argument("--lr-reps", type=int, default=4, help="seeds with the sabotaged lr")
    p.add_argument("--lr-factor", type=float, default=100.0)
    p.add_argument("--sigmas", default="0.005,0.01,0.02,0.05")
    p.add_argument("--tolerance", type=float, default=0.01)
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--test", default="t")
    p.add_argument("--correction", default="holm")
    args = p.parse_args()

    out = Path(args.output)
    suite = get_suite("beir/scifact")
    ws = Workspace(suite, data_root(), None, None, progress=False)
    budget = get_budget("smoke", suite.budgets.get("smoke"))
    base_rec = run_once(ws, budget, BASE_SEED, out / "normal")
    baseline = regress.make_baseline([base_rec])
    seeds = [s for s in range(1, args.reps + 2) if s != BASE_SEED][: args.reps]
    fresh = {s: run_once(ws, budget, s, out / "normal") for s in seeds}

    fa = [fails(baseline, rec, args) for rec in fresh.values()]
    n_fa = sum(f for f, _ in fa)
    print(f"\nsettings: tolerance {args.tolerance}, alpha {args.alpha}, test {args.test}, "
          f"correction {args.correction}; checks = 4 measures of `{SAMPLER}`")
    print(f"baseline in-batch seed {BASE_SEED}: nDCG@10 {base_rec['metrics']['nDCG@10']:.4f}")
    print(f"false alarms (same config, seeds {seeds}): {n_fa}/{len(fa)} = {n_fa / len(fa):.2f}; "
          f"nDCG@10 drop vs baseline: mean {statistics.mean(d for _, d in fa):+.4f}, "
          f"max {max(d for _, d in fa):+.4f}")

    qrels = ws.data.test.qrels
    for sigma in (float(x) for x in args.sigmas.split(",")):
        res = []
        for s, rec in fresh.items():
            run = read_trec_run(out / "normal" / "runs" / f"{SAMPLER}-seed{s}.trec")
            res.append(fails(baseline, regress.noisy_record(rec, run, qrels, sigma, s), args))
        k = sum(f for f, _ in res)
        print(f"power, score noise sd {sigma:g}: {k}/{len(res)} = {k / len(res):.2f} "
              f"(nDCG@10 drop mean {statistics.mean(d for _, d in res):+.4f}, "
              f"min {min(d for _, d in res):+.4f})")

    if args.lr_reps:
        bad = dataclasses.replace(budget, learning_rate=budget.learning_rate * args.lr_factor)
        res = [fails({**baseline, "budget": {**baseline["budget"],
                                             "learning_rate": bad.learning_rate}},
                     run_once(ws, bad, s, out / "bad-lr"), args) for s in seeds[: args.lr_reps]]
        k = sum(f for f, _ in res)
        print(f"power, learning rate x{args.lr_factor:g} ({bad.learning_rate:g}): "
              f"{k}/{len(res)} = {k / len(res):.2f} (nDCG@10 drop mean "
              f"{statistics.mean(d for _, d in res):+.4f}, min {min(d for _, d in res):+.4f})")


if __name__ == "__main__":
    main()
