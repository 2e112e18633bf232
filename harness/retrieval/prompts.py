"""Query and document prompts (instruction prefixes such as e5's "query: " / "passage: ").

Defaults come from the model's own ``config_sentence_transformers.json`` (``prompts``), read
the way sentence-transformers' ``encode_query`` / ``encode_document`` read it; ``--query-prompt``
/ ``--doc-prompt`` override them. A prompt is prepended to the text, as
``SentenceTransformer.encode(prompt=...)`` does, in mining, training and evaluation alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from negbench.harness.errors import NegbenchError

DOCUMENT_KEYS = ("document", "passage", "corpus")  # encode_document's order


@dataclass(frozen=True)
class Prompts:
    query: str = ""
    document: str = ""

    def for_kind(self, kind: str) -> str:
        """The prompt of an encoder ``kind`` ("query" or "doc")."""
        return self.query if kind == "query" else self.document

    def queries(self, texts: list[str]) -> list[str]:
        return [self.query + t for t in texts] if self.query else list(texts)

    def documents(self, texts: list[str]) -> list[str]:
        return [self.document + t for t in texts] if self.document else list(texts)

    def to_dict(self) -> dict[str, str]:
        """The non-empty prompts ({} when none: configs without prompts keep their hashes)."""
        return {k: v for k, v in (("query", self.query), ("document", self.document)) if v}

    @classmethod
    def from_dict(cls, d: dict | None) -> Prompts:
        return cls(**(d or {}))


def model_prompts(model_dir: Path) -> Prompts:
    """The ``prompts`` of a sentence-transformers folder's config (empty when it has none)."""
    path = Path(model_dir) / "config_sentence_transformers.json"
    if not path.is_file():
        return Prompts()
    try:
        prompts = json.loads(path.read_text(encoding="utf-8")).get("prompts") or {}
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        raise NegbenchError(f"{path}: not a valid sentence-transformers config") from None
    if not isinstance(prompts, dict) or not all(isinstance(v, str) for v in prompts.values()):
        raise NegbenchError(f"{path}: 'prompts' must map names to strings")
    doc = next((prompts[k] for k in DOCUMENT_KEYS if prompts.get(k)), "")
    return Prompts(prompts.get("query", ""), doc)


def resolve_prompts(model: str, query: str | None = None, document: str | None = None
                    ) -> Prompts:
    """The model's prompts with the user's overrides (None keeps the model's; "" clears it)."""
    from negbench.harness.retrieval.models import resolve_model

    own = model_prompts(resolve_model(model))
    return Prompts(own.query if query is None else query,
                   own.document if document is None else document)
