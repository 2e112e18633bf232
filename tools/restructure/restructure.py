"""Move harness/ modules into stage packages and rewrite every reference (issue 26)."""
import re, subprocess, sys
from pathlib import Path
ROOT = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/main")
MOVES = {  # old module (under negbench.harness) -> new dotted path under negbench.harness
    "atomic": "io.atomic", "parse": "io.parse", "trec_files": "io.trec_files",
    "negatives": "io.negatives", "negative_formats": "io.negative_formats",
    "data": "data.collection", "beir_folder": "data.beir_folder", "irds": "data.irds",
    "irds_fetch": "data.irds_fetch", "paths": "data.paths", "fingerprint": "data.fingerprint",
    "dense_search": "retrieval.dense_search", "encoder": "retrieval.encoder", "bm25": "retrieval.bm25",
    "models": "retrieval.models", "hub": "retrieval.hub", "prompts": "retrieval.prompts",
    "cross_encoder": "retrieval.cross_encoder", "device": "retrieval.device",
    "measures": "evaluation.measures", "conventions": "evaluation.conventions",
    "evaluate": "evaluation.evaluate", "records": "evaluation.records",
    "budget": "training.budget", "mined": "training.mined",
    "false_negatives": "pipeline.false_negatives", "runner": "pipeline.runner", "grid": "pipeline.grid",
    "workspace": "pipeline.workspace", "preflight": "pipeline.preflight", "scale": "pipeline.scale_out",
    "folders": "pipeline.folders",
    "comparability": "reporting.comparability", "stats": "reporting.stats", "report": "reporting.report",
    "report_plots": "reporting.plots", "report_render": "reporting.render", "table": "reporting.table",
    "leaderboard": "reporting.leaderboard", "reproduce": "reporting.reproduce", "regress": "reporting.regress",
}
FULL = {f"negbench.harness.{k}": f"negbench.harness.{v}" for k, v in MOVES.items()}
FULL["negbench.harness.plugins"] = "negbench.strategies.plugins"
PATHS = {f"harness/{k}.py": f"harness/{v.replace('.', '/')}.py" for k, v in MOVES.items()}
PATHS["harness/plugins.py"] = "strategies/plugins.py"
PATHS["harness/reference/"] = "harness/reporting/reference/"

def git(*a):
    return subprocess.run(["git", *a], cwd=ROOT, check=True, capture_output=True, text=True).stdout

def main():
    for pkg in ("io", "data", "retrieval", "evaluation", "reporting"):
        (ROOT / "harness" / pkg).mkdir(exist_ok=True)
    for old, new in PATHS.items():
        if old.endswith("/"):
            (ROOT / new).parent.mkdir(parents=True, exist_ok=True)
            git("mv", old.rstrip("/"), new.rstrip("/"))
        else:
            git("mv", old, new)
    files = [f for f in git("ls-files").splitlines() if not f.startswith(("results/", "tools/"))
             and (ROOT / f).is_file() and Path(f).suffix in (".py", ".md", ".toml", ".yml", ".yaml", ".sh", ".cfg", ".txt", "")]
    mod_re = re.compile(r"\bnegbench\.harness\.([a-z_0-9]+)\b(?![\w/])")
    from_re = re.compile(r"^(\s*)from negbench\.harness import ([a-z_0-9, ]+?)(\s*(#.*)?)$", re.M)
    path_re = re.compile(r"\bharness/(reference/|[a-z_0-9]+\.py)")
    for f in files:
        p = ROOT / f
        try:
            s = p.read_text()
        except UnicodeDecodeError:
            continue
        orig = s
        def fr(m):
            indent, names, tail = m.group(1), [n.strip() for n in m.group(2).split(",")], m.group(3)
            lines = []
            for n in names:
                key = f"negbench.harness.{n}"
                if key in FULL:
                    pkg, _, mod = FULL[key].rpartition(".")
                    lines.append(f"{indent}from {pkg} import {mod}" + (f" as {n}" if mod != n else ""))
                else:
                    lines.append(f"{indent}from negbench.harness import {n}")
            lines[0] += tail
            return "\n".join(lines)
        s = mod_re.sub(lambda m: FULL.get(f"negbench.harness.{m.group(1)}", m.group(0)), s)
        s = from_re.sub(fr, s)
        s = path_re.sub(lambda m: PATHS.get(m.group(0), m.group(0)), s)
        if s != orig:
            p.write_text(s)
            print("rewrote", f)

main()

INITS = {
    "io": "Files negbench reads and writes: atomic writes and locks, line parsing, TREC run and\nqrels files, negatives files and their export formats, digests, writability checks.",
    "data": "The data a suite is made of: corpus, queries and qrels types (``collection``), BEIR\nfolders, ir_datasets seeding and fetching, data roots and the data fingerprint.",
    "retrieval": "Encoding and search: the encoder interface and its cache, models by id, prompts,\ndevices, exact dense search, BM25 (pyserini) and the cross-encoder teacher.",
    "evaluation": "Scoring runs: measures, per-suite conventions, evaluation with ranx, and the\nrecords a run's evaluation is written to (sealed and checked when read).",
    "reporting": "From records to verdicts: comparability, seed- and query-aware statistics, reports,\ntables, plots, the leaderboard, reproductions of published numbers and the CI gate.",
}
for pkg, doc in INITS.items():
    (ROOT / "harness" / pkg / "__init__.py").write_text(f'"""{doc}"""\n')
    git("add", f"harness/{pkg}/__init__.py")
pp = ROOT / "pyproject.toml"
s = pp.read_text()
s = s.replace('"negbench.harness.training", "negbench.strategies", "negbench.suites"]',
              '"negbench.harness.training", "negbench.harness.io", "negbench.harness.data",\n'
              '            "negbench.harness.retrieval", "negbench.harness.evaluation",\n'
              '            "negbench.harness.reporting", "negbench.strategies", "negbench.suites"]')
s = s.replace('"negbench.harness" = ["reference/*.yaml"]', '"negbench.harness.reporting" = ["reference/*.yaml"]')
pp.write_text(s)
