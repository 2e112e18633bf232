"""A sampler x seed grid over one suite, resumable: finished runs are skipped on re-run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from negbench.harness.budget import Budget
from negbench.harness.records import read_records, write_text_atomic
from negbench.harness.runner import RunConfig, execute_run, is_done, zero_shot_bm25, zero_shot_model
from negbench.harness.table import results_table
from negbench.harness.workspace import Workspace
from negbench.strategies.registry import get_sampler
from tqdm.auto import tqdm


def _zero_shot_current(path: Path, budget: Budget, model: str | None) -> bool:
    if not path.exists():
        return False
    rec = json.loads(path.read_text())
    if model is not None and rec.get("model") != model:
        return False
    return all(rec["budget"].get(k) == v for k, v in budget.to_dict().items()
               if k in rec["budget"])


def run_grid(ws: Workspace, samplers: list[tuple[str, dict]], seeds: list[int], budget: Budget,
             out: Path, zero_shot: bool = True, log=sys.stderr) -> str:
    """Run every (sampler, seed) not yet finished, then write ``table.md``; returns the table."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if zero_shot:
        if not _zero_shot_current(out / "records" / "zeroshot-bm25.json", budget, None):
            print("[negbench] zero-shot BM25", file=log)
            zero_shot_bm25(ws, budget, out)
        if not _zero_shot_current(out / "records" / "zeroshot-model.json", budget, ws.model_name):
            print(f"[negbench] zero-shot {ws.model_name}", file=log)
            zero_shot_model(ws, budget, out)
    resolved = [(name, get_sampler(name).from_dict(params).params_dict())
                for name, params in samplers]
    configs = [RunConfig(ws.suite.name, name, params, seed, budget, ws.model_name)
               for name, params in resolved for seed in seeds]
    todo = [c for c in configs if not is_done(c, out)]
    if len(todo) < len(configs):
        print(f"[negbench] {len(configs) - len(todo)} of {len(configs)} runs already finished; "
              "skipping them", file=log)
    for cfg in tqdm(todo, desc="runs", unit="run", disable=not ws.progress):
        print(f"[negbench] run {cfg.key}", file=log)
        execute_run(cfg, ws, out)
    wanted = {c.key for c in configs}
    records = [r for r in read_records(out) if r["kind"] == "zero-shot" or
               f"{r['name']}-seed{r['seed']}" in wanted]
    table = results_table(records, list(ws.suite.measures))
    write_text_atomic(table, out / "table.md")
    return table
