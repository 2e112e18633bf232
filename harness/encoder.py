"""Text encoders behind one interface, with an on-disk embedding cache.

Every component that needs vectors (mining, indexing, retrieval) goes through ``Encoder``;
a faster backend (e.g. ONNX) only has to implement ``encode`` and ``fingerprint``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from negbench.harness.atomic import atomic_file, file_lock

Kind = Literal["query", "doc"]


class Encoder(Protocol):
    """Maps texts to L2-normalised float32 vectors."""

    fingerprint: str

    def encode(self, texts: list[str], kind: Kind, max_length: int) -> np.ndarray: ...


def model_fingerprint(model) -> str:
    """sha256 over a torch module's parameters and buffers (names, shapes, bytes)."""
    import torch

    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.view(-1).view(dtype=torch.uint8).numpy().tobytes())
    return h.hexdigest()


def texts_fingerprint(texts: list[str]) -> str:
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode())
        h.update(b"\0")
    return h.hexdigest()


class SentenceTransformerEncoder:
    """Encoder backed by a ``SentenceTransformer`` (cosine = inner product after normalising)."""

    def __init__(self, model, batch_size: int = 64, progress: bool = True,
                 prompts=None) -> None:
        from negbench.harness.prompts import Prompts

        self.model = model
        self.prompts = prompts or Prompts()  # prepended per kind (``harness.prompts``)
        self.batch_size = batch_size
        self.progress = progress
        self.fingerprint = model_fingerprint(model)
        self.device = str(model.device).replace("cuda:0", "cuda")  # where search should run too

    def encode(self, texts: list[str], kind: Kind, max_length: int) -> np.ndarray:
        self.model.max_seq_length = max_length
        prompt = self.prompts.for_kind(kind)
        texts = [prompt + t for t in texts] if prompt else texts
        emb = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                convert_to_numpy=True, show_progress_bar=self.progress and
                                len(texts) > self.batch_size)
        return np.ascontiguousarray(emb, dtype=np.float32)


class CachedEncoder:
    """Wraps an Encoder; stores each (model, kind, max_length, texts) encoding as .npy once."""

    def __init__(self, inner: Encoder, cache_dir: Path) -> None:
        self.inner = inner
        self.fingerprint = inner.fingerprint
        self.device = getattr(inner, "device", "cpu")
        self.cache_dir = Path(cache_dir) / "embeddings"
        self.calls_by_kind: dict[str, int] = {"query": 0, "doc": 0}  # cache misses

    @property
    def calls(self) -> int:
        """Encodings actually computed (cache misses), all kinds."""
        return sum(self.calls_by_kind.values())

    def path(self, texts: list[str], kind: Kind, max_length: int) -> Path:
        """Where the encoding of ``texts`` is (or will be) cached."""
        return self.cache_dir / f"{self.key(texts, kind, max_length)}.npy"

    def key(self, texts: list[str], kind: Kind, max_length: int) -> str:
        raw = f"{self.fingerprint}|{kind}|{max_length}|{texts_fingerprint(texts)}"
        prompts = getattr(self.inner, "prompts", None)
        if prompts is not None and prompts.for_kind(kind):  # no prompt: the keys of old caches
            raw += f"|prompt={prompts.for_kind(kind)}"
        return hashlib.sha256(raw.encode()).hexdigest()[:32]

    def encode(self, texts: list[str], kind: Kind, max_length: int) -> np.ndarray:
        path = self.path(texts, kind, max_length)
        if path.exists():
            return np.load(path, allow_pickle=False)
        if kind != "doc":
            return self._encode(texts, kind, max_length, path)
        # document encodings are shared by every run of a grid: processes running its runs at
        # once (--shard, --executor) wait for the one encoding instead of repeating it
        with file_lock(self.cache_dir / "locks" / f"{path.stem}.lock"):
            if path.exists():
                return np.load(path, allow_pickle=False)
            return self._encode(texts, kind, max_length, path)

    def _encode(self, texts: list[str], kind: Kind, max_length: int, path: Path) -> np.ndarray:
        emb = self.inner.encode(texts, kind, max_length)
        self.calls_by_kind[kind] += 1
        with atomic_file(path, "wb", suffix=".npy.tmp") as fh:
            np.save(fh, emb)
        return emb
