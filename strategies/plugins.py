"""``--plugin path/to/my_sampler.py``: load a one-file sampler module."""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
from pathlib import Path

from negbench.harness.errors import NegbenchError

_LOADED: dict[Path, list[str]] = {}


def load_plugin(path: str | Path) -> list[str]:
    """Import ``path`` and register its Sampler subclasses; returns their names.

    A class decorated with ``@register("name")`` keeps that name; any other concrete Sampler
    subclass defined in the file is registered under its ``name`` attribute, else the file's
    stem. A file that defines no sampler, or fails to import, is a one-line error."""
    from negbench.strategies.base import Sampler
    from negbench.strategies.registry import _REGISTRY, available, register

    path = Path(path).resolve()
    if path in _LOADED:
        return _LOADED[path]
    if not path.is_file() or path.suffix != ".py":
        raise NegbenchError(f"--plugin {path}: not a .py file")
    before = dict(available())  # built-ins first, so a plugin cannot shadow one
    name = f"negbench_plugin_{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except NegbenchError as exc:
        sys.modules.pop(name, None)
        raise NegbenchError(f"--plugin {path}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any plugin failure is one line
        sys.modules.pop(name, None)
        raise NegbenchError(f"--plugin {path}: failed to load: {type(exc).__name__}: "
                            f"{exc}") from None
    names = [n for n, cls in _REGISTRY.items() if n not in before]
    for _, cls in inspect.getmembers(module, inspect.isclass):
        if (issubclass(cls, Sampler) and cls.__module__ == name and not inspect.isabstract(cls)
                and cls not in _REGISTRY.values()):
            register(cls.name or path.stem)(cls)
            names.append(cls.name)
    if not names:
        raise NegbenchError(f"--plugin {path}: defines no Sampler subclass")
    _LOADED[path] = names
    return names


def load_plugins(paths: list[str]) -> list[str]:
    return [n for p in paths for n in load_plugin(p)]
