"""negbench: benchmark negative-sampling strategies for dense retrieval.

``negbench.run(config)`` runs an experiment (the keys of ``negbench run --config``) and
returns its ``Results``; ``negbench.load_results(dir)`` reads a results folder into a pandas
DataFrame; ``negbench.mine(...)`` mines one sampler's negatives and ``negbench.export(...)``
writes them for another trainer. See docs/python_api.md."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from negbench.harness.api import Results, export, load_results, mine, run

try:
    __version__ = version("negbench")
except PackageNotFoundError:  # pragma: no cover - running from an uninstalled checkout
    __version__ = "0.0.0+unknown"

__all__ = ["Results", "__version__", "export", "load_results", "mine", "run"]
