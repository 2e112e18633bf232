"""Text encoders behind one interface, with an on-disk embedding cache.

Every component that needs vectors (mining, indexing, retrieval) goes through ``Encoder``;
a faster backend (e.g. ONNX) only has to implement ``encode`` and ``fingerprint``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from negbench.harness.io.atomic import atomic_file, file_lock
from negbench.harness.retrieval.device import autocast

Kind = Literal["query", "doc"]


class Encoder(Protocol):
    """Maps texts to L2-normalised float32 vectors."""

    fingerprint: str

    def encode(self, texts: list[str], kind: Kind, max_length: int) -> np.ndarray: ...


# new-style fingerprints start with this; older records carry a bare sha256 of the weights only
FINGERPRINT_SCHEME = "m2-"
# where a config or tokenizer came from, not what it computes
_PROVENANCE_KEYS = ("transformers_version", "name_or_path", "is_local", "local_files_only")


def model_fingerprint(model) -> str:
    """sha256 over everything that changes a model's vectors: its parameters and buffers
    (names, shapes, bytes) and its ``vector_config``; prefixed with ``FINGERPRINT_SCHEME``."""
    import torch

    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.view(-1).view(dtype=torch.uint8).numpy().tobytes())
    h.update(json.dumps(vector_config(model), sort_keys=True, default=str).encode())
    return FINGERPRINT_SCHEME + h.hexdigest()


def vector_config(model) -> dict:
    """What besides the weights decides a model's vectors: the module list with each module's
    config (pooling mode, normalisation, dense layers, lower-casing, the backbone's config),
    the tokenizer's state and a SentenceTransformer's default prompt and truncation.

    The maximum length is left out: the encoder sets it on every call and it is part of each
    cache key (``CachedEncoder.key``)."""
    modules = []
    for name, module in model.named_children():
        entry: dict = {"name": name, "class": f"{type(module).__module__}."
                                              f"{type(module).__qualname__}"}
        if hasattr(module, "get_config_dict"):
            entry["config"] = module.get_config_dict()
        if hasattr(module, "do_lower_case"):
            entry["do_lower_case"] = bool(module.do_lower_case)
        backbone = getattr(module, "auto_model", None)
        if backbone is not None and hasattr(backbone, "config"):
            entry["backbone"] = {k: v for k, v in backbone.config.to_dict().items()
                                 if not k.startswith("_") and k not in _PROVENANCE_KEYS}
        if getattr(module, "tokenizer", None) is not None:
            entry["tokenizer"] = tokenizer_state(module.tokenizer)
        modules.append(entry)
    default = getattr(model, "default_prompt_name", None)
    return {"modules": modules, "truncate_dim": getattr(model, "truncate_dim", None),
            "default_prompt": (getattr(model, "prompts", None) or {}).get(default)}


def tokenizer_state(tokenizer) -> str:
    """sha256 of what a tokenizer does to text: a fast tokenizer's serialised pipeline
    (vocabulary, normaliser, pre-tokeniser, special tokens), else its vocabulary and
    settings; without the per-call truncation and padding it keeps from its last call."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        state = json.loads(backend.to_str())
        state.pop("truncation", None)
        state.pop("padding", None)
    else:
        state = {"vocab": tokenizer.get_vocab(),
                 "settings": {k: v for k, v in tokenizer.init_kwargs.items()
                              if isinstance(v, str | int | float | bool)
                              and k not in _PROVENANCE_KEYS and not k.endswith("_file")}}
    state["sides"] = [getattr(tokenizer, "truncation_side", None),
                      getattr(tokenizer, "padding_side", None)]
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()


def texts_fingerprint(texts: list[str]) -> str:
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode())
        h.update(b"\0")
    return h.hexdigest()


class SentenceTransformerEncoder:
    """Encoder backed by a ``SentenceTransformer`` (cosine = inner product after normalising).
    ``precision`` bf16/fp16: ``encode`` runs under ``torch.autocast`` on the model's device
    (``harness.retrieval.device.autocast``); the vectors are float32 either way."""

    def __init__(self, model, batch_size: int = 64, progress: bool = True,
                 prompts=None, precision: str = "fp32") -> None:
        from negbench.harness.retrieval.prompts import Prompts

        self.model = model
        self.precision = precision
        self.prompts = prompts or Prompts()  # prepended per kind (``harness.prompts``)
        self.batch_size = batch_size
        self.progress = progress
        self.fingerprint = model_fingerprint(model)
        self.device = str(model.device).replace("cuda:0", "cuda")  # where search should run too

    def encode(self, texts: list[str], kind: Kind, max_length: int) -> np.ndarray:
        self.model.max_seq_length = max_length
        prompt = self.prompts.for_kind(kind)
        texts = [prompt + t for t in texts] if prompt else texts
        with autocast(self.device, self.precision):
            emb = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=self.progress and
                                    len(texts) > self.batch_size)
        return np.ascontiguousarray(emb, dtype=np.float32)  # float32 for faiss, whatever ran


class CachedEncoder:
    """Wraps an Encoder; stores each (model, kind, max_length, texts) encoding as .npy once
    (and per precision: a bf16 encoding is never served to an fp32 run, nor the reverse)."""

    def __init__(self, inner: Encoder, cache_dir: Path) -> None:
        self.inner = inner
        self.fingerprint = inner.fingerprint
        self.device = getattr(inner, "device", "cpu")
        self.precision = getattr(inner, "precision", "fp32")  # part of every key
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
        if self.precision != "fp32":  # fp32: the keys of caches written before precisions
            raw += f"|precision={self.precision}"
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
