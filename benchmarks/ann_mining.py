"""Mining search at MS MARCO scale on synthetic vectors: exact blocked search over fp16 storage
(negbench's ``exact_search``) against the approximate IVF index (``ann_search``, its
defaults), in one process: time (wall and CPU), peak memory per phase, recall@k of the IVF
against exact, an nprobe sweep, and projections to 500k queries on a 16-core node (the GPU
projection and its basis: docs/performance.md, "Mining at MS MARCO scale").

    OMP_NUM_THREADS=2 nice -n 10 python benchmarks/ann_mining.py --docs 8800000 \
        --queries 10000 --exact-queries 2000 --iid-docs 1000000 --store /tmp/ann/st

The corpus is clustered (``clustered_corpus``: a mixture of anisotropic Gaussian clusters on
the sphere whose centres share a power-law spectrum, fitted to all-MiniLM-L6-v2's SciFact
vectors); queries are corpus documents plus isotropic noise (``near_queries``). ``--iid-docs``
adds the worst case: iid uniform unit vectors (no neighbourhood structure).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
import time
from pathlib import Path
from typing import Self

import numpy as np

DIM = 384
MSMARCO_TRAIN_QUERIES = 500_000
NODE_CORES = 16


def clustered_corpus(n: int, dim: int = DIM, clusters: int = 4096, seed: int = 0, rank: int = 8,
                     alpha: float = 1.0, anis: float = 0.35, spread: float = 0.5,
                     mean: float = 0.4, chunk: int = 16384,
                     out: np.ndarray | None = None) -> np.ndarray:
    """``n`` unit vectors in fp16: cluster c (weights log-normal(0, 1)) has centre
    normalise(mean * g + Q diag(sqrt p) z_c), p_i proportional to i**-alpha (a power-law
    spectrum in a random rotation Q, so centres concentrate in few directions as real
    embeddings do); a document is normalise(centre + U_c (lambda * w) + spread * Q diag(sqrt p)
    z): ``rank`` directions of its own (U_c random, lambda_j proportional to j**-0.5, total
    ``anis``) plus noise with the global spectrum. A 5,183-vector sample has median cosine
    0.11, nearest-neighbour cosines 0.72 / 0.47 / 0.34 (1st / 10th / 200th) and 63 % of the
    variance in 50 principal components; SciFact's MiniLM vectors: 0.12, 0.68 / 0.53 / 0.35,
    60 %. ``out``: an (n, dim) fp16 array to fill (e.g. a memory-mapped file)."""
    rng = np.random.default_rng(seed)
    rot = np.linalg.qr(rng.standard_normal((dim, dim)))[0].astype(np.float32)
    p = np.arange(1, dim + 1, dtype=np.float64) ** -alpha
    sqrt_p = np.sqrt(p / p.sum()).astype(np.float32)
    g = rng.standard_normal(dim).astype(np.float32)
    g /= np.linalg.norm(g)
    centres = mean * g + (rng.standard_normal((clusters, dim), dtype=np.float32) * sqrt_p) @ rot.T
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    own = rng.standard_normal((clusters, rank, dim), dtype=np.float32) / np.sqrt(dim)
    lam = 1 / np.sqrt(np.arange(1, rank + 1))
    lam = (anis * lam / np.sqrt((lam ** 2).sum())).astype(np.float32)
    weights = rng.lognormal(0, 1, clusters)
    weights /= weights.sum()
    out = np.empty((n, dim), np.float16) if out is None else out
    for s in range(0, n, chunk):
        m = min(chunk, n - s)
        cid = rng.choice(clusters, m, p=weights)
        z = rng.standard_normal((m, rank), dtype=np.float32) * lam
        x = (centres[cid] + np.einsum("mr,mrd->md", z, own[cid])
             + spread * (rng.standard_normal((m, dim), dtype=np.float32) * sqrt_p) @ rot.T)
        out[s:s + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def iid_corpus(n: int, dim: int = DIM, seed: int = 0, chunk: int = 65536,
               out: np.ndarray | None = None) -> np.ndarray:
    """``n`` iid uniform unit vectors in fp16 (no neighbourhood structure: the worst case)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), np.float16) if out is None else out
    for s in range(0, n, chunk):
        x = rng.standard_normal((min(chunk, n - s), dim), dtype=np.float32)
        out[s:s + len(x)] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def near_queries(docs: np.ndarray, nq: int, noise: float = 0.05, seed: int = 1) -> np.ndarray:
    """normalise(document + noise * N(0, I)) for ``nq`` distinct random documents (fp32): cosine
    about 0.71 with the document it came from (noise 0.05 per dimension, norm about 0.98)."""
    rng = np.random.default_rng(seed)
    src = rng.choice(len(docs), nq, replace=False)
    q = docs[src].astype(np.float32)
    q += noise * rng.standard_normal(q.shape, dtype=np.float32)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def stored(store: str | None, name: str, n: int, make) -> np.ndarray:
    """``make(n, out=...)``'s corpus: in memory without ``store``; else generated once into
    ``store/name.npy`` and memory-mapped read-only (page cache, which the kernel can reclaim
    under memory pressure, instead of anonymous memory; like an embedding cache's .npy)."""
    if not store:
        return make(n)
    path = Path(store) / f"{name}.npy"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        out = np.lib.format.open_memmap(tmp, "w+", np.float16, (n, DIM))
        make(n, out=out)
        out.flush()
        del out
        tmp.rename(path)
    return np.load(path, mmap_mode="r")


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean over queries of |found top-k ∩ exact top-k| / k."""
    k = truth.shape[1]
    return float(np.mean([len(np.intersect1d(f, t)) / k for f, t in zip(found, truth)]))


class Phase:
    """Wall and CPU seconds (all threads) and the peak RSS of a phase (Linux: the high-water
    mark is reset at the start through /proc/self/clear_refs)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> Self:
        Path("/proc/self/clear_refs").write_text("5")
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu
        status = Path("/proc/self/status").read_text()
        self.peak_gib = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 2**20
        print(f"  {self.name}: wall {self.wall:,.1f} s, CPU {self.cpu:,.1f} s, peak RSS "
              f"{self.peak_gib:.2f} GiB, load average {os.getloadavg()[0]:.1f}", flush=True)


def gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:.2f} GiB"


def run_corpus(label: str, docs: np.ndarray, queries: np.ndarray, exact_n: int, k: int,
               nprobes: list[int], sweep_n: int) -> dict:
    from negbench.harness.retrieval.ann_search import IvfIndex, IvfParams, describe_search
    from negbench.harness.retrieval.dense_search import exact_search

    n = len(docs)
    print(f"[{label}] {n:,} docs x {DIM} fp16 ({gib(docs.nbytes)}), {len(queries):,} queries, "
          f"top-{k}; exact on {exact_n:,} queries", flush=True)
    with Phase("exact search (fp16 storage, fp32 document blocks)") as ex:
        _, truth = exact_search(queries[:exact_n], docs, k)
    with Phase("IVF build (k-means, SQ8 codes, add)") as build:
        index = IvfIndex(docs, IvfParams())
    default = index.params
    print(f"  index: {describe_search('ivf', n)}; codes {gib(index.code_bytes)}, k-means + "
          f"training {index.train_seconds:,.1f} s wall", flush=True)
    with Phase(f"IVF search, defaults (nprobe={default.nprobe}), all queries") as ivf:
        _, found = index.search(queries, k)
    rec = recall(found[:exact_n], truth)
    print(f"  recall@{k} of the defaults against exact ({exact_n:,} queries): {rec:.4f}",
          flush=True)
    sweep, sweep_n = [], min(sweep_n, exact_n)
    for nprobe in nprobes:
        t = time.process_time()
        _, f = index.search(queries[:sweep_n], k, nprobe=nprobe)
        sweep.append((nprobe, recall(f, truth[:sweep_n]), (time.process_time() - t) / sweep_n))
        print(f"  nprobe {nprobe}: recall@{k} {sweep[-1][1]:.4f}, CPU "
              f"{sweep[-1][2] * 1000:.2f} ms/query", flush=True)
    return {"label": label, "n": n, "docs_bytes": docs.nbytes, "exact": ex, "build": build,
            "ivf": ivf, "recall": rec, "params": default, "code_bytes": index.code_bytes,
            "sweep": sweep, "sweep_n": sweep_n, "exact_n": exact_n, "nq": len(queries), "k": k}


def report(r: dict, threads: int) -> None:
    ex, build, ivf, p, k = r["exact"], r["build"], r["ivf"], r["params"], r["k"]
    exact_q, ivf_q = ex.cpu / r["exact_n"], ivf.cpu / r["nq"]
    results = MSMARCO_TRAIN_QUERIES * k * 12  # float32 score + int64 id per hit
    print(f"\n### {r['label']}: {r['n']:,} docs, {r['nq']:,} queries, top-{k} "
          f"(OMP_NUM_THREADS={threads})\n")
    print("| search | wall s | CPU s | CPU ms / query | peak RSS GiB (phase) | recall@"
          f"{k} |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(f"| exact, fp16 storage ({r['exact_n']:,} queries) | {ex.wall:,.1f} | {ex.cpu:,.1f} | "
          f"{exact_q * 1000:.1f} | {ex.peak_gib:.2f} | 1 |")
    print(f"| IVF build (nlist={p.nlist}) | {build.wall:,.1f} | {build.cpu:,.1f} | - | "
          f"{build.peak_gib:.2f} | - |")
    print(f"| IVF search (nprobe={p.nprobe}, refine={p.refine}; {r['nq']:,} queries) | "
          f"{ivf.wall:,.1f} | {ivf.cpu:,.1f} | {ivf_q * 1000:.2f} | {ivf.peak_gib:.2f} | "
          f"{r['recall']:.4f} |")
    print(f"\nnprobe sweep (same index, first {r['sweep_n']:,} queries): " + "; ".join(
        f"{n}: recall {rc:.4f}, {c * 1000:.2f} ms" for n, rc, c in r["sweep"]))
    ex_h = exact_q * MSMARCO_TRAIN_QUERIES / NODE_CORES / 3600
    ivf_h = (build.cpu + ivf_q * MSMARCO_TRAIN_QUERIES) / NODE_CORES / 3600
    print(f"\nProjection, {MSMARCO_TRAIN_QUERIES:,} queries on a {NODE_CORES}-core node of this "
          "CPU (CPU seconds measured here / 16, i.e. linear scaling over cores):")
    print(f"- exact: {ex_h:.2f} h; memory: the fp16 matrix {gib(r['docs_bytes'])} + one fp32 "
          f"block + the results ({gib(results)}): measured phase peak {ex.peak_gib:.2f} GiB "
          f"+ {gib(results)}")
    print(f"- IVF: {ivf_h:.2f} h ({build.cpu / NODE_CORES / 60:.1f} min build + "
          f"{ivf_q * MSMARCO_TRAIN_QUERIES / NODE_CORES / 60:.1f} min search); memory: the "
          f"fp16 matrix + codes {gib(r['code_bytes'])}: measured phase peak "
          f"{max(build.peak_gib, ivf.peak_gib):.2f} GiB + {gib(results)} of results")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=8_800_000)
    ap.add_argument("--queries", type=int, default=10_000)
    ap.add_argument("--exact-queries", type=int, default=None,
                    help="queries searched exactly (recall is measured on them; default: all)")
    ap.add_argument("--k", type=int, default=200)
    ap.add_argument("--clusters", type=int, default=4096)
    ap.add_argument("--nprobe-sweep", default="16,32,64,128,256")
    ap.add_argument("--sweep-queries", type=int, default=2000,
                    help="queries of the nprobe sweep (the first of those searched exactly)")
    ap.add_argument("--iid-docs", type=int, default=0,
                    help="also the worst case: this many iid unit vectors (0: skip)")
    ap.add_argument("--store", default=None, metavar="DIR",
                    help="generate each corpus once into DIR/*.npy and memory-map it "
                         "(default: in memory)")
    args = ap.parse_args()
    import faiss

    threads = faiss.omp_get_max_threads()
    env = " ".join(f"{v}={os.environ[v]}" for v in ("OMP_NUM_THREADS",) if v in os.environ)
    print(f"command: {env} nice -n {os.nice(0)} python {shlex.join(sys.argv)}".replace(
        "  ", " "))
    print(f"faiss {faiss.__version__}, {threads} thread(s), {os.cpu_count()} CPUs, "
          f"{time.strftime('%d %b %Y')}", flush=True)
    nprobes = [int(x) for x in args.nprobe_sweep.split(",") if x]
    exact_n = min(args.exact_queries or args.queries, args.queries)
    with Phase("generate clustered corpus and queries"):
        docs = stored(args.store, f"clustered-{args.docs}-{args.clusters}", args.docs,
                      lambda n, **kw: clustered_corpus(n, clusters=args.clusters, **kw))
        queries = near_queries(docs, args.queries)
    results = [run_corpus("clustered", docs, queries, exact_n, args.k, nprobes,
                          args.sweep_queries)]
    del docs, queries
    if args.iid_docs:
        with Phase("generate iid corpus and queries"):
            docs = stored(args.store, f"iid-{args.iid_docs}", args.iid_docs, iid_corpus)
            queries = near_queries(docs, min(2000, exact_n))
        results.append(run_corpus("iid (worst case)", docs, queries, len(queries), args.k,
                                  nprobes, args.sweep_queries))
    for r in results:
        report(r, threads)


if __name__ == "__main__":
    main()
