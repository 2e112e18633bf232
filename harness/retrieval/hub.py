"""Hugging Face model ids, resolved through the Hugging Face cache offline-first.

A model already in the cache (``$HF_HUB_CACHE``, default ``~/.cache/huggingface/hub``) loads
with no network. It is downloaded (once, into that cache) only when the user allows the
network with ``HF_HUB_OFFLINE=0``; otherwise a missing model is a one-line error.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from negbench.harness.errors import NegbenchError, first_line

_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_FALSE = {"0", "false", "no", "off"}


def is_model_id(name: str) -> bool:
    """``org/name`` as on the Hugging Face Hub (a path that does not exist can look the same)."""
    return bool(_ID.match(name)) and ".." not in name


def download_allowed() -> bool:
    """The network is used only when the user opted in with ``HF_HUB_OFFLINE=0``."""
    return os.environ.get("HF_HUB_OFFLINE", "1").strip().lower() in _FALSE


def cache_dir() -> str | None:
    """The Hugging Face hub cache named by the environment at call time (None: the default)."""
    return os.environ.get("HF_HUB_CACHE") or None


def resolve_hub_model(model_id: str) -> Path:
    """The snapshot folder of ``model_id`` in the Hugging Face cache, downloaded first when
    missing and the network is allowed."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(model_id, cache_dir=cache_dir(), local_files_only=True))
    except LocalEntryNotFoundError:
        pass
    where = cache_dir() or "the default Hugging Face cache"
    if not download_allowed():
        raise NegbenchError(
            f"model {model_id!r} is not in {where} and downloads are off; allow one with "
            f"HF_HUB_OFFLINE=0, or place it there first (e.g. `HF_HUB_OFFLINE=0 hf download "
            f"{model_id}`)")
    try:
        return Path(snapshot_download(model_id, cache_dir=cache_dir()))
    except Exception as exc:  # noqa: BLE001 - network, auth, unknown repo: one line
        raise NegbenchError(f"model {model_id!r}: download failed ({type(exc).__name__}: "
                            f"{first_line(exc)})") from None
