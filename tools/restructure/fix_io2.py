"""write_json_atomic -> io/atomic; every write_text_atomic/write_json_atomic imported from io.atomic."""
import re, sys
from pathlib import Path
R = Path(sys.argv[1])
rec = R / "harness/evaluation/records.py"
s = rec.read_text()
block = 'def write_json_atomic(obj: dict, path: Path) -> None:\n    write_text_atomic(json.dumps(obj, indent=1) + "\\n", path)\n\n\n'
assert block in s
s = s.replace(block, "")
s = s.replace("# the one atomic write (harness.atomic); records and its importers call it from here\n", "")
s = s.replace("from negbench.harness.io.atomic import write_text_atomic\n", "from negbench.harness.io.atomic import write_json_atomic\n")
rec.write_text(s)
at = R / "harness/io/atomic.py"
a = at.read_text()
a = a.replace("import errno\n", "import errno\nimport json\n", 1)
a = a.replace("def publish_dir(", 'def write_json_atomic(obj: dict, path: Path) -> None:\n    """``obj`` as indented JSON, written atomically (``write_text_atomic``)."""\n    write_text_atomic(json.dumps(obj, indent=1) + "\\n", path)\n\n\ndef publish_dir(', 1)
at.write_text(a)
W = {"write_json_atomic", "write_text_atomic"}
pat = re.compile(r"^(\s*)from negbench\.harness\.evaluation\.records import ([\w, ]+)\n", re.M)
for f in R.glob("**/*.py"):
    if ".venv" in f.parts or "tools" in f.parts: continue
    s = f.read_text(); o = s
    def fix(m):
        ind, names = m.group(1), [n.strip() for n in m.group(2).split(",")]
        keep = [n for n in names if n not in W]; moved = [n for n in names if n in W]
        if not moved: return m.group(0)
        out = f"{ind}from negbench.harness.io.atomic import {', '.join(moved)}\n"
        if keep: out += f"{ind}from negbench.harness.evaluation.records import {', '.join(keep)}\n"
        return out
    s = pat.sub(fix, s)
    if s != o: f.write_text(s); print("fixed", f.relative_to(R))
