#!/bin/bash
# apply the whole restructure to the checkout $1 (run from anywhere)
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
R=$1
cd $R
python3 $HERE/restructure.py $R > /dev/null
git add -A && git commit -qm "harness/ by stage: git mv into io/ data/ retrieval/ evaluation/ pipeline/ reporting/ (imports rewritten)"
for s in fix_io fix_io2 fix_digest fix_rows fix_writable fix_suites fix_runner; do python3 $HERE/$s.py $R > /dev/null || { echo "FAILED $s"; exit 1; }; done
python3 - "$R" <<'PY'
import sys, re
from pathlib import Path
R = Path(sys.argv[1])
p = R / 'harness/io/negatives.py'; s = p.read_text()
if 'io.digest import sha256_file' not in s:
    s = s.replace('from negbench.harness.io.atomic import atomic_file\n', 'from negbench.harness.io.atomic import atomic_file\nfrom negbench.harness.io.digest import sha256_file\n')
p.write_text(s)
p = R / 'harness/pipeline/executor.py'; s = p.read_text()
if 'import sha256_path' not in s and 'sha256_path' in s:
    s = s.replace('from negbench.harness.io.digest import sha256_file\n', 'from negbench.harness.io.digest import sha256_path\n') if 'io.digest import sha256_file\n' in s else s.replace('from negbench.harness.errors', 'from negbench.harness.io.digest import sha256_path\nfrom negbench.harness.errors', 1)
p.write_text(s)
p = R / 'harness/pipeline/grid.py'; s = p.read_text()
s = re.sub(r"from negbench\.harness\.pipeline\.runner import \(\n((?:    \w+,\n)+)\)\n",
           lambda m: (lambda names: "from negbench.harness.pipeline.run_records import zero_shot_bm25, zero_shot_model\n"
                      f"from negbench.harness.pipeline.runner import {', '.join(n for n in names if not n.startswith('zero_shot'))}\n")(
                      [n.strip(' ,') for n in m.group(1).splitlines()]), s)
p.write_text(s)
p = R / 'harness/commands/reproduce.py'; s = p.read_text()
s = s.replace('Path(__file__).resolve().parents[1] / "reference" / "published.yaml"', 'Path(__file__).resolve().parents[1] / "reporting" / "reference" / "published.yaml"')
p.write_text(s)
p = R / 'tests/test_cli_logging_reference.py'; s = p.read_text()
s = s.replace("    import negbench.harness  # the installed", "    import negbench.harness.reporting  # the installed")
s = s.replace("Path(negbench.harness.__file__).parent / \"reference\"", "Path(negbench.harness.reporting.__file__).parent / \"reference\"")
p.write_text(s)
PY
cp $HERE/test_layers.py tests/test_layers.py
. "$HERE/../../.venv/bin/activate"
ruff check --fix -q . || true
ruff check . | tail -5
python3 $HERE/stale_refs.py $R | head
cp $HERE/CONTRIBUTING.md.new CONTRIBUTING.md; cp $HERE/suites.md.new docs/suites.md  # the new layout (prepared with the scripts)
