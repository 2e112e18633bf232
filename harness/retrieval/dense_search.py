"""Exact inner-product search (faiss on the CPU, torch on an accelerator), in query blocks
so memory stays bounded."""

from __future__ import annotations

import numpy as np

from negbench.harness.io.trec_files import Hits


def id_ranks(doc_ids: list[str]) -> np.ndarray:
    """Each doc's position in the ids' string order (Python's, as ``sort_hits`` compares)."""
    ranks = np.empty(len(doc_ids), dtype=np.int64)
    ranks[sorted(range(len(doc_ids)), key=doc_ids.__getitem__)] = np.arange(len(doc_ids))
    return ranks


def exact_search(query_emb: np.ndarray, doc_emb: np.ndarray, k: int,
                 block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` (scores, indices) per query by inner product; exact (``faiss.knn``, the brute
    force of ``IndexFlatIP`` without copying the documents into an index), in query blocks:
    memory is the document matrix plus one block's scores (``benchmarks/search_memory.py``)."""
    import faiss

    k = min(k, doc_emb.shape[0])
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


def torch_exact_search(query_emb: np.ndarray, doc_emb: np.ndarray, k: int, device: str,
                       block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` by inner product on a torch device (matmul + topk in query blocks), for
    GPUs where faiss has no GPU build."""
    import torch

    k = min(k, doc_emb.shape[0])
    docs = torch.from_numpy(np.ascontiguousarray(doc_emb, dtype=np.float32)).to(device)
    scores, idx = [], []
    for start in range(0, query_emb.shape[0], block):
        q = torch.from_numpy(np.ascontiguousarray(query_emb[start:start + block],
                                                  dtype=np.float32)).to(device)
        s, i = torch.topk(q @ docs.T, k, dim=1)
        scores.append(s.cpu().numpy())
        idx.append(i.cpu().numpy())
    if not scores:
        return np.zeros((0, k), np.float32), np.zeros((0, k), np.int64)
    return np.vstack(scores), np.vstack(idx)


def search_run(qids: list[str], query_emb: np.ndarray, doc_ids: list[str], doc_emb: np.ndarray,
               k: int, device: str = "cpu") -> dict[str, Hits]:
    """A run: for each query id, its top-``k`` (doc id, score) hits in trec_eval order. Exact
    search with faiss on the CPU, with torch on an accelerator."""
    scores, idx = (exact_search(query_emb, doc_emb, k) if device == "cpu"
                   else torch_exact_search(query_emb, doc_emb, k, device))
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
