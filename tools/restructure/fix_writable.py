"""writable_dir/writable_file (and the input guard, when present) -> io/writable.py; preflight re-exports them."""
import re, sys
from pathlib import Path
R = Path(sys.argv[1])
pf = R / "harness/pipeline/preflight.py"; s = pf.read_text()
names = [n for n in ("_nearest_existing", "writable_dir", "writable_file", "not_an_input") if f"def {n}(" in s]
blocks = []
for n in names:
    i = s.index(f"def {n}(")
    m = re.compile(r"\n(?=(def |class |@))").search(s, i + 5)
    j = m.start() + 1 if m else len(s)
    blocks.append(s[i:j].rstrip() + "\n")
    s = s[:i] + s[j:]
public = [n for n in names if not n.startswith("_")]
s = s.replace("from negbench.harness.errors import NegbenchError\n",
              "from negbench.harness.errors import NegbenchError\n"
              f"# the path checks live in io (data.paths needs them too); commands call them from here\n"
              f"from negbench.harness.io.writable import {', '.join(public)}  # noqa: F401\n", 1)
pf.write_text(s)
(R / "harness/io/writable.py").write_text(
    '"""Where a command may write: a folder or file it can create, and never one of its inputs."""\n\n'
    "from __future__ import annotations\n\nimport os\nfrom pathlib import Path\n\n"
    "from negbench.harness.errors import NegbenchError\n\n\n" + "\n\n".join(blocks))
for f in R.rglob("*.py"):
    if ".venv" in f.parts or "tools" in f.parts: continue
    t = f.read_text(); o = t
    t = t.replace("from negbench.harness.pipeline.preflight import writable_dir\n",
                  "from negbench.harness.io.writable import writable_dir\n")
    if t != o: f.write_text(t); print("fixed", f.relative_to(R))
