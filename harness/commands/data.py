"""``negbench data seed`` (the ir_datasets cache from the staged data, offline) and
``negbench data download SUITE`` (through ir_datasets where the network allows)."""

from __future__ import annotations

from negbench.harness.commands.common import add_data_root


def cmd_data_seed(args) -> int:
    from negbench.harness.data.irds import irds_home, seed_all
    from negbench.harness.data.paths import data_root
    from negbench.harness.io.writable import writable_dir

    root = data_root(args.data_root)
    writable_dir(irds_home(), "the ir_datasets cache ($IR_DATASETS_HOME)")
    paths = seed_all(root)
    print(f"seeded {len(paths)} ir_datasets cache files under {irds_home()} from {root}")
    return 0


def cmd_data_download(args) -> int:
    from negbench.harness.data.fingerprint import data_fingerprint
    from negbench.harness.data.irds import irds_home
    from negbench.harness.data.paths import data_root, given_root
    from negbench.harness.errors import NegbenchError
    from negbench.harness.io.writable import writable_dir
    from negbench.suites.loading import load_suite_data, load_test_qrels
    from negbench.suites.registry import get_suite

    suite = get_suite(args.suite)
    root = given_root(args.data_root)  # None: the default places, else the cache as it is
    if suite.loader not in ("irds", "msmarco"):  # staged or local files: nothing to fetch
        status = suite.data_status(root or data_root(required=False))
        if status != "present":
            raise NegbenchError(f"{suite.name}: {status} (not an ir_datasets suite: nothing to "
                                "download)")
        print(f"{suite.name}: present (not an ir_datasets suite: nothing to download)")
        return 0
    writable_dir(irds_home(), "the ir_datasets cache ($IR_DATASETS_HOME)")
    if suite.loader == "msmarco":  # queries + qrels; the 8.8M passages come with --collection
        test = load_test_qrels(suite, root)
        judged = sum(len(j) for j in test.qrels.values())
        print(f"{suite.name}: ready: test {len(test.queries):,} queries / {judged:,} "
              f"judgements in {irds_home()}; passages: `negbench run --collection PATH`")
        return 0
    data = load_suite_data(suite, root)
    splits = [(n, getattr(data, n)) for n in ("train", "dev", "test")
              if getattr(data, n) is not None and getattr(data, n).qrels]
    counts = "; ".join(f"{n} {len(sp.qrels):,} queries / {sum(map(len, sp.qrels.values())):,} "
                       "judgements" for n, sp in splits)
    print(f"{suite.name}: ready: {len(data.corpus):,} docs; {counts}; data fingerprint "
          f"{data_fingerprint(data)[:12]} (ir_datasets cache {irds_home()})")
    return 0


def register(sub) -> None:
    d = sub.add_parser("data", help="data utilities (seed or download the ir_datasets cache)",
                       description="Data utilities. `data seed` fills the ir_datasets cache "
                                   "($IR_DATASETS_HOME) from the staged files under "
                                   "--data-root, with no network, so that suites load offline. "
                                   "`data download SUITE` fetches a suite's data through "
                                   "ir_datasets where the network allows, and otherwise says "
                                   "which files to place where.",
                       epilog="examples: negbench data seed --data-root /path/to/data; "
                              "negbench data download beir/fiqa; "
                              "negbench data download irds:antique/test,train=antique/train")
    dsub = d.add_subparsers(dest="data_command", metavar="ACTION", required=True,
                            help="seed or download; `negbench data ACTION --help` shows the "
                                 "action's options")
    ds = dsub.add_parser("seed", help="seed the ir_datasets cache from the staged data (offline)",
                         description="Copy the staged data into the ir_datasets cache "
                                     "($IR_DATASETS_HOME) so suites load without network.")
    add_data_root(ds)
    ds.set_defaults(func=cmd_data_seed)
    dd = dsub.add_parser(
        "download", help="fetch a suite's data through ir_datasets (where the network allows)",
        description="Fetch the documents, queries and qrels of SUITE into the ir_datasets cache "
                    "($IR_DATASETS_HOME) and check them. Staged data and files already in the "
                    "cache are used as they are. Without network (no answer within "
                    "$NEGBENCH_NET_TIMEOUT seconds, default 5, or $NEGBENCH_OFFLINE=1) it fails "
                    "at once with one line naming the files to place and where.",
        epilog="examples: negbench data download beir/scifact; "
               "NEGBENCH_OFFLINE=1 negbench data download irds:antique/test")
    dd.add_argument("suite", metavar="SUITE",
                    help="a suite name (`negbench suites`), beir/NAME, or irds:ID[,train=ID]")
    add_data_root(dd)
    dd.set_defaults(func=cmd_data_download)
