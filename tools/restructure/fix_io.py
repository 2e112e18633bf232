"""Circle/upward fixes, part 1: io owns Hits/sort_hits, write_trec_run, write_json_atomic, digests, writability."""
import re, sys
from pathlib import Path
R = Path(sys.argv[1])
def rd(p): return (R / p).read_text()
def wr(p, s): (R / p).write_text(s)
def sub(p, old, new, count=1):
    s = rd(p)
    assert old in s, (p, old[:80])
    wr(p, s.replace(old, new, count))
def cut(p, start, end_marker=None):
    """Remove the top-level def/class starting at `start` up to the next top-level statement; return it."""
    s = rd(p)
    i = s.index(start)
    m = re.compile(r"\n(?=(def |class |@|[A-Z_]+ = |# ))").search(s, i + len(start))
    j = m.start() + 1 if m else len(s)
    block = s[i:j]
    wr(p, s[:i] + s[j:])
    return block.rstrip() + "\n"

# Hits, sort_hits -> io/trec_files
ds = "harness/retrieval/dense_search.py"
sub(ds, 'Hits = list[tuple[str, float]]\n\n\n', '')
sort = cut(ds, "def sort_hits(")
sub(ds, "import numpy as np\n", "import numpy as np\n\nfrom negbench.harness.io.trec_files import Hits, sort_hits\n")
tf = "harness/io/trec_files.py"
sub(tf, "from negbench.harness.data.collection import Qrels\nfrom negbench.harness.retrieval.dense_search import Hits, sort_hits\n", "")
sub(tf, "from pathlib import Path\n", "from pathlib import Path\nfrom typing import TYPE_CHECKING\n")
sub(tf, "from negbench.harness.errors import NegbenchError, where\n",
    "from negbench.harness.errors import NegbenchError, where\nfrom negbench.harness.io.atomic import write_text_atomic\n\n"
    "if TYPE_CHECKING:\n    from negbench.harness.data.collection import Qrels\n\n"
    "# a ranked list: (doc id, score), best first\nHits = list[tuple[str, float]]\n\n\n" + sort)
rec = "harness/evaluation/records.py"
wtr = cut(rec, "def write_trec_run(")
wr(tf, rd(tf).rstrip() + "\n\n\n" + wtr)
for f in R.glob("**/*.py"):
    if ".venv" in f.parts or "tools" in f.parts: continue
    s = f.read_text(); o = s
    s = re.sub(r"from negbench\.harness\.retrieval\.dense_search import Hits, sort_hits\n",
               "from negbench.harness.io.trec_files import Hits, sort_hits\n", s)
    s = re.sub(r"from negbench\.harness\.retrieval\.dense_search import Hits\n",
               "from negbench.harness.io.trec_files import Hits\n", s)
    s = s.replace("from negbench.harness.retrieval.dense_search import Hits, search_run\n",
                  "from negbench.harness.io.trec_files import Hits\nfrom negbench.harness.retrieval.dense_search import search_run\n")
    s = s.replace("from negbench.harness.retrieval.dense_search import search_run, sort_hits\n",
                  "from negbench.harness.io.trec_files import sort_hits\nfrom negbench.harness.retrieval.dense_search import search_run\n")
    s = s.replace("from negbench.harness.evaluation.records import write_trec_run\n",
                  "from negbench.harness.io.trec_files import write_trec_run\n")
    s = s.replace("from negbench.harness.evaluation.records import write_json_atomic, write_trec_run\n",
                  "from negbench.harness.io.atomic import write_json_atomic\nfrom negbench.harness.io.trec_files import write_trec_run\n")
    if s != o: f.write_text(s)
