"""Break runner <-> stages: records and zero-shot rows -> pipeline/run_records.py; retrieve_dense ->
retrieval/dense_search; save_model_atomic -> io/atomic; deterministic -> retrieval/device (one copy);
base_encodings -> pipeline/workspace."""
import re, sys
from pathlib import Path
R = Path(sys.argv[1])
def take(s, name, stop=r"\n(?=(def |class |@|[A-Z_]+ = ))"):
    i = s.index(name)
    m = re.compile(stop).search(s, i + len(name))
    j = m.start() + 1 if m else len(s)
    return s[:i] + s[j:], s[i:j].rstrip() + "\n"
rp = R / "harness/pipeline/runner.py"; r = rp.read_text()
r, record = take(r, "def _record(")
r, evaluate = take(r, "def _evaluate(")
r, retrieve = take(r, "def retrieve_dense(")
r, timed = take(r, "def _timed(")
r, zs_bm25 = take(r, "def zero_shot_bm25(")
r, zs_model = take(r, "def zero_shot_model(")
r, save = take(r, "def save_model_atomic(")
r, determ = take(r, "def deterministic(")
r, trained = take(r, "def write_trained_record(")
r = re.sub(r"\n{4,}", "\n\n\n", r)
# runner imports
r = r.replace("from negbench.harness.pipeline.stages import STAGES, TRACK_STAGES, RunState, base_encodings\n",
              "from negbench.harness.pipeline.stages import STAGES, TRACK_STAGES, RunState\n"
              "from negbench.harness.pipeline.workspace import base_encodings\n"
              "from negbench.harness.retrieval.device import deterministic\n")
r = r.replace("    sha256_tree,\n", "")
rp.write_text(r)
# retrieve_dense(ws, ...) -> retrieve_dense(data, ...)
retrieve = retrieve.replace("def retrieve_dense(ws: Workspace, qids", "def retrieve_dense(data, qids")
retrieve = retrieve.replace("    data = ws.data\n", "")
retrieve = retrieve.replace('"""Exact search, restricted', '"""Exact search over ``data``\'s corpus (a ``SuiteData``), restricted')
ds = R / "harness/retrieval/dense_search.py"
ds.write_text(ds.read_text().rstrip() + "\n\n\n" + retrieve)
# save_model_atomic -> io/atomic
at = R / "harness/io/atomic.py"
at.write_text(at.read_text().rstrip() + "\n\n\n" + save.replace("is_stale_temp(stale)", "is_stale_temp(stale)"))
# deterministic -> retrieval/device
dv = R / "harness/retrieval/device.py"
dv.write_text(dv.read_text().rstrip() + "\n\n\n" + determ)
# run_records
for blk in (zs_bm25, zs_model):
    pass
text = ('"""The records a run writes: a trained run\'s record (its evaluation with full provenance)\n'
        'and the zero-shot rows (BM25 and the base model, untrained), all sealed by\n'
        '``evaluation.records.write_record``."""\n\n'
        "from __future__ import annotations\n\nfrom pathlib import Path\nfrom typing import TYPE_CHECKING\n\n"
        "from negbench.harness.data.fingerprint import FIELD as FINGERPRINT\n"
        "from negbench.harness.evaluation.conventions import get_profile\n"
        "from negbench.harness.evaluation.evaluate import Evaluation, evaluate_run\n"
        "from negbench.harness.evaluation.measures import parse_measures\n"
        "from negbench.harness.evaluation.records import (\n    SCHEMA,\n    library_versions,\n    peak_rss_mb,\n    rss_provenance,\n    write_record,\n)\n"
        "from negbench.harness.io.trec_files import read_trec_run, write_trec_run\n"
        "from negbench.harness.pipeline.workspace import Workspace, base_encodings\n"
        "from negbench.harness.retrieval.dense_search import retrieve_dense\n"
        "from negbench.harness.training.budget import Budget\n\n"
        "if TYPE_CHECKING:\n    from negbench.harness.pipeline.stages import RunState\n\n\n"
        + "\n\n".join([record, evaluate, timed, zs_bm25, zs_model, trained]))
text = text.replace("retrieve_dense(ws, ", "retrieve_dense(ws.data, ")
(R / "harness/pipeline/run_records.py").write_text(text)
# stages
sp = R / "harness/pipeline/stages.py"; s = sp.read_text()
s, be = take(s, "def base_encodings(")
s, _ = take(s, "def deterministic(")
s = s.replace("    from negbench.harness.pipeline.runner import save_model_atomic\n\n", "")
s = s.replace("    from negbench.harness.pipeline.runner import retrieve_dense\n\n", "")
s = s.replace("    from negbench.harness.pipeline.runner import write_trained_record\n\n", "")
s = s.replace("retrieve_dense(s.ws, ", "retrieve_dense(s.ws.data, ")
last = [m.end() for m in re.finditer(r"^from negbench[^\n]*\n", s, re.M)][-1]
s = s[:last] + ("from negbench.harness.io.atomic import save_model_atomic\n"
                "from negbench.harness.pipeline.run_records import write_trained_record\n"
                "from negbench.harness.pipeline.workspace import base_encodings\n"
                "from negbench.harness.retrieval.dense_search import retrieve_dense\n"
                "from negbench.harness.retrieval.device import deterministic\n") + s[last:]
sp.write_text(s)
wp = R / "harness/pipeline/workspace.py"
wp.write_text(wp.read_text().rstrip() + "\n\n\n" + be)
for f in R.rglob("*.py"):
    if ".venv" in f.parts or "tools" in f.parts: continue
    t = f.read_text(); o = t
    t = t.replace("from negbench.harness.pipeline.runner import zero_shot_bm25, zero_shot_model\n",
                  "from negbench.harness.pipeline.run_records import zero_shot_bm25, zero_shot_model\n")
    t = t.replace("from negbench.harness.pipeline.runner import zero_shot_model\n",
                  "from negbench.harness.pipeline.run_records import zero_shot_model\n")
    t = t.replace("from negbench.harness.pipeline.runner import deterministic\n",
                  "from negbench.harness.retrieval.device import deterministic\n")
    t = t.replace("from negbench.harness.pipeline.stages import base_encodings\n",
                  "from negbench.harness.pipeline.workspace import base_encodings\n")
    if t != o: f.write_text(t); print("fixed", f.relative_to(R))
