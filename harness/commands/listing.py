"""``negbench strategies`` and ``negbench suites``: what is registered, and its data status."""

from __future__ import annotations

import dataclasses

from negbench.harness.commands.common import add_data_root
from negbench.harness.commands.terminal import fitted, paragraph


def cmd_strategies(args) -> int:
    from negbench.strategies.plugins import load_plugins
    from negbench.strategies.registry import SKIPPED, available

    load_plugins(getattr(args, "plugin", None) or [])
    if getattr(args, "losses", False):
        return _list_losses()

    rows = []
    for name, cls in available().items():
        params = ", ".join(f"{f.name}={getattr(cls.Params(), f.name)!r}"
                           for f in dataclasses.fields(cls.Params)) or "-"
        rows.append([name, cls.description(), cls.paper or "-", cls.simplified or "-", params])
    print(fitted(rows, ["sampler", "description", "paper", "simplified here",
                        "parameters (defaults)"]))
    print("\n" + paragraph("Methods as published (`run --mode recipe`; `--mode controlled` "
                          "trains every sampler with one shared loss and adds the window "
                          "control):") + "\n")
    recipes = []
    for name, cls in available().items():
        r = cls.get_recipe()
        recipes.append([name, r.describe_loss(), "on" if r.mask else "off", r.schedule,
                        r.control_label or "-",
                        r.query_side or "-"])
    print(fitted(recipes, ["sampler", "loss", "in-batch mask", "schedule", "window control",
                           "query-side track"]))
    for name, why in sorted(SKIPPED.items()):
        print(f"entry point {name!r} not registered: {why}")
    return 0


def _list_losses() -> int:
    from negbench.harness.training.losses import get_loss, loss_names

    rows = []
    for name in loss_names():
        loss = get_loss(name)
        rows.append([name, " ".join((type(loss).__doc__ or "").split()), loss.paper,
                     ", ".join(sorted(loss.consumes)) or "-",
                     ", ".join(f"{k}={v!r}" for k, v in loss.params_dict().items()) or "-"])
    print(fitted(rows, ["loss", "what it computes", "paper", "consumes",
                        "parameters (defaults)"]))
    return 0


def cmd_suites(args) -> int:
    from negbench.harness.data.paths import data_root
    from negbench.suites.registry import all_suites

    root = data_root(args.data_root, required=False)
    rows = [[s.name, s.profile, ", ".join(s.measures), s.data_status(root), s.description]
            for s in all_suites().values()]
    print(fitted(rows, ["suite", "profile", "measures", "data", "description"]))
    return 0


def register(sub) -> None:
    s = sub.add_parser("strategies", help="list samplers with description and parameters",
                       description="List every registered sampler (built-ins, entry points of "
                                   "the negbench.strategies group, --plugin files) with its "
                                   "description, source paper, what negbench simplifies and "
                                   "its parameters with defaults (set them with `run --param "
                                   "SAMPLER.NAME=VALUE` or in an experiment file), then each "
                                   "method's published recipe: loss, in-batch mask, schedule "
                                   "and window-matched control.",
                       epilog="example: negbench strategies --plugin docs/examples/my_sampler.py")
    s.add_argument("--plugin", action="append", default=[], metavar="FILE.py",
                   help="also load the samplers a one-file module registers (the same "
                        "file `run --plugin` takes) and list them too; repeatable")
    s.add_argument("--losses", action="store_true",
                   help="list the registered losses instead (`run --loss NAME`): what each "
                        "computes, its paper, what it consumes and its parameters")
    s.set_defaults(func=cmd_strategies)
    su = sub.add_parser("suites", help="list suites with their data status",
                        description="List the packaged suites (benchmarks): evaluation "
                                    "profile, measures, whether their staged data is found "
                                    "under --data-root, and a description. Any suite name, or "
                                    "the path of a local BEIR folder, is a `run --suite`.",
                        epilog="example: negbench suites --data-root /path/to/data")
    add_data_root(su)
    su.set_defaults(func=cmd_suites)
