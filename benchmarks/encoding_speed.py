"""Encoding throughput: negbench's encoder path (``CachedEncoder(SentenceTransformerEncoder)``,
a cache miss each time) against bare ``SentenceTransformer.encode`` on the same texts, and an
ONNX Runtime CPU backend (fp32 and dynamically quantised int8) against the same bare encode.

Sample: the first ``--sample`` SciFact docs (default 1,000), length 256, batch 64, the packaged
all-MiniLM-L6-v2, all sides in this one process, interleaved every ``--chunk`` docs (order
rotated per chunk, so a change in the machine's load hits every side); the ratio is the
summed time of bare torch / that of the side.
The machine may be shared: only the ratios (and cosine agreement) are meaningful.

The ONNX model is exported locally from the packaged model (``torch.onnx.export`` of the
transformer; mean pooling and normalisation as in the sentence-transformers modules) and run
with ``onnxruntime``; int8 is ``onnxruntime.quantization.quantize_dynamic`` (QInt8 weights per channel, MatMul
only).
sentence-transformers' own ``backend="onnx"`` needs ``optimum``, whose install would downgrade
transformers 5 -> 4.57 in this environment, so it is not used. Needs ``pip install onnx onnxruntime`` (``--no-onnx`` skips those sides).

``--ndcg`` also encodes the whole SciFact corpus with each backend and prints nDCG@10 on the
test split (queries at length 64, docs at 256, exact search, beir profile).

    python benchmarks/encoding_speed.py [--sample 1000] [--chunk 128] [--rounds 1] [--no-onnx] [--ndcg]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

DATA = Path(os.environ.get("NEGBENCH_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
LENGTH, BATCH = 256, 64


class OnnxEncoder:
    """Same tokenizer, length-sorted batches, mean pooling and L2 normalisation as
    ``SentenceTransformer.encode`` for all-MiniLM-L6-v2, the transformer run by onnxruntime."""

    def __init__(self, model, path: Path) -> None:
        import onnxruntime as ort
        import torch

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = torch.get_num_threads()
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.names = {i.name for i in self.session.get_inputs()}
        self.tokenizer = model.tokenizer

    def encode(self, texts: list[str], max_length: int) -> np.ndarray:
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), 384), np.float32)
        for s in range(0, len(texts), BATCH):
            idx = order[s:s + BATCH]
            tok = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                 max_length=max_length, return_tensors="np")
            feeds = {k: v.astype(np.int64) for k, v in tok.items() if k in self.names}
            hidden = self.session.run(None, feeds)[0]
            mask = tok["attention_mask"][..., None].astype(np.float32)
            emb = (hidden * mask).sum(1) / np.clip(mask.sum(1), 1e-9, None)
            out[idx] = emb / np.clip(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12, None)
        return out


def export_onnx(model, folder: Path) -> tuple[Path, Path]:
    """fp32 export of the packaged model's transformer, and its dynamic int8 quantisation."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folder.mkdir(parents=True, exist_ok=True)
    fp32, int8 = folder / "model.onnx", folder / "model_int8.onnx"
    class Transformer(torch.nn.Module):  # keyword call: transformers 5's positional order
        def __init__(self, inner) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    bert = Transformer(model[0].auto_model.eval())
    tok = model.tokenizer(["an example sentence"], return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "seq"} for n in names}
    axes["last_hidden_state"] = {0: "batch", 1: "seq"}
    with torch.no_grad():
        torch.onnx.export(bert, (tok["input_ids"], tok["attention_mask"], tok["token_type_ids"]),
                          str(fp32), input_names=names, output_names=["last_hidden_state"],
                          dynamic_axes=axes, opset_version=17, dynamo=False)
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"])  # all ops (incl. the embedding Gather):
    # mean cosine to fp32 only 0.94 on 32 SciFact docs; MatMul only, per channel: 0.994
    return fp32, int8


def ndcg10(encode, queries, corpus, test) -> float:
    from negbench.harness.evaluation.conventions import get_profile
    from negbench.harness.evaluation.evaluate import evaluate_run
    from negbench.harness.evaluation.measures import parse_measures
    from negbench.harness.retrieval.dense_search import search_run

    qids = sorted(test.qrels)
    q_emb = encode([queries[q] for q in qids], 64)
    d_emb = encode(corpus.texts(), LENGTH)
    run = search_run(qids, q_emb, corpus.ids, d_emb, 100)
    return evaluate_run(test.qrels, run, parse_measures(["nDCG@10"]),
                        get_profile("beir")).means["nDCG@10"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sample", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=1, help="passes over the sample")
    ap.add_argument("--chunk", type=int, default=128,
                    help="docs per call; the sides alternate chunk by chunk (order rotated)")
    ap.add_argument("--no-onnx", action="store_true")
    ap.add_argument("--ndcg", action="store_true", help="nDCG@10 on SciFact test per backend")
    args = ap.parse_args()

    import torch

    from negbench.harness.data.beir_folder import load_beir_folder
    from negbench.harness.retrieval.encoder import CachedEncoder, SentenceTransformerEncoder
    from negbench.harness.retrieval.models import load_model

    tmp = Path(tempfile.mkdtemp(prefix="encoding-speed-"))
    corpus, test = load_beir_folder(DATA / "beir-scifact", "test")
    texts = corpus.texts()[:args.sample]
    model = load_model("all-MiniLM-L6-v2", max_seq_length=LENGTH, device="cpu")
    print(f"machine: {os.cpu_count()} CPUs, shared with other jobs, torch threads "
          f"{torch.get_num_threads()}; {len(texts):,} SciFact docs, length {LENGTH}, batch "
          f"{BATCH}, sides interleaved every {args.chunk} docs (order rotated), {args.rounds} "
          "pass(es); ratios side by side in this process")

    def bare(t: list[str], n: int = LENGTH) -> np.ndarray:
        model.max_seq_length = n
        return model.encode(t, batch_size=BATCH, normalize_embeddings=True,
                            convert_to_numpy=True, show_progress_bar=False)

    inner = SentenceTransformerEncoder(model, batch_size=BATCH, progress=False)  # once, as a
    # workspace does (it fingerprints the model)

    def harness(t: list[str], n: int = LENGTH) -> np.ndarray:  # a fresh cache: always a miss
        return CachedEncoder(inner, Path(tempfile.mkdtemp(dir=tmp))).encode(t, "doc", n)

    sides = {"bare torch (SentenceTransformer.encode)": bare, "negbench harness (torch)": harness}
    if not args.no_onnx:
        fp32, int8 = export_onnx(model, tmp / "onnx")
        onnx32, onnx8 = OnnxEncoder(model, fp32), OnnxEncoder(model, int8)
        sides["onnxruntime fp32"] = onnx32.encode
        sides["onnxruntime int8 (dynamic)"] = onnx8.encode
    names = list(sides)
    bare(texts[:BATCH])  # warm-up outside the timer
    times: dict[str, float] = dict.fromkeys(names, 0.0)
    parts: dict[str, list[np.ndarray]] = {n: [] for n in names}
    chunks = [texts[s:s + args.chunk] for s in range(0, len(texts), args.chunk)]
    for i, chunk in enumerate(chunks * args.rounds):  # the sides interleaved chunk by chunk
        for name in names[i % len(names):] + names[:i % len(names)]:
            t0 = time.perf_counter()
            emb = sides[name](chunk, LENGTH)
            times[name] += time.perf_counter() - t0
            if i < len(chunks):
                parts[name].append(emb)
        print(f"  chunk {i + 1}/{len(chunks) * args.rounds}: " + ", ".join(
            f"{n.split(' (')[0]} {times[n]:.0f} s" for n in names), flush=True)
    embs = {n: np.vstack(p) for n, p in parts.items()}
    ref = embs[names[0]]
    print("\n| encoder | docs/s | speed vs bare torch | mean cosine to bare | min cosine |")
    print("| --- | --- | --- | --- | --- |")
    n_docs = len(texts) * args.rounds
    for name in names:
        cos = (embs[name] * ref).sum(1)
        print(f"| {name} | {n_docs / times[name]:.1f} | {times[names[0]] / times[name]:.2f}x | "
              f"{cos.mean():.5f} | {cos.min():.5f} |", flush=True)
    if args.ndcg:
        queries = {**test.queries}
        print("\nnDCG@10, SciFact test (300 queries), whole corpus encoded per backend:")
        scores = {}
        for name in [names[0]] + names[2:]:
            t0 = time.perf_counter()
            scores[name] = ndcg10(sides[name], queries, corpus, test)
            print(f"| {name} | {scores[name]:.4f} | {scores[name] - scores[names[0]]:+.4f} | "
                  f"{time.perf_counter() - t0:.0f} s |", flush=True)


if __name__ == "__main__":
    main()
