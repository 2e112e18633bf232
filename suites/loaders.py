"""The registry of suite loaders: ``Suite.loader`` names one, as ``--samplers`` names a sampler.

A loader is ``fn(suite, data_root) -> SuiteData`` registered with ``@register_loader(name)``;
the built-in loaders' modules are imported on first use (``get_loader``), so this module
imports none of them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from negbench.harness.errors import NegbenchError

if TYPE_CHECKING:
    from negbench.suites.definition import Suite
    from negbench.suites.suite_data import SuiteData

Loader = Callable[["Suite", "Path | None"], "SuiteData"]
# the modules holding the built-in loaders (each registers its loaders on import)
BUILTIN = ("negbench.suites.irds_beir", "negbench.suites.msmarco", "negbench.suites.esco",
           "negbench.suites.ecthr", "negbench.suites.rerank")
_LOADERS: dict[str, Loader] = {}


def register_loader(name: str) -> Callable[[Loader], Loader]:
    """Register ``fn`` as the loader called ``name`` (a second one of that name is an error)."""
    def deco(fn: Loader) -> Loader:
        if name in _LOADERS and _LOADERS[name] is not fn:
            raise NegbenchError(f"suite loader {name!r} is registered twice")
        _LOADERS[name] = fn
        return fn
    return deco


def loaders() -> dict[str, Loader]:
    """Every registered loader by name, the built-in ones imported first."""
    for module in BUILTIN:
        importlib.import_module(module)
    return dict(_LOADERS)


def get_loader(name: str, suite: str) -> Loader:
    """The loader called ``name``; an unknown one is a one-line error naming ``suite``."""
    found = loaders()
    if name not in found:
        raise NegbenchError(f"suite {suite!r}: unknown loader {name!r} (known: "
                            f"{', '.join(sorted(found))})")
    return found[name]
