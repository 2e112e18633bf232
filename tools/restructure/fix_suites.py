"""Suite loaders register into a registry (suites/loaders.py); SuiteData lives in suites/suite_data.py."""
import re, sys
from pathlib import Path
R = Path(sys.argv[1])
lp = R / "suites/loading.py"; s = lp.read_text()
i0 = s.index("class NoTrainSplit(Split):")
i1 = s.index("def _load_irds(")
types_block = s[i0:i1]
i2 = s.index("def load_suite_data(")
irds_block = s[i1:i2]
i3 = s.index("def load_test_qrels(")
(R / "suites/suite_data.py").write_text(
    '"""What a suite loader returns: corpus, splits, judged positives, candidate pools, taxonomy."""\n\n'
    "from __future__ import annotations\n\nfrom dataclasses import dataclass, field\n\n"
    "from negbench.harness.data.collection import Corpus, Split\n"
    "from negbench.harness.errors import NegbenchError\n"
    "from negbench.harness.io.trec_files import Hits\n\n\n" + types_block.rstrip() + "\n")
(R / "suites/loaders.py").write_text('''"""The registry of suite loaders: ``Suite.loader`` names one, as ``--samplers`` names a sampler.

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
           "negbench.suites.ecthr")
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
''')
generic = s[i2:i3]
new_loading = s[:i0] + '''def load_suite_data(suite: Suite, data_root: Path | None = None) -> SuiteData:
    """Load and validate the suite's corpus and splits with its registered loader."""
    return get_loader(suite.loader, suite.name)(suite, data_root)


''' + s[i3:]
new_loading = new_loading.replace(
    "``load_suite_data`` dispatches on ``Suite.loader``; each loader returns a ``SuiteData``.",
    "``load_suite_data`` calls the loader ``Suite.loader`` names (``suites.loaders``); each returns\na ``SuiteData`` (``suites.suite_data``).")
new_loading = re.sub(r"from dataclasses import dataclass, field\n", "", new_loading)
new_loading = new_loading.replace("from negbench.harness.data.collection import Corpus, Split\n",
                                  "from negbench.harness.data.collection import Split\n")
new_loading = new_loading.replace("from negbench.harness.io.trec_files import Hits\n", "")
new_loading = new_loading.replace("from negbench.suites.definition import Suite\n",
    "from negbench.suites.definition import Suite\nfrom negbench.suites.loaders import get_loader\n"
    "from negbench.suites.suite_data import SuiteData\n")
lp.write_text(new_loading)
# placeholders and the irds / beir-folder loaders
placeholders = '''

@register_loader("irds-generic")
def _irds_placeholder(suite: Suite, data_root: Path | None) -> SuiteData:
    raise NegbenchError(f"{suite.name!r} is a placeholder: name an ir_datasets id, e.g. "
                        "--suite irds:beir/scifact/test,train=beir/scifact/train")


@register_loader("beir-generic")
def _beir_placeholder(suite: Suite, data_root: Path | None) -> SuiteData:
    raise NegbenchError(f"{suite.name!r} is a placeholder: name a BEIR dataset, e.g. "
                        "--suite beir/fiqa (any ir_datasets beir/... id)")
'''
ib = irds_block.replace("def _load_irds(", '@register_loader("irds")\ndef load_irds(')
ib = ib.replace("def _load_beir_folder(suite: Suite) -> SuiteData:",
                '@register_loader("beir-folder")\ndef load_beir_folder_suite(suite: Suite, data_root: Path | None = None) -> SuiteData:')
(R / "suites/irds_beir.py").write_text(
    '"""Loaders of suites read through ir_datasets (``irds``) or from a local BEIR folder\n(``beir-folder``), and the placeholders of the generic ``irds:`` and ``beir/`` suites."""\n\n'
    "from __future__ import annotations\n\nfrom pathlib import Path\n\n"
    "from negbench.harness.errors import NegbenchError\n"
    "from negbench.suites.definition import Suite\n"
    "from negbench.suites.loaders import register_loader\n"
    "from negbench.suites.suite_data import NoTrainSplit, SuiteData, judged_positives\n\n\n"
    + ib.rstrip() + "\n" + placeholders)
for mod, fn in (("esco", "load_esco"), ("ecthr", "load_ecthr"), ("msmarco", "load_msmarco")):
    p = R / f"suites/{mod}.py"; t = p.read_text()
    t = re.sub(r"from negbench\.suites\.loading import ([\w, ]+)\n",
               lambda m: f"from negbench.suites.loaders import register_loader\nfrom negbench.suites.suite_data import {m.group(1)}\n", t)
    t = t.replace(f"\ndef {fn}(", f'\n@register_loader("{mod}")\ndef {fn}(', 1)
    p.write_text(t)
p = R / "suites/ecthr.py"; t = p.read_text()
t = t.replace("def load_ecthr(suite: Suite) -> SuiteData:", "def load_ecthr(suite: Suite, data_root: Path | None = None) -> SuiteData:")
p.write_text(t)
for f in R.rglob("*.py"):
    if ".venv" in f.parts or "tools" in f.parts: continue
    t = f.read_text(); o = t
    t = t.replace("from negbench.suites.loading import SuiteData, load_suite_data\n",
                  "from negbench.suites.loading import load_suite_data\nfrom negbench.suites.suite_data import SuiteData\n")
    t = t.replace("from negbench.suites.loading import NoTrainSplit\n", "from negbench.suites.suite_data import NoTrainSplit\n")
    if t != o: f.write_text(t); print("fixed", f.relative_to(R))
