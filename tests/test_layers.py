"""negbench's packages import only downward and no modules import each other in a circle.

Every import counts, a function's lazy ``import`` included (a circle hidden in a function still
ties two layers together); imports under ``if TYPE_CHECKING:`` do not (they never run)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import networkx as nx

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
# low to high; a module may import its own layer and the layers below
LAYERS = [
    ["negbench.harness.errors", "negbench.harness.io"],
    ["negbench.harness.data", "negbench.harness.retrieval", "negbench.harness.evaluation",
     "negbench.suites"],
    ["negbench.harness.training", "negbench.strategies"],
    ["negbench.harness.pipeline", "negbench.harness.reporting"],
    ["negbench.harness.commands", "negbench.harness.experiment", "negbench.harness.cli",
     "negbench.harness.logs", "negbench.harness.api", "negbench.harness", "negbench"],
]


def _modules() -> dict[str, Path]:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        package_dir = tomllib.load(fh)["tool"]["setuptools"]["package-dir"]
    out = {}
    for package, folder in package_dir.items():
        for f in sorted((ROOT / folder).rglob("*.py")):
            parts = list(f.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join([package, *parts])] = f
    return out


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, child.end_lineno + 1))
    return lines


def import_graph() -> nx.DiGraph:
    """Module -> the negbench modules it imports (``from P import m`` counts as P.m)."""
    modules = _modules()
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_lines(tree)
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in skip:
                continue
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules
                           else node.module for a in node.names]
            for target in targets:
                if target in modules and target != name:
                    graph.add_edge(name, target)
    return graph


def layer(module: str) -> int:
    best = max((p for row in LAYERS for p in row if module == p or module.startswith(p + ".")),
               key=len)
    return next(i for i, row in enumerate(LAYERS) if best in row)


def test_every_module_has_a_layer():
    for module in import_graph():
        assert layer(module) is not None


def test_no_import_circles():
    circles = [sorted(c) for c in nx.strongly_connected_components(import_graph()) if len(c) > 1]
    assert not circles, f"import circles: {circles}"


def test_layers_only_import_downward():
    graph = import_graph()
    upward = [f"{a} (layer {layer(a)}) imports {b} (layer {layer(b)})" for a, b in graph.edges
              if layer(b) > layer(a)]
    assert not upward, "\n".join(upward)


def test_the_graph_sees_lazy_imports():
    """The checks can fail: the runner's lazy imports and the commands' are edges here."""
    graph = import_graph()
    assert graph.has_edge("negbench.harness.commands.run", "negbench.harness.pipeline.preflight")
    assert graph.out_degree("negbench.harness.pipeline.runner") > 3
