"""Approximate inner-product search for mining at MS MARCO scale: a faiss IVF index with 8-bit
scalar-quantised codes (``IndexIVFScalarQuantizer``, SQ8) over a spherical k-means coarse
quantizer, whose top ``refine`` x k candidates per query are re-scored exactly against the
caller's document matrix (fp16 or fp32, never copied). The returned scores are therefore
exact inner products; only which documents make the top-k is approximate.

Defaults (``IvfParams``) give recall@200 >= 0.95 against exact search on the clustered
synthetic corpora of ``benchmarks/ann_mining.py`` at 50k, 1M and 8.8M vectors
(docs/performance.md, "Mining at MS MARCO scale"). Mining chooses it with
``negbench run --search ivf`` (exact stays the default); the record's ``mining.search`` states
the resolved parameters.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, replace

import numpy as np

from negbench.harness.errors import NegbenchError

DEFAULT_NPROBE = 64
DEFAULT_REFINE = 2
TRAIN_PER_LIST = 64  # k-means training vectors per inverted list (faiss warns below 39)
KMEANS_ITERATIONS = 10
ADD_BLOCK = 131072  # documents upcast to fp32 at a time while adding
REFINE_BLOCK = 256  # queries re-scored at a time (their candidates' vectors upcast at once)


def default_nlist(n: int) -> int:
    """The power of two nearest sqrt(n), at most n / ``TRAIN_PER_LIST`` (4,096 lists for 8.8M
    documents, 1,024 for 1M, 256 for 50k)."""
    if n < 2 * TRAIN_PER_LIST:
        return 1
    lists = 2 ** round(math.log2(math.sqrt(n)))
    return int(min(lists, 2 ** int(math.log2(n // TRAIN_PER_LIST))))


@dataclass(frozen=True)
class IvfParams:
    """``nlist`` inverted lists (0: ``default_nlist`` of the corpus), ``nprobe`` of them
    scanned per query, ``refine`` x k candidates re-scored exactly, k-means ``seed``."""

    nlist: int = 0
    nprobe: int = DEFAULT_NPROBE
    refine: int = DEFAULT_REFINE
    seed: int = 0

    def check(self) -> None:
        if self.nlist < 0 or self.nprobe < 1 or self.refine < 1 or self.seed < 0:
            raise NegbenchError(f"search ivf: need nlist >= 0 (0: automatic), nprobe >= 1, "
                                f"refine >= 1 and seed >= 0, got {self.spec()}")

    def resolved(self, n: int) -> IvfParams:
        """With the automatic ``nlist`` filled in for ``n`` documents and ``nprobe`` capped by
        it."""
        nlist = self.nlist or default_nlist(n)
        if nlist > n:
            raise NegbenchError(f"search ivf: nlist={nlist} exceeds the corpus ({n:,} documents)")
        return replace(self, nlist=nlist, nprobe=min(self.nprobe, nlist))

    def spec(self) -> str:
        """The ``--search`` value that gives these parameters."""
        return (f"ivf:nlist={self.nlist},nprobe={self.nprobe},refine={self.refine},"
                f"seed={self.seed}")


def parse_search(text: str) -> IvfParams | None:
    """A ``--search`` value: ``exact`` (None) or ``ivf`` with optional ``:NAME=VALUE,...``
    (``nlist``, ``nprobe``, ``refine``, ``seed``; integers), e.g. ``ivf:nprobe=128``."""
    kind, _, rest = str(text).strip().partition(":")
    if kind == "exact" and not rest:
        return None
    if kind != "ivf":
        raise NegbenchError(f"--search {text!r}: expected exact or ivf[:nlist=N,nprobe=N,"
                            "refine=N,seed=N]")
    values = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        name, eq, value = item.partition("=")
        if name not in ("nlist", "nprobe", "refine", "seed") or not eq:
            raise NegbenchError(f"--search {text!r}: {item!r} is not NAME=VALUE with NAME one "
                                "of nlist, nprobe, refine, seed")
        if not value.isdigit():
            raise NegbenchError(f"--search {text!r}: {name}={value!r} is not a non-negative "
                                "integer")
        values[name] = int(value)
    params = IvfParams(**values)
    params.check()
    return params


def canonical_search(text: str) -> str:
    """``text`` checked and written the one way a run's config hashes it: ``exact`` or
    ``ivf:nlist=N,nprobe=N,refine=N,seed=N`` (nlist 0: automatic)."""
    params = parse_search(text)
    return "exact" if params is None else params.spec()


def describe_search(text: str, n: int) -> str:
    """What the record states about the search that mined: ``exact``, or the resolved IVF
    parameters for a corpus of ``n`` documents (codes and training sample included)."""
    params = parse_search(text)
    if params is None:
        return "exact"
    p = params.resolved(n)
    return (f"{p.spec()} (faiss IVF{p.nlist},SQ8, inner product; k-means on "
            f"{train_size(p.nlist, n):,} documents; top {p.refine}k re-scored exactly)")


def train_size(nlist: int, n: int) -> int:
    return min(n, TRAIN_PER_LIST * nlist)


class IvfIndex:
    """An IVF-SQ8 index over ``doc_emb`` (kept by reference for the exact re-scoring)."""

    def __init__(self, doc_emb: np.ndarray, params: IvfParams | None = None) -> None:
        import faiss

        n, dim = doc_emb.shape
        self.params = (params or IvfParams()).resolved(n)
        self.doc_emb = doc_emb
        p = self.params
        t0 = time.perf_counter()
        rng = np.random.default_rng(p.seed)
        sample = np.sort(rng.choice(n, train_size(p.nlist, n), replace=False))
        train = np.ascontiguousarray(doc_emb[sample], dtype=np.float32)
        kmeans = faiss.Kmeans(dim, p.nlist, niter=KMEANS_ITERATIONS, spherical=True,
                              seed=p.seed, max_points_per_centroid=TRAIN_PER_LIST)
        kmeans.train(train)
        quantizer = faiss.IndexFlatIP(dim)
        quantizer.add(kmeans.centroids)
        index = faiss.IndexIVFScalarQuantizer(quantizer, dim, p.nlist,
                                              faiss.ScalarQuantizer.QT_8bit,
                                              faiss.METRIC_INNER_PRODUCT, False)
        index.train(train)  # the SQ8 ranges; the quantizer is trained already
        del train
        self.train_seconds = time.perf_counter() - t0
        for start in range(0, n, ADD_BLOCK):
            index.add(np.ascontiguousarray(doc_emb[start:start + ADD_BLOCK], dtype=np.float32))
        index.nprobe = p.nprobe
        self.index, self.quantizer = index, quantizer
        self.build_seconds = time.perf_counter() - t0

    @property
    def code_bytes(self) -> int:
        """Memory of the index itself (codes, ids, centroids), not of the documents."""
        return (self.index.ntotal * (self.index.code_size + 8)
                + self.params.nlist * self.doc_emb.shape[1] * 4)

    def search(self, query_emb: np.ndarray, k: int,
               nprobe: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, indices): the IVF's top ``refine`` x k, re-scored exactly and
        sorted by score; -1 (score -inf) where fewer than ``k`` documents were reached."""
        k = min(k, self.doc_emb.shape[0])
        self.index.nprobe = min(nprobe or self.params.nprobe, self.params.nlist)
        q = np.ascontiguousarray(query_emb, dtype=np.float32)
        if not len(q) or not k:
            return np.zeros((len(q), k), np.float32), np.zeros((len(q), k), np.int64)
        _, cand = self.index.search(q, min(self.params.refine * k, self.doc_emb.shape[0]))
        return rescore(q, self.doc_emb, cand, k)


def rescore(q: np.ndarray, doc_emb: np.ndarray, cand: np.ndarray,
            k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner products of each query with its candidate rows (-1: none), top ``k``."""
    scores = np.full((len(q), k), -np.inf, np.float32)
    idx = np.full((len(q), k), -1, np.int64)
    for s in range(0, len(q), REFINE_BLOCK):
        c = cand[s:s + REFINE_BLOCK]
        vec = np.asarray(doc_emb[np.maximum(c, 0).ravel()], dtype=np.float32)
        sc = np.matmul(vec.reshape(*c.shape, -1), q[s:s + REFINE_BLOCK, :, None])[..., 0]
        sc[c < 0] = -np.inf
        top = np.argsort(-sc, axis=1, kind="stable")[:, :k]
        idx[s:s + len(c), :top.shape[1]] = np.take_along_axis(c, top, 1)
        scores[s:s + len(c), :top.shape[1]] = np.take_along_axis(sc, top, 1)
    return scores, idx


_CACHE: dict[tuple, IvfIndex] = {}  # one index: the last corpus searched (bounded memory)


def _fingerprint(doc_emb: np.ndarray) -> str:
    """The matrix's content (dtype, shape, bytes; about 1 s per GB): the encoder cache hands
    out a new array per call, so identity would rebuild the index for every run of a grid."""
    h = hashlib.blake2b(f"{doc_emb.dtype}|{doc_emb.shape}".encode(), digest_size=16)
    h.update(np.ascontiguousarray(doc_emb))
    return h.hexdigest()


def ivf_index(doc_emb: np.ndarray, params: IvfParams | None = None) -> IvfIndex:
    """The IVF index of ``doc_emb`` with ``params``, built once and reused while the same
    documents are searched (any ``nprobe``)."""
    params = (params or IvfParams()).resolved(doc_emb.shape[0])
    key = (_fingerprint(doc_emb), params.nlist, params.seed)
    index = _CACHE.get(key)
    if index is None:
        _CACHE.clear()
        index = _CACHE[key] = IvfIndex(doc_emb, params)
    index.doc_emb = doc_emb  # re-scored against the caller's matrix (same content)
    index.params = replace(index.params, nprobe=params.nprobe, refine=params.refine)
    return index


def ivf_search(query_emb: np.ndarray, doc_emb: np.ndarray, k: int,
               params: IvfParams | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Approximate top-``k`` (scores, indices) per query by inner product: ``exact_search``'s
    shapes and dtypes (float32 scores, int64 indices, best first), exact scores for the
    returned documents. ``doc_emb`` may be fp16 (its rows are upcast as needed)."""
    if doc_emb.shape[0] == 0 or k <= 0:
        return (np.zeros((len(query_emb), 0), np.float32),
                np.zeros((len(query_emb), 0), np.int64))
    return ivf_index(doc_emb, params).search(query_emb, k)
