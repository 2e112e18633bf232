"""sha256_file, sha256_tree, sha256_path -> io/digest.py."""
import re, sys
from pathlib import Path
R = Path(sys.argv[1])
neg = R / "harness/io/negatives.py"; s = neg.read_text()
f_block = s[s.index("def sha256_file("):s.index("def write_negatives(")]
s = s.replace(f_block, "")
neg.write_text(s)
ex = R / "harness/pipeline/executor.py"; e = ex.read_text()
t_block = e[e.index("def sha256_tree("):e.index("class Manifest:")]
e = e.replace(t_block, "")
ex.write_text(e)
(R / "harness/io/digest.py").write_text('"""sha256 digests of files and folders (what manifests, records and caches store)."""\n\n'
    "from __future__ import annotations\n\nimport hashlib\nfrom pathlib import Path\n\n\n"
    + f_block.replace('def sha256_file(path: Path) -> str:\n', 'def sha256_file(path: Path) -> str:\n    """sha256 of a file\'s bytes, read in 1 MiB chunks."""\n')
    + t_block.replace('def sha256_path(p: Path) -> str:\n', 'def sha256_path(p: Path) -> str:\n    """``sha256_tree`` of a folder, ``sha256_file`` of a file."""\n').rstrip() + "\n")
pat = re.compile(r"^(\s*)from negbench\.harness\.(io\.negatives|pipeline\.executor) import ([\w, ]+)\n", re.M)
D = {"sha256_file", "sha256_tree", "sha256_path"}
for f in R.glob("**/*.py"):
    if ".venv" in f.parts or "tools" in f.parts: continue
    s = f.read_text(); o = s
    def fix(m):
        ind, mod, names = m.group(1), m.group(2), [n.strip() for n in m.group(3).split(",")]
        keep = [n for n in names if n not in D]; moved = [n for n in names if n in D]
        if not moved: return m.group(0)
        out = f"{ind}from negbench.harness.io.digest import {', '.join(moved)}\n"
        if keep: out += f"{ind}from negbench.harness.{mod} import {', '.join(keep)}\n"
        return out
    s = pat.sub(fix, s)
    if s != o: f.write_text(s); print("fixed", f.relative_to(R))
