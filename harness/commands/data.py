"""``negbench data seed``: seed the ir_datasets cache offline from the staged data."""

from __future__ import annotations

from negbench.harness.commands.common import add_data_root


def cmd_data_seed(args) -> int:
    from negbench.harness.irds import irds_home, seed_all
    from negbench.harness.paths import data_root
    from negbench.harness.preflight import writable_dir

    root = data_root(args.data_root)
    writable_dir(irds_home(), "the ir_datasets cache ($IR_DATASETS_HOME)")
    paths = seed_all(root)
    print(f"seeded {len(paths)} ir_datasets cache files under {irds_home()} from {root}")
    return 0


def register(sub) -> None:
    d = sub.add_parser("data", help="data utilities (seed the ir_datasets cache)",
                       description="Data utilities. `data seed` fills the ir_datasets cache "
                                   "($IR_DATASETS_HOME) from the staged files under "
                                   "--data-root, with no network, so that suites load offline.",
                       epilog="example: negbench data seed --data-root /path/to/data")
    dsub = d.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    ds = dsub.add_parser("seed", help="seed the ir_datasets cache from the staged data (offline)",
                         description="Copy the staged data into the ir_datasets cache "
                                     "($IR_DATASETS_HOME) so suites load without network.")
    add_data_root(ds)
    ds.set_defaults(func=cmd_data_seed)
