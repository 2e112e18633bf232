"""A sampler x seed grid over one suite, resumable: finished runs are skipped on re-run and a
run interrupted mid-way resumes at its unfinished stage (see ``runner.Manifest``)."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from negbench.harness.data.fingerprint import matches
from negbench.harness.errors import NegbenchError
from negbench.harness.evaluation.records import read_record, read_records
from negbench.harness.io.atomic import file_lock, is_stale_temp, write_text_atomic
from negbench.harness.pipeline.entries import entries, repeated_rows
from negbench.harness.pipeline.folders import claim_folder
from negbench.harness.pipeline.run_records import zero_shot_bm25, zero_shot_model
from negbench.harness.pipeline.runner import RunConfig, execute_run, is_done, record_key
from negbench.harness.pipeline.workspace import Workspace, base_encodings
from negbench.harness.reporting.comparability import check_comparable
from negbench.harness.reporting.table import results_table
from negbench.harness.retrieval.device import encoding_precision
from negbench.harness.training.budget import Budget
from negbench.strategies.registry import get_sampler


def zero_shot_current(rec: dict | None, ws: Workspace, budget: Budget, system: str) -> bool:
    """A zero-shot record (``system`` bm25 or model) that answers this grid's question: same
    suite, data fingerprint, model (for the model row) and budget fields."""
    if not isinstance(rec, dict) or rec.get("kind") != "zero-shot":
        return False
    if rec.get("suite") != ws.suite.name or not matches(rec, ws.data_fingerprint):
        return False
    cf = getattr(ws, "crossfit", None)  # cross-fitted: a pooled row of the same folds
    if rec.get("crossfit") != (cf.info(None) if cf is not None else None):
        return False
    if (rec.get("zero_shot") or {}).get("system") != system:
        return False
    if system == "model" and (rec.get("model") != ws.model_name
                              or rec.get("prompts", {}) != ws.prompts.to_dict()):
        return False
    encoded = (rec.get("device") or {}).get("encoding_precision", "fp32")
    if system == "model" and encoded != getattr(ws, "encode_precision", "fp32"):
        return False  # a bf16 grid's row is encoded in bf16 (and an fp32 grid's in fp32)
    kept = rec.get("budget") or {}
    return all(kept.get(k) == v for k, v in budget.to_dict().items() if k in kept)


def crossfit_spec(ws: Workspace) -> dict | None:
    """The fold spec an output folder records when ``ws`` is cross-fitted (else None)."""
    cf = getattr(ws, "crossfit", None)
    return cf.spec() if cf is not None else None


def _zero_shot_record(out: Path, system: str) -> dict | None:
    """The zero-shot row's record, None when absent; one failing ``read_record`` (malformed,
    edited) is refused naming the file, as ``is_done`` refuses a run's."""
    path = out / "records" / f"zeroshot-{system}.json"
    return read_record(path) if path.exists() else None


def remove_stale_temp_files(out: Path) -> list[Path]:
    """Delete ``*.tmp`` files left in ``out``'s result folders by a killed process (every result
    file is written to a temp file first and renamed into place, so these are never results).
    Only abandoned ones (``atomic.is_stale_temp``): another shard or task writing into the same
    folder keeps its temporaries."""
    stale = [p for sub in ("records", "runs", "negatives") for p in (out / sub).glob("*.tmp")
             if is_stale_temp(p)]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


@dataclass(frozen=True)
class TrainingSetup:
    """How a grid trains, beyond the budget: track, precision, the comparison ``mode``
    (``harness.training.method``), a loss override (``loss`` with ``loss_params``) and the
    in-batch mask (``auto`` = the mode's: the recipe's in recipe mode, off in controlled)."""

    track: str = "query-side"
    precision: str = "fp32"
    in_batch_mask: str = "auto"
    mode: str = "recipe"
    loss: str | None = None
    loss_params: tuple[tuple[str, str], ...] = ()
    search: str = "exact"  # mining's corpus search (--search; harness/retrieval/ann_search.py)

    def method_for(self, sampler: str):
        from negbench.harness.training.method import resolve_method

        return resolve_method(get_sampler(sampler).get_recipe(), self.mode, self.loss,
                              dict(self.loss_params), self.in_batch_mask)

    def mask_for(self, sampler: str) -> bool:
        return self.method_for(sampler).mask


def check_method(name: str, setup: TrainingSetup, method=None) -> None:
    """Refuse, before anything runs, a method its sampler or track cannot train: a loss that
    needs inputs the sampler's plan does not provide (ADORE's per-step top-k, a teacher's
    scores), a loss over own negatives for a sampler without any, a recipe that needs the full
    track on the query-side track. ``method``: ``setup.method_for(name)`` when already
    resolved."""
    cls = get_sampler(name)
    loss, recipe = (method or setup.method_for(name)).loss, cls.get_recipe()
    missing = sorted(set(loss.requires) - set(cls.provides))
    if missing:
        raise NegbenchError(f"sampler {name!r} with loss {loss.name!r}: the loss needs "
                            f"{', '.join(missing)}, which only a sampler whose training plan "
                            "provides it has (candidates: adore; teacher: tas-balanced)")
    if not cls.uses_negatives and "in_batch" not in loss.consumes:
        raise NegbenchError(f"sampler {name!r} mines no negatives and loss {loss.name!r} "
                            "uses only each row's own negatives: nothing to train against")
    if setup.mode == "recipe" and recipe.query_side and setup.track == "query-side":
        raise NegbenchError(f"sampler {name!r} as published needs the full track: "
                            f"{recipe.query_side}")


def _identity(name: str, params: dict) -> tuple:
    return name, tuple(sorted(get_sampler(name).from_dict(params).params_dict().items()))


def window_controls(samplers: list[tuple], setup: TrainingSetup
                    ) -> list[tuple[str, dict, str]]:
    """Controlled mode: the window-matched static control of every dynamic method of the
    grid, as (sampler, params, label), unless the grid has it already (under any label); none
    in recipe mode. ``samplers``: the grid's entries (``entries.Entry`` or (sampler, params))."""
    if setup.mode != "controlled":
        return []
    have = {_identity(e.sampler, e.params) for e in entries(samplers)}
    out = []
    for name in dict.fromkeys(e.sampler for e in entries(samplers)):
        recipe = get_sampler(name).get_recipe()
        if recipe.control is None:
            continue
        cname, cparams = recipe.control[0], dict(recipe.control[1])
        if _identity(cname, cparams) in have:
            continue
        have.add(_identity(cname, cparams))
        out.append((cname, cparams, recipe.control_label))
    return out


def grid_configs(ws: Workspace, samplers: list[tuple], seeds: list[int],
                 budget: Budget, setup: TrainingSetup) -> list[RunConfig]:
    """The grid's run configs, seed-major (an interrupted grid has every sampler at the first
    seed(s)); parameters and methods are validated against the budget and track before
    anything runs. ``samplers``: (sampler, params) or (sampler, params, label) entries (a
    label names the entry's records and row). In controlled mode the window-matched controls
    are added (labelled rows, e.g. ``dense[range_max=200]``)."""
    device = getattr(ws, "device", "cpu")
    if encoding_precision(setup.precision, device) != getattr(ws, "encode_precision", "fp32"):
        raise ValueError(f"precision {setup.precision} on {device} encodes in "
                         f"{encoding_precision(setup.precision, device)}, the workspace in "
                         f"{ws.encode_precision}: build it with Workspace(..., precision=)")
    problem = repeated_rows([(e.sampler, e.label) for e in entries(samplers)])
    if problem:
        raise NegbenchError(f"samplers: {problem}")
    resolved = []
    for name, params, label in entries(samplers) + window_controls(samplers, setup):
        get_sampler(name).check_track(setup.track)
        method = setup.method_for(name)
        check_method(name, setup, method)
        p = get_sampler(name).from_dict(params).params_dict()
        n = p.get("num_negatives")
        if isinstance(n, int) and n > budget.negatives_per_example:
            raise NegbenchError(f"sampler {name!r}: num_negatives={n} but budget "
                                f"{budget.name!r} trains with {budget.negatives_per_example} "
                                "negative(s) per pair; lower it or use a budget with more")
        resolved.append((name, p, label, method))
    trust = getattr(ws, "trust_remote_code", False)
    prompts = ws.prompts.to_dict() if hasattr(ws, "prompts") else {}
    cf = getattr(ws, "crossfit", None)  # cross-fitted: seed x fold x sampler
    folds = [{"k": cf.k, "index": i, "seed": cf.seed, "assignment_sha256": cf.sha256}
              for i in range(cf.k)] if cf is not None else [{}]
    configs = []
    for seed in seeds:
        for fold in folds:
            for name, params, label, method in resolved:
                configs.append(RunConfig(
                    ws.suite.name, name, params, seed, budget, ws.model_name, trust, setup.track,
                    setup.precision, method.mask, prompts, setup.mode, method.loss.name,
                    method.loss.params_dict(), label, fold=fold, search=setup.search))
    return configs


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (``--shard i/n``): every ``count``-th run config of the
    grid's seed-major order, starting at ``index``. The ``count`` shards of one grid run every
    run exactly once, and each shard gets a mix of samplers and seeds."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        i, sep, n = str(text).partition("/")
        try:
            shard = cls(int(i), int(n))
        except ValueError:
            shard = None
        if not sep or shard is None or shard.count < 1 or not 0 <= shard.index < shard.count:
            raise NegbenchError(f"--shard {text!r}: expected I/N with 0 <= I < N (e.g. 0/4 for "
                                "the first of four array tasks)")
        return shard

    def select(self, configs: list[RunConfig]) -> list[RunConfig]:
        return configs[self.index::self.count]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def _locks(out: Path) -> Path:
    """Lock files of the processes writing into ``out`` (shards, executor tasks)."""
    return out / ".locks"


def zero_shot_rows(ws: Workspace, budget: Budget, out: Path, log=sys.stderr) -> None:
    """The BM25 and base-model reference rows, computed only when missing or stale; under a
    lock, so of several shards or tasks starting at once one computes them, the others wait
    and reuse them."""
    ws = ws.view(None)  # cross-fitted: the reference rows score every labelled query
    if not zero_shot_needed(ws, budget, out):  # no lock file where there is nothing to do
        return
    with file_lock(_locks(out) / "zero-shot.lock"):
        if not zero_shot_current(_zero_shot_record(out, "bm25"), ws, budget, "bm25"):
            print("[negbench] zero-shot BM25", file=log)
            zero_shot_bm25(ws, budget, out)
        if not zero_shot_current(_zero_shot_record(out, "model"), ws, budget, "model"):
            print(f"[negbench] zero-shot {ws.model_name}", file=log)
            zero_shot_model(ws, budget, out)


def zero_shot_needed(ws: Workspace, budget: Budget, out: Path) -> bool:
    return not all(zero_shot_current(_zero_shot_record(out, s), ws, budget, s)
                   for s in ("bm25", "model"))


def pending(configs: list[RunConfig], out: Path, ws: Workspace, log=sys.stderr
            ) -> list[RunConfig]:
    """The configs without a current record; finished runs' leftover work folders removed."""
    todo = [c for c in configs if not is_done(c, out, ws.data_fingerprint)]
    if len(todo) < len(configs):
        print(f"[negbench] {len(configs) - len(todo)} of {len(configs)} runs already finished; "
              "skipping them", file=log)
        for c in configs:  # a run killed after its record was written leaves its work folder
            if c not in todo:
                shutil.rmtree(out / "work" / c.key, ignore_errors=True)
    return todo


def write_table(ws: Workspace, budget: Budget, configs: list[RunConfig], out: Path,
                log=sys.stderr) -> str:
    """``table.md`` from every record in ``out/records`` that belongs to this grid (whichever
    shard or task wrote it), written atomically under a lock: the last writer read every
    record written before it, so concurrent shards never leave a table missing rows."""
    wanted = {c.key for c in configs}
    with file_lock(_locks(out) / "table.lock"):
        records = [r for r in read_records(out) if matches(r, ws.data_fingerprint) and (
            record_key(r) in wanted if r["kind"] == "trained" else
            zero_shot_current(r, ws, budget, (r.get("zero_shot") or {}).get("system")))]
        check_comparable(records, f"records in {out / 'records'}")
        table = results_table(records, list(ws.suite.measures))
        write_text_atomic(table, out / "table.md")
    done = sum(r["kind"] == "trained" for r in records)
    if done < len(configs):
        print(f"[negbench] table.md holds {done} of the grid's {len(configs)} runs so far (the "
              "other shards or tasks rewrite it when they finish)", file=log)
    return table


def run_grid(ws: Workspace, samplers: list[tuple], seeds: list[int], budget: Budget,
             out: Path, zero_shot: bool = True, log=sys.stderr, keep_models: bool = False,
             setup: TrainingSetup | None = None, stop_after: str | None = None,
             shard: Shard | None = None, task: str | None = None,
             dispatch=None) -> str | None:
    """Run every (sampler, seed) not yet finished, then write ``table.md``; returns the table.

    ``samplers``: the grid's entries, as for ``grid_configs``. ``keep_models`` keeps each newly
    trained model in ``<out>/models/<name>-seed<seed>``.
    ``stop_after`` (a stage name) runs every unfinished run up to that stage only, computes no
    zero-shot row and no table, and returns None; the same grid without it finishes them.
    ``shard`` runs only that shard's runs (the table still covers every record present).
    ``task`` (an executor's task) does one thing and writes no table: ``"zero-shot"`` the
    reference rows, otherwise the run with that key. ``dispatch(tasks, log)`` (an executor)
    runs a list of task names, each in its own process, the zero-shot task first; when it
    returns False they were submitted and left to run, and no table is written."""
    out = Path(out)  # created by the first file written: a run failing early leaves nothing
    setup = setup or TrainingSetup(track=budget.track)
    configs = grid_configs(ws, samplers, seeds, budget, setup)
    # no write before this: the folder holds this suite over this data (an executor's task
    # finds the claim its submitting process made)
    claim_folder(out, ws.suite.name, ws.data_fingerprint, crossfit=crossfit_spec(ws))
    if task is not None:
        if task == "zero-shot":
            zero_shot_rows(ws, budget, out, log)
            return None
        mine = [c for c in configs if c.key == task]
        if not mine:
            raise NegbenchError(f"task {task!r} is not a run of this grid")
        for cfg in pending(mine, out, ws, log):
            execute_run(cfg, ws, out, keep_model=keep_models, stop_after=stop_after)
        return None
    mine = shard.select(configs) if shard else configs
    remove_stale_temp_files(out)
    want_zero_shot = zero_shot and stop_after is None
    todo = pending(mine, out, ws, log)
    if dispatch is not None:
        tasks = ((["zero-shot"] if want_zero_shot and zero_shot_needed(ws, budget, out) else [])
                 + [c.key for c in todo])
        try:
            if tasks and dispatch(tasks, log) is False:
                return None  # submitted and left to run (--no-wait): no table yet
        except NegbenchError:  # failed tasks: the table still shows the runs that finished
            if stop_after is None and (out / "records").is_dir():
                write_table(ws, budget, configs, out, log)
            raise
    else:
        if want_zero_shot:
            zero_shot_rows(ws, budget, out, log)
        for cfg in tqdm(todo, desc="runs", unit="run", disable=not ws.progress):
            partial = (out / "work" / cfg.key / "manifest.json").exists()
            print(f"[negbench] run {cfg.key}{' (resuming an interrupted run)' if partial else ''}",
                  file=log)
            execute_run(cfg, ws, out, keep_model=keep_models, stop_after=stop_after)
        if todo or want_zero_shot:
            enc = base_encodings(ws)
            print(f"[negbench] base-model encodings computed by this grid: {enc['doc']} "
                  f"corpus, {enc['query']} query set(s); the rest came from the cache "
                  f"({ws.cache_dir})", file=log)
    if stop_after is not None:
        return None
    return write_table(ws, budget, configs, out, log)
