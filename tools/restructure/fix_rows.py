"""NegativeRow -> io/negatives (strategies.base re-exports it for plugins); data types under TYPE_CHECKING in io."""
import re, sys
from pathlib import Path
R = Path(sys.argv[1])
base = R / "strategies/base.py"; b = base.read_text()
start = b.index("@dataclass(frozen=True)\nclass NegativeRow:")
end = b.index("@dataclass\nclass MiningContext:")
row = b[start:end]
b = b[:start] + b[end:]
b = b.replace("from negbench.harness.errors import NegbenchError\n",
              "from negbench.harness.errors import NegbenchError\n"
              "from negbench.harness.io.negatives import NegativeRow  # noqa: F401 - part of the plugin API\n", 1)
base.write_text(b)
for rel in ("harness/io/negatives.py", "harness/io/negative_formats.py"):
    p = R / rel; s = p.read_text()
    s = s.replace("from negbench.strategies.base import NegativeRow\n", "")
    m = re.search(r"from negbench\.harness\.data\.collection import ([\w, ]+)\n", s)
    s = s.replace(m.group(0), "")
    if "from typing import TYPE_CHECKING" not in s:
        s = s.replace("from pathlib import Path\n", "from pathlib import Path\nfrom typing import TYPE_CHECKING\n", 1)
    # after the last top-level negbench import
    last = [mm.end() for mm in re.finditer(r"^from negbench[^\n]*\n", s, re.M)][-1]
    tc = f"\nif TYPE_CHECKING:\n    from negbench.harness.data.collection import {m.group(1)}\n"
    if rel.endswith("negative_formats.py"):
        tc += "\nfrom negbench.harness.io.negatives import NegativeRow\n" if "io.negatives import" not in s else ""
    s = s[:last] + tc + s[last:]
    if rel.endswith("negatives.py") and "class NegativeRow" not in s:
        fi = s.index("\n\ndef ")
        s = s[:fi] + "\n\n" + row.rstrip() + "\n" + s[fi:]
        if "from dataclasses import dataclass" not in s:
            s = s.replace("import json\n", "import json\nfrom dataclasses import dataclass\n", 1)
    p.write_text(s)
# internal importers take NegativeRow from io.negatives
for f in list((R / "harness").rglob("*.py")):
    s = f.read_text(); o = s
    s = s.replace("from negbench.strategies.base import NegativeRow\n", "from negbench.harness.io.negatives import NegativeRow\n")
    s = s.replace("from negbench.strategies.base import MiningContext, NegativeRow\n",
                  "from negbench.harness.io.negatives import NegativeRow\nfrom negbench.strategies.base import MiningContext\n")
    if s != o: f.write_text(s); print("fixed", f.relative_to(R))
