"""Lazy registry of suites by slash-separated name, plus ad-hoc suites from local BEIR folders."""

from __future__ import annotations

import difflib
from importlib import resources
from pathlib import Path

from negbench.harness.data.paths import path_kind, require
from negbench.harness.errors import NegbenchError
from negbench.suites.definition import DEFAULT_MEASURES, Suite, parse_suites

_SUITES: dict[str, Suite] | None = None
IRDS_PREFIX = "irds:"  # --suite irds:ID[,train=ID][,dev=ID][,profile=NAME]
_IRDS_OPTIONS = ("train", "dev", "profile")


def all_suites() -> dict[str, Suite]:
    """Every suite defined by the YAML files shipped in ``negbench.suites``."""
    global _SUITES
    if _SUITES is None:
        _SUITES = {}
        for entry in sorted(resources.files("negbench.suites").iterdir(), key=lambda p: p.name):
            if entry.name.endswith(".yaml"):
                for s in parse_suites(Path(str(entry))):
                    _SUITES[s.name] = s
    return _SUITES


def get_suite(name_or_path: str) -> Suite:
    """A registered suite, or a BEIR-folder suite when given a path to a local folder."""
    suites = all_suites()
    if name_or_path.startswith(IRDS_PREFIX):
        return irds_suite(name_or_path)
    if name_or_path in suites:
        return suites[name_or_path]
    if name_or_path.startswith("beir/"):
        return beir_suite(name_or_path)
    path, kind = Path(name_or_path), path_kind(name_or_path)
    if kind not in ("a folder", "nothing"):
        raise NegbenchError(f"{path} is {kind}, not a BEIR folder (--suite takes a suite name, "
                            "or a folder holding corpus.jsonl, queries.jsonl and qrels/)")
    if kind == "a folder":
        for part, want in (("corpus.jsonl", "file"), ("qrels", "folder")):
            if path_kind(path / part) == "nothing":
                raise NegbenchError(f"{path}: not a BEIR folder (no {part})")
            require(path / part, want)
        splits = sorted(p.stem for p in (path / "qrels").glob("*.tsv"))
        if "test" not in splits:
            raise NegbenchError(f"{path}/qrels: needs test.tsv (found {splits})")
        train = "train" if "train" in splits else "dev" if "dev" in splits else None
        if train is None:
            raise NegbenchError(f"{path}/qrels: needs train.tsv or dev.tsv to train on")
        return Suite(name=f"beir-folder:{path.resolve().name}", description=f"local BEIR folder {path}",
                     loader="beir-folder", corpus=str(path.resolve()), train=train, test="test",
                     dev="dev" if "dev" in splits and train != "dev" else None)
    close = difflib.get_close_matches(name_or_path, list(suites), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    if _irds_registered(name_or_path):
        hint = f"; an ir_datasets id? use --suite {IRDS_PREFIX}{name_or_path}"
    raise NegbenchError(f"unknown suite {name_or_path!r}{hint} (see `negbench suites`; a local "
                        "BEIR folder path also works)")


def beir_suite(dataset_id: str) -> Suite:
    """A suite for any BEIR dataset ir_datasets knows (downloaded where there is network).

    Splits come from the ir_datasets registry: ``<id>/train`` (else ``<id>/dev``) to train,
    ``<id>/test`` (else ``<id>`` itself) to test. Without either train or dev the suite is
    zero-shot/eval only.
    """
    import ir_datasets

    registered = set(ir_datasets.registry._registered)
    base = dataset_id.rstrip("/")
    if base not in registered:
        known = sorted(i for i in registered if i.startswith("beir/") and i.count("/") >= 1)
        close = difflib.get_close_matches(base, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise NegbenchError(f"unknown BEIR dataset {base!r}{hint} (ir_datasets ids beir/...)")
    for split in ("train", "dev", "test"):
        if base.endswith("/" + split):
            raise NegbenchError(f"{base!r} names a split; use the dataset id "
                                f"{base.rsplit('/', 1)[0]!r}, or --suite {IRDS_PREFIX}{base} "
                                "to evaluate on that split")
    have = {s for s in ("train", "dev", "test") if f"{base}/{s}" in registered}
    test = f"{base}/test" if "test" in have else base
    train = f"{base}/train" if "train" in have else f"{base}/dev" if "dev" in have else ""
    dev = f"{base}/dev" if "dev" in have and train != f"{base}/dev" else None
    return Suite(name=base, description=f"BEIR {base[5:]} through ir_datasets (downloads)",
                 loader="irds", corpus=base, train=train, test=test, dev=dev)


def _irds_registered(name: str) -> bool:
    import ir_datasets

    return name in ir_datasets.registry._registered


def _irds_docs(spec: str, dataset_id: str) -> str:
    """The id that supplies ``dataset_id``'s documents, after checking that ir_datasets knows
    the id and that it has documents, queries and qrels."""
    import ir_datasets

    if not _irds_registered(dataset_id):
        close = difflib.get_close_matches(dataset_id, list(ir_datasets.registry._registered), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise NegbenchError(f"unknown ir_datasets id {dataset_id!r} in --suite {spec!r}{hint} "
                            "(ids: https://ir-datasets.com)")
    ds = ir_datasets.load(dataset_id)
    lacks = [part for part in ("docs", "queries", "qrels") if not getattr(ds, f"has_{part}")()]
    if lacks:
        raise NegbenchError(f"ir_datasets id {dataset_id!r} has no {' and no '.join(lacks)}; "
                            f"--suite {IRDS_PREFIX}ID needs an id with docs, queries and qrels")
    return ir_datasets.docs_parent_id(dataset_id)


def _irds_profile(spec: str, value: str) -> tuple[str, tuple[str, ...]]:
    """(convention profile, measures) for ``profile=VALUE``: a convention profile, with the
    measures of the first ir_datasets suite that uses it, or a suite whose profile and
    measures to take."""
    from negbench.harness.evaluation.conventions import PROFILES

    suites = all_suites()
    if value in PROFILES:
        same = [s for s in suites.values() if s.profile == value
                and s.loader in ("irds", "msmarco")]
        return value, same[0].measures if same else DEFAULT_MEASURES
    if value in suites and suites[value].loader not in ("beir-generic", "irds-generic"):
        return suites[value].profile, suites[value].measures
    raise NegbenchError(f"--suite {spec!r}: unknown profile {value!r}; give a convention "
                        f"profile ({', '.join(PROFILES)}) or a suite name (`negbench suites`)")


def irds_suite(spec: str) -> Suite:
    """A suite for any ir_datasets id with docs, queries and qrels.

    ``irds:TEST[,train=ID][,dev=ID][,profile=NAME]``: TEST is evaluated on (its documents are
    the corpus); ``train=`` names the split to train on (same documents), else the suite is
    zero-shot / ``negbench eval`` only; ``profile=`` a convention profile (``beir``, the
    default, ``msmarco``, ``trec-dl``) or a suite to take the profile and measures from. The
    ``irds:`` prefix keeps these apart from negbench's suite names and local folder paths.
    """
    parts = [p.strip() for p in spec[len(IRDS_PREFIX):].split(",")]
    test, opts = parts[0], {}
    if not test:
        raise NegbenchError(f"--suite {spec!r}: name an ir_datasets id after {IRDS_PREFIX!r}, "
                            f"e.g. {IRDS_PREFIX}beir/scifact/test")
    for item in parts[1:]:
        key, sep, value = (x.strip() for x in item.partition("="))
        if not sep or key not in _IRDS_OPTIONS or not value:
            raise NegbenchError(f"--suite {spec!r}: {item!r} is not train=ID, dev=ID or "
                                "profile=NAME")
        if key in opts:
            raise NegbenchError(f"--suite {spec!r}: {key}= is given twice")
        opts[key] = value
    corpus = _irds_docs(spec, test)
    for role in ("train", "dev"):
        if role in opts and (docs := _irds_docs(spec, opts[role])) != corpus:
            raise NegbenchError(f"--suite {spec!r}: {role}={opts[role]!r} has other documents "
                                f"({docs}) than {test!r} ({corpus})")
    profile, measures = _irds_profile(spec, opts.get("profile", "beir"))
    if opts.get("profile") == "beir":
        del opts["profile"]  # the default: one name per suite
    name = IRDS_PREFIX + test + "".join(f",{k}={opts[k]}" for k in _IRDS_OPTIONS if k in opts)
    train = opts.get("train", "")
    return Suite(name=name, description=f"ir_datasets {test} (documents: {corpus}; training: "
                 f"{train or 'none, zero-shot and eval only'})", loader="irds", corpus=corpus,
                 train=train, test=test, dev=opts.get("dev"), profile=profile,
                 measures=tuple(measures))
