"""Sampler registry: a decorator for built-ins, entry points (``negbench.strategies``) for plugins."""

from __future__ import annotations

import difflib
import importlib
from importlib.metadata import entry_points

from negbench.harness.errors import NegbenchError
from negbench.strategies.base import Sampler

ENTRY_POINT_GROUP = "negbench.strategies"
_REGISTRY: dict[str, type[Sampler]] = {}
SKIPPED: dict[str, str] = {}  # entry point name -> why it is not registered (listed by
# `negbench strategies`)
_BUILTINS = ("in_batch", "random_negatives", "bm25_negatives", "dense_negatives", "star",
             "simans", "margin", "denoised", "from_file", "taxonomy", "mixture", "ance",
             "adore", "tas_balanced", "ngame", "curriculum", "ar2_lite", "cet", "ar2")
_loaded = False


def register(name: str):
    """Class decorator: ``@register("bm25")`` adds a Sampler subclass under ``name``."""

    def deco(cls: type[Sampler]) -> type[Sampler]:
        if not (isinstance(cls, type) and issubclass(cls, Sampler)):
            raise TypeError(f"{cls!r} is not a Sampler subclass")
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise NegbenchError(f"sampler name {name!r} is registered twice")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return deco


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for mod in _BUILTINS:
        importlib.import_module(f"negbench.strategies.{mod}")
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
        except Exception as exc:  # noqa: BLE001 - any plugin failure becomes one error line
            raise NegbenchError(f"entry point {ep.name!r} ({ep.value}) failed to load: {exc}") from None
        if not (isinstance(obj, type) and issubclass(obj, Sampler)):
            SKIPPED[ep.name] = f"{ep.value} is not a negbench Sampler subclass"
        elif ep.name in _REGISTRY and _REGISTRY[ep.name] is not obj:
            SKIPPED[ep.name] = f"{ep.value}: the name is already taken by a built-in sampler"
        else:
            register(ep.name)(obj)


def available() -> dict[str, type[Sampler]]:
    """All registered samplers by name (built-ins and entry points), sorted."""
    _load_all()
    return dict(sorted(_REGISTRY.items()))


def get_sampler(name: str) -> type[Sampler]:
    """Look a sampler up by name; unknown names get a 'did you mean' suggestion."""
    names = available()
    if name not in names:
        close = difflib.get_close_matches(name, list(names), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise NegbenchError(f"unknown sampler {name!r}{hint} (see `negbench strategies`)")
    return names[name]
