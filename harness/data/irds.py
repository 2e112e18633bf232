"""ir_datasets access, with the cache seeded offline from the staged data folder.

The staged files (see ``../shared/data/MANIFEST.md``) are placed where ir_datasets expects its
downloads, so ``ir_datasets.load(id)`` works with no network. Seeding is idempotent.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import logging
import os
import shutil
import zipfile
from contextlib import contextmanager
from pathlib import Path

from negbench.harness.data.collection import Corpus, Split, check_doc, validate_split
from negbench.harness.data.paths import data_root
from negbench.harness.errors import NegbenchError
from negbench.harness.io.atomic import atomic_file, file_lock, write_text_atomic
from negbench.harness.io.digest import sha256_file

log = logging.getLogger(__name__)

BEIR_STAGED = {"scifact": ("beir-scifact", ["train", "test"]),
               "nfcorpus": ("beir-nfcorpus", ["train", "dev", "test"])}

# msmarco-passage: ir_datasets cache path -> staged file (relative to the data root)
MSMARCO_STAGED = {
    "dev/small/queries.tsv": "msmarco-passage/topics.msmarco-passage.dev-subset.txt",
    "dev/small/qrels": "msmarco-passage/qrels.msmarco-passage.dev-subset.txt",
    "trec-dl-2019/qrels": "msmarco-passage/qrels.dl19-passage.txt",
    "trec-dl-2019/queries.tsv": "msmarco-passage/topics.dl19-passage.txt",
    "trec-dl-2020/qrels": "msmarco-passage/qrels.dl20-passage.txt",
    "trec-dl-2020/queries.tsv": "msmarco-passage/topics.dl20.txt",
    "trec-dl-hard/qrels": "msmarco-passage/dl-hard/dl_hard-passage.qrels",
}


def irds_home() -> Path:
    """The ir_datasets cache root (``$IR_DATASETS_HOME`` or ``~/.ir_datasets``)."""
    return Path(os.environ.get("IR_DATASETS_HOME", Path.home() / ".ir_datasets"))


def _atomic_copy(src: Path, dst: Path, gz: bool = False) -> None:
    """Copy (gzip) ``src`` to ``dst`` through a uniquely named temporary (``harness.atomic``)."""
    with open(src, "rb") as fi, atomic_file(dst, "wb") as raw:
        if gz:
            with gzip.GzipFile(dst.name, "wb", fileobj=raw, mtime=0) as fo:
                shutil.copyfileobj(fi, fo)
        else:
            shutil.copyfileobj(fi, raw)


@contextmanager
def seeding_lock(collection: str):
    """Exclusive lock on seeding (and reading) one collection of the ir_datasets cache: two
    processes starting at once (array-job tasks, Ray workers) never empty, write or let
    ir_datasets extract one cache folder together. The lock files live in
    ``<irds>/.negbench-locks`` (outside the folders that seeding replaces)."""
    with file_lock(irds_home() / ".negbench-locks" / f"{collection.replace('/', '_')}.lock"):
        yield


STAMP = "negbench-source.json"  # what a seeded cache folder was seeded from


def _source_sha(files: list[Path]) -> str:
    """sha256 over the staged files' names and bytes (memoised per size and mtime)."""
    key = tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    if key not in _SOURCE_SHA:
        h = hashlib.sha256()
        for f in files:
            h.update(f.name.encode() + b"\0" + sha256_file(f).encode())
        _SOURCE_SHA[key] = h.hexdigest()
    return _SOURCE_SHA[key]


_SOURCE_SHA: dict[tuple, str] = {}


def _seeded_from(folder: Path, sha: str) -> bool:
    try:
        return json.loads((folder / STAMP).read_text()).get("sha256") == sha
    except (OSError, ValueError):
        return False


def _stamp(folder: Path, sha: str, src: Path) -> None:
    from negbench.harness.io.atomic import write_json_atomic

    write_json_atomic({"sha256": sha, "source": str(src)}, folder / STAMP)


def seed_beir(name: str, root: Path | None = None) -> Path:
    """Zip a staged BEIR folder into ``<irds>/beir/<name>/source.zip``; returns the zip path.

    The cache folder is keyed by the staged files' sha256 (``negbench-source.json``): seeded
    from other files (another ``--data-root``, edited data) it is emptied and seeded again,
    after the staged files pass negbench's strict BEIR readers."""
    folder_name, splits = BEIR_STAGED[name]
    src = data_root(root) / folder_name
    if not src.is_dir():
        raise NegbenchError(f"{src}: staged BEIR data not found; set $NEGBENCH_DATA or --data-root")
    files = [src / "corpus.jsonl", src / "queries.jsonl"] + [src / "qrels" / f"{sp}.tsv"
                                                              for sp in splits]
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise NegbenchError(f"{missing[0]}: staged BEIR file not found")
    sha = _source_sha(files)
    folder = irds_home() / "beir" / name
    dst = folder / "source.zip"
    with seeding_lock(f"beir/{name}"):
        if dst.exists() and _seeded_from(folder, sha):
            return dst
        _check_beir_files(src, splits)
        shutil.rmtree(folder, ignore_errors=True)  # ir_datasets' derived files: from the old zip
        with atomic_file(dst, "wb", suffix=".zip.tmp") as raw, \
                zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.write(src / "corpus.jsonl", f"{name}/corpus.jsonl")
            zf.write(src / "queries.jsonl", f"{name}/queries.jsonl")
            for sp in splits:
                zf.write(src / "qrels" / f"{sp}.tsv", f"{name}/qrels/{sp}.tsv")
        _stamp(folder, sha, src)
    return dst


def _check_beir_files(src: Path, splits: list[str]) -> None:
    """The staged files under negbench's strict grammar (ir_datasets would read ``1_0`` as 10)."""
    from negbench.harness.data.beir_folder import read_corpus, read_qrels_tsv, read_queries

    corpus, queries = read_corpus(src / "corpus.jsonl"), read_queries(src / "queries.jsonl")
    for sp in splits:
        read_qrels_tsv(src / "qrels" / f"{sp}.tsv", queries, corpus.docs)


def seed_msmarco(root: Path | None = None) -> list[Path]:
    """Place the staged MS MARCO passage queries/qrels in the ir_datasets cache (no passages);
    a cached file that differs from the staged one is replaced (qrels checked strictly)."""
    with seeding_lock("msmarco-passage"):
        return _seed_msmarco(data_root(root))


def _seed_msmarco(droot: Path) -> list[Path]:
    from negbench.harness.io.trec_files import read_trec_qrels

    base = irds_home() / "msmarco-passage"
    out = []
    for rel, staged in MSMARCO_STAGED.items():
        dst, src = base / rel, droot / staged
        if not src.is_file():
            raise NegbenchError(f"{src}: staged MS MARCO file not found; set $NEGBENCH_DATA or "
                                "--data-root")
        if not dst.exists() or sha256_file(dst) != sha256_file(src):
            if rel.endswith("qrels"):
                read_trec_qrels(src)
            _atomic_copy(src, dst)
        out.append(dst)
    gz = base / "trec-dl-2020" / "queries.tsv.gz"
    sha = _source_sha([droot / MSMARCO_STAGED["trec-dl-2020/queries.tsv"]])
    if not gz.exists() or not _seeded_from(gz.parent, sha):
        _atomic_copy(droot / MSMARCO_STAGED["trec-dl-2020/queries.tsv"], gz, gz=True)
        _stamp(gz.parent, sha, droot / MSMARCO_STAGED["trec-dl-2020/queries.tsv"])
    version = base / "trec-dl-hard" / "irds_version.txt"
    if not version.exists():
        write_text_atomic("v3", version)  # without it ir_datasets' migrator deletes the qrels
    return out + [gz]


def seed_all(root: Path | None = None) -> list[Path]:
    """Seed every staged collection; returns the cache files written or found."""
    return [seed_beir(n, root) for n in BEIR_STAGED] + seed_msmarco(root)


def _collection(dataset_id: str) -> str:
    """The cache folder an ir_datasets id lives in (its seeding lock): ``beir/scifact`` for
    ``beir/scifact/train``, ``msmarco-passage`` for ``msmarco-passage/dev/small``."""
    parts = dataset_id.split("/")
    return "/".join(parts[:2]) if parts[0] == "beir" else parts[0]


def _seed(dataset_id: str, root: Path | None) -> Path | None:
    """Seed the cache from the staged files of a collection negbench stages. A ``root`` given
    (``--data-root``) must hold them (else a one-line error); with none given and none staged
    in the default places, the staged folder looked for is returned: the cache is read as it
    is."""
    parts = dataset_id.split("/")
    staged = data_root(root, required=False)
    if parts[0] == "beir" and len(parts) > 1 and parts[1] in BEIR_STAGED:
        folder = staged / BEIR_STAGED[parts[1]][0]
        if root is None and not folder.is_dir():
            return folder
        seed_beir(parts[1], root)
    elif parts[0] == "msmarco-passage":
        if root is None and not (staged / "msmarco-passage").is_dir():
            return staged / "msmarco-passage"
        seed_msmarco(root)
    return None


@functools.cache
def note_cache_only(collection: str, looked: str) -> None:
    """The one INFO line saying a staged collection was read from the cache as it is."""
    log.info("[negbench] %s: no --data-root given and no staged files (%s): read from the "
             "ir_datasets cache as it is (%s)", collection, looked, irds_home())


def _load(dataset_id: str, root: Path | None):
    """Seed, then ``ir_datasets.load``; callers hold ``seeding_lock(_collection(id))`` while
    they read, since ir_datasets extracts its derived files on first read without a lock.
    Returns the dataset and the staged folder not found (None when seeded or not staged)."""
    import ir_datasets

    missing = _seed(dataset_id, root)
    try:
        return ir_datasets.load(dataset_id), missing
    except KeyError:
        raise NegbenchError(f"unknown ir_datasets id {dataset_id!r}") from None


def load_corpus(dataset_id: str, root: Path | None = None) -> Corpus:
    """All docs of an ir_datasets id (BEIR-style title + text), checked for duplicates/empties."""
    docs: dict = {}
    with seeding_lock(_collection(dataset_id)):
        ds, missing = _load(dataset_id, root)
        for d in ds.docs_iter():
            docs[d.doc_id] = check_doc(d.doc_id, getattr(d, "title", ""), d.text, docs,
                                       f"{dataset_id} docs")
    if missing is not None:
        note_cache_only(_collection(dataset_id), str(missing))
    return Corpus(docs, source=f"irds:{dataset_id}")


def load_split(dataset_id: str, corpus: Corpus | None, root: Path | None = None) -> Split:
    """Queries and qrels of an ir_datasets id, validated against ``corpus`` when given."""
    qrels: dict[str, dict[str, int]] = {}
    with seeding_lock(_collection(dataset_id)):
        ds, missing = _load(dataset_id, root)
        queries = {q.query_id: q.text for q in ds.queries_iter()}
        for r in ds.qrels_iter():
            qrels.setdefault(r.query_id, {})[r.doc_id] = int(r.relevance)
    if missing is not None:
        note_cache_only(_collection(dataset_id), str(missing))
    split = Split(dataset_id.split("/")[-1], queries, qrels, f"irds:{dataset_id}")
    if corpus is not None:
        validate_split(corpus, split)
    split.queries = {q: queries[q] for q in qrels if q in queries}
    return split
