"""ir_datasets access, with the cache seeded offline from the staged data folder.

The staged files (see ``../shared/data/MANIFEST.md``) are placed where ir_datasets expects its
downloads, so ``ir_datasets.load(id)`` works with no network. Seeding is idempotent.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from negbench.harness.data import Corpus, Split, check_doc, validate_split
from negbench.harness.errors import NegbenchError
from negbench.harness.paths import data_root

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
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    with open(src, "rb") as fi, (gzip.GzipFile(tmp, "wb", mtime=0) if gz else open(tmp, "wb")) as fo:
        shutil.copyfileobj(fi, fo)
    os.replace(tmp, dst)


def seed_beir(name: str, root: Path | None = None) -> Path:
    """Zip a staged BEIR folder into ``<irds>/beir/<name>/source.zip``; returns the zip path."""
    folder_name, splits = BEIR_STAGED[name]
    src = data_root(root) / folder_name
    dst = irds_home() / "beir" / name / "source.zip"
    if dst.exists():
        return dst
    if not src.is_dir():
        raise NegbenchError(f"{src}: staged BEIR data not found; set $NEGBENCH_DATA or --data-root")
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dst.parent, suffix=".zip.tmp")
    os.close(fd)
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(src / "corpus.jsonl", f"{name}/corpus.jsonl")
        zf.write(src / "queries.jsonl", f"{name}/queries.jsonl")
        for sp in splits:
            zf.write(src / "qrels" / f"{sp}.tsv", f"{name}/qrels/{sp}.tsv")
    os.replace(tmp, dst)
    return dst


def seed_msmarco(root: Path | None = None) -> list[Path]:
    """Place the staged MS MARCO passage queries/qrels in the ir_datasets cache (no passages)."""
    base = irds_home() / "msmarco-passage"
    droot = data_root(root)
    out = []
    for rel, staged in MSMARCO_STAGED.items():
        dst = base / rel
        if not dst.exists():
            _atomic_copy(droot / staged, dst)
        out.append(dst)
    gz = base / "trec-dl-2020" / "queries.tsv.gz"
    if not gz.exists():
        _atomic_copy(droot / MSMARCO_STAGED["trec-dl-2020/queries.tsv"], gz, gz=True)
    version = base / "trec-dl-hard" / "irds_version.txt"
    if not version.exists():
        version.write_text("v3")  # without it ir_datasets' migrator deletes the qrels
    return out + [gz]


def seed_all(root: Path | None = None) -> list[Path]:
    """Seed every staged collection; returns the cache files written or found."""
    return [seed_beir(n, root) for n in BEIR_STAGED] + seed_msmarco(root)


def _load(dataset_id: str, root: Path | None):
    import ir_datasets

    parts = dataset_id.split("/")
    if parts[0] == "beir" and len(parts) > 1 and parts[1] in BEIR_STAGED:
        seed_beir(parts[1], root)
    elif parts[0] == "msmarco-passage":
        seed_msmarco(root)
    try:
        return ir_datasets.load(dataset_id)
    except KeyError:
        raise NegbenchError(f"unknown ir_datasets id {dataset_id!r}") from None


def load_corpus(dataset_id: str, root: Path | None = None) -> Corpus:
    """All docs of an ir_datasets id (BEIR-style title + text), checked for duplicates/empties."""
    ds = _load(dataset_id, root)
    docs: dict = {}
    for d in ds.docs_iter():
        docs[d.doc_id] = check_doc(d.doc_id, getattr(d, "title", ""), d.text, docs,
                                   f"{dataset_id} docs")
    return Corpus(docs, source=f"irds:{dataset_id}")


def load_split(dataset_id: str, corpus: Corpus | None, root: Path | None = None) -> Split:
    """Queries and qrels of an ir_datasets id, validated against ``corpus`` when given."""
    ds = _load(dataset_id, root)
    queries = {q.query_id: q.text for q in ds.queries_iter()}
    qrels: dict[str, dict[str, int]] = {}
    for r in ds.qrels_iter():
        qrels.setdefault(r.query_id, {})[r.doc_id] = int(r.relevance)
    split = Split(dataset_id.split("/")[-1], queries, qrels, f"irds:{dataset_id}")
    if corpus is not None:
        validate_split(corpus, split)
    split.queries = {q: queries[q] for q in qrels if q in queries}
    return split
