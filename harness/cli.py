"""The ``negbench`` command line."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from negbench.harness.errors import NegbenchError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _seeds(text: str) -> list[int]:
    try:
        return [int(s) for s in _csv(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must be integers, got {text!r}") from None


def _params(items: list[str], samplers: list[str]) -> dict[str, dict]:
    out: dict[str, dict] = {s: {} for s in samplers}
    for item in items:
        key, sep, value = item.partition("=")
        name, dot, param = key.partition(".")
        if not sep or not dot:
            raise NegbenchError(f"--param {item!r}: expected SAMPLER.NAME=VALUE")
        if name not in out:
            raise NegbenchError(f"--param {item!r}: sampler {name!r} is not in --samplers")
        out[name][param] = value
    return out


def cmd_run(args) -> int:
    from negbench.harness.budget import get_budget
    from negbench.harness.grid import run_grid
    from negbench.harness.paths import data_root
    from negbench.harness.workspace import Workspace
    from negbench.strategies.registry import get_sampler
    from negbench.suites.registry import get_suite

    suite = get_suite(args.suite)
    samplers = _csv(args.samplers)
    for s in samplers:
        get_sampler(s)
    params = _params(args.param, samplers)
    for s in samplers:  # validate parameters before any expensive work
        get_sampler(s).from_dict(params[s])
    budget = get_budget(args.budget, suite.budgets.get(args.budget))
    seeds = args.seeds or list(budget.seeds)
    root = data_root(args.data_root) if suite.loader == "irds" and suite.staged else None
    ws = Workspace(suite, root, args.cache_dir, args.model, progress=not args.quiet)
    table = run_grid(ws, [(s, params[s]) for s in samplers], seeds, budget, Path(args.output),
                     zero_shot=not args.no_zero_shot)
    print(table)
    print(f"records, runs and negatives written to {args.output}", file=sys.stderr)
    return 0


def cmd_strategies(args) -> int:
    import dataclasses

    from tabulate import tabulate

    from negbench.strategies.registry import available

    rows = []
    for name, cls in available().items():
        params = ", ".join(f"{f.name}={getattr(cls.Params(), f.name)!r}"
                           for f in dataclasses.fields(cls.Params)) or "-"
        rows.append([name, cls.description(), params])
    print(tabulate(rows, headers=["sampler", "description", "parameters (defaults)"],
                   tablefmt="github"))
    return 0


def cmd_suites(args) -> int:
    from tabulate import tabulate

    from negbench.harness.paths import data_root
    from negbench.suites.registry import all_suites

    root = data_root(args.data_root, required=False)
    rows = [[s.name, s.profile, ", ".join(s.measures), s.data_status(root), s.description]
            for s in all_suites().values()]
    print(tabulate(rows, headers=["suite", "profile", "measures", "data", "description"],
                   tablefmt="github"))
    return 0


def cmd_data_seed(args) -> int:
    from negbench.harness.irds import irds_home, seed_all
    from negbench.harness.paths import data_root

    paths = seed_all(data_root(args.data_root))
    print(f"seeded {len(paths)} ir_datasets cache files under {irds_home()} "
          f"from {data_root(args.data_root)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="negbench",
        description="Benchmark negative-sampling strategies for dense retrieval under a fixed "
                    "training budget.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    r = sub.add_parser("run", help="mine, train, retrieve and evaluate a sampler x seed grid",
                       description="Run samplers x seeds on a suite; finished runs in --output "
                                   "are skipped, so the same command resumes a grid.")
    r.add_argument("--suite", required=True,
                   help="suite name (see `negbench suites`) or path of a local BEIR folder")
    r.add_argument("--samplers", required=True,
                   help="comma list of sampler names (see `negbench strategies`)")
    r.add_argument("--seeds", type=_seeds, default=None,
                   help="comma list of integer seeds (default: the budget's seeds)")
    r.add_argument("--budget", default="smoke", help="named budget: smoke, standard or paper "
                   "(default: smoke)")
    r.add_argument("--output", required=True, help="folder for records, runs, negatives and "
                   "table.md")
    r.add_argument("--param", action="append", default=[], metavar="SAMPLER.NAME=VALUE",
                   help="set a sampler parameter, e.g. dense.range_min=10 (repeatable)")
    r.add_argument("--model", default=None,
                   help="base model name or local folder (default: the suite's model)")
    r.add_argument("--data-root", default=None,
                   help="staged data folder (default: $NEGBENCH_DATA or ../shared/data)")
    r.add_argument("--cache-dir", default=None,
                   help="embedding/index cache (default: $NEGBENCH_CACHE or ~/.cache/negbench)")
    r.add_argument("--no-zero-shot", action="store_true",
                   help="skip the BM25 and base-model reference rows")
    r.add_argument("--quiet", action="store_true", help="no progress bars")
    r.set_defaults(func=cmd_run)

    s = sub.add_parser("strategies", help="list samplers with description and parameters")
    s.set_defaults(func=cmd_strategies)

    su = sub.add_parser("suites", help="list suites with their data status")
    su.add_argument("--data-root", default=None, help="staged data folder to check")
    su.set_defaults(func=cmd_suites)

    d = sub.add_parser("data", help="data utilities")
    dsub = d.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    ds = dsub.add_parser("seed", help="seed the ir_datasets cache from the staged data "
                         "(offline)")
    ds.add_argument("--data-root", default=None,
                    help="staged data folder (default: $NEGBENCH_DATA or ../shared/data)")
    ds.set_defaults(func=cmd_data_seed)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except NegbenchError as exc:
        print(f"negbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("negbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
