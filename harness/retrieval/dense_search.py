"""Exact inner-product search (faiss on the CPU, torch on an accelerator), in query blocks
so memory stays bounded; fp16 document matrices are searched in fp32 document blocks (never
upcast whole). ``search_run(..., search="ivf...")`` uses the approximate IVF index of
``ann_search`` instead (mining at MS MARCO scale, docs/performance.md)."""

from __future__ import annotations

import numpy as np

from negbench.harness.io.trec_files import Hits


def id_ranks(doc_ids: list[str]) -> np.ndarray:
    """Each doc's position in the ids' string order (Python's, as ``sort_hits`` compares)."""
    ranks = np.empty(len(doc_ids), dtype=np.int64)
    ranks[sorted(range(len(doc_ids)), key=doc_ids.__getitem__)] = np.arange(len(doc_ids))
    return ranks


DOC_BLOCK = 131072  # documents upcast to fp32 at a time when the matrix is not fp32
QUERY_CHUNK = 16384  # queries whose running top-k heaps are held at once (doc-block path)


def exact_search(query_emb: np.ndarray, doc_emb: np.ndarray, k: int,
                 block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` (scores, indices) per query by inner product; exact (``faiss.knn``, the brute
    force of ``IndexFlatIP`` without copying the documents into an index), in query blocks:
    memory is the document matrix plus one block's scores (``benchmarks/search_memory.py``).
    A matrix in another dtype (fp16 storage) is searched in fp32 blocks of ``DOC_BLOCK``
    documents whose top-``k`` are merged per query (``faiss.ResultHeap``): memory is the
    matrix plus one fp32 block, and the scores are those of the upcast vectors."""
    import faiss

    k = min(k, doc_emb.shape[0])
    if doc_emb.dtype != np.float32:
        return _exact_doc_blocks(query_emb, doc_emb, k)
    docs = np.ascontiguousarray(doc_emb, dtype=np.float32)
    scores, idx = [], []
    for start in range(0, query_emb.shape[0], block):
        q = np.ascontiguousarray(query_emb[start:start + block], dtype=np.float32)
        s, i = faiss.knn(q, docs, k, metric=faiss.METRIC_INNER_PRODUCT)
        scores.append(s)
        idx.append(i)
    if not scores:
        return np.zeros((0, k), np.float32), np.zeros((0, k), np.int64)
    return np.vstack(scores), np.vstack(idx)


def _exact_doc_blocks(query_emb: np.ndarray, doc_emb: np.ndarray,
                      k: int) -> tuple[np.ndarray, np.ndarray]:
    """``exact_search`` over a non-fp32 matrix: each document block upcast once per chunk of
    ``QUERY_CHUNK`` queries, searched with ``faiss.knn``, merged into running heaps."""
    import faiss

    scores, idx = [], []
    for qs in range(0, query_emb.shape[0], QUERY_CHUNK):
        q = np.ascontiguousarray(query_emb[qs:qs + QUERY_CHUNK], dtype=np.float32)
        heap = faiss.ResultHeap(q.shape[0], k, keep_max=True)
        for ds in range(0, doc_emb.shape[0], DOC_BLOCK):
            docs = np.ascontiguousarray(doc_emb[ds:ds + DOC_BLOCK], dtype=np.float32)
            s, i = faiss.knn(q, docs, min(k, docs.shape[0]), metric=faiss.METRIC_INNER_PRODUCT)
            heap.add_result(s, i + ds)
        heap.finalize()
        scores.append(heap.D)
        idx.append(heap.I)
    if not scores:
        return np.zeros((0, k), np.float32), np.zeros((0, k), np.int64)
    return np.vstack(scores), np.vstack(idx)


def torch_exact_search(query_emb: np.ndarray, doc_emb: np.ndarray, k: int, device: str,
                       block: int = 1024, doc_block: int = 1 << 20) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` by inner product on a torch device (matmul + topk in query blocks), for
    GPUs where faiss has no GPU build. The documents go to the device in their own dtype
    (fp16 storage stays fp16) and are scored in fp32 blocks of ``doc_block`` documents, whose
    top-``k`` are merged: device memory is the matrix plus one block x ``block`` scores."""
    import torch

    k = min(k, doc_emb.shape[0])
    dtype = np.float32 if doc_emb.dtype != np.float16 else np.float16
    docs = torch.from_numpy(np.ascontiguousarray(doc_emb, dtype=dtype)).to(device)
    scores, idx = [], []
    for start in range(0, query_emb.shape[0], block):
        q = torch.from_numpy(np.ascontiguousarray(query_emb[start:start + block],
                                                  dtype=np.float32)).to(device)
        best_s, best_i = None, None
        for ds in range(0, docs.shape[0], doc_block):
            s, i = torch.topk(q @ docs[ds:ds + doc_block].float().T,
                              min(k, docs.shape[0] - ds), dim=1)
            i = i + ds
            if best_s is not None:
                s, pick = torch.topk(torch.cat([best_s, s], 1), k, dim=1)
                i = torch.gather(torch.cat([best_i, i], 1), 1, pick)
            best_s, best_i = s, i
        scores.append(best_s.cpu().numpy())
        idx.append(best_i.cpu().numpy())
    if not scores:
        return np.zeros((0, k), np.float32), np.zeros((0, k), np.int64)
    return np.vstack(scores), np.vstack(idx)


def search_run(qids: list[str], query_emb: np.ndarray, doc_ids: list[str], doc_emb: np.ndarray,
               k: int, device: str = "cpu", search: str = "exact") -> dict[str, Hits]:
    """A run: for each query id, its top-``k`` (doc id, score) hits in trec_eval order. Exact
    search with faiss on the CPU, with torch on an accelerator; ``search`` other than
    ``exact`` (``ivf``, ``ivf:nprobe=128``: ``ann_search.parse_search``) is the approximate
    IVF index on the CPU, with exact scores for the hits it returns."""
    if search != "exact":
        from negbench.harness.retrieval.ann_search import ivf_search, parse_search

        scores, idx = ivf_search(query_emb, doc_emb, k, params=parse_search(search))
    elif device == "cpu":
        scores, idx = exact_search(query_emb, doc_emb, k)
    else:
        scores, idx = torch_exact_search(query_emb, doc_emb, k, device)
    if not len(qids):
        return {}
    # sort_hits' order for the whole matrix at once: score descending, then doc id descending
    order = np.lexsort((-id_ranks(doc_ids)[idx], -scores), axis=-1)
    idx, scores = np.take_along_axis(idx, order, -1), np.take_along_axis(scores, order, -1)
    run = {}
    for r, q in enumerate(qids):
        keep = idx[r] >= 0
        run[q] = list(zip([doc_ids[j] for j in idx[r][keep].tolist()], scores[r][keep].tolist()))
    return run


def retrieve_dense(data, qids: list[str], q_emb, doc_emb, k: int,
                   device: str = "cpu") -> dict:
    """Exact search over ``data``'s corpus (a ``SuiteData``), restricted to each query's candidate pool when the suite has one."""
    run = search_run(qids, q_emb, data.corpus.ids, doc_emb, data.retrieval_depth(k), device)
    return {q: hits[:k] for q, hits in data.restrict_run(run).items()}
