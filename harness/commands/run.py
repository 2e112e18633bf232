"""``negbench run``: a sampler x seed grid on one suite."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
from pathlib import Path

from negbench.harness.commands.common import (
    add_cache_dir,
    add_data_root,
    add_device,
    add_prompts,
    name_list,
    seed_list,
)
from negbench.harness.errors import NegbenchError

log = logging.getLogger(__name__)


def grid_entries(text: str, items: list[str]) -> list:
    """``--samplers`` (``SAMPLER`` or ``LABEL=SAMPLER`` items) with the repeated
    ``ROW.NAME=VALUE`` options (ROW: an entry's label, else its sampler) as grid entries."""
    from negbench.harness.pipeline.entries import (
        Entry,
        label_problem,
        repeated_rows,
        split_label,
    )

    rows = [split_label(t) for t in name_list(text, "--samplers", "sampler",
                                              "records are keyed by name; run a sampler again "
                                              "as LABEL=SAMPLER")]
    for sampler, label in rows:
        problem = label_problem(label) if label and label != sampler else None
        if problem or not sampler:
            why = problem or "LABEL=SAMPLER names no sampler"
            raise NegbenchError(f"--samplers {text!r}: {why}")
    rows = [(sampler, "" if label == sampler else label) for sampler, label in rows]
    problem = repeated_rows(rows)
    if problem:
        raise NegbenchError(f"--samplers {text!r}: {problem}")
    params: dict[str, dict] = {label or sampler: {} for sampler, label in rows}
    for item in items:
        key, sep, value = item.partition("=")
        name, dot, param = key.partition(".")
        if not sep or not dot:
            raise NegbenchError(f"--param {item!r}: expected ROW.NAME=VALUE (ROW: a sampler of "
                                "--samplers, or its label)")
        if name not in params:
            raise NegbenchError(f"--param {item!r}: {name!r} is not an entry of --samplers "
                                f"({', '.join(params)})")
        params[name][param] = value
    return [Entry(sampler, params[label or sampler], label) for sampler, label in rows]


def cmd_run(args) -> int:
    """``negbench run``; ``--quiet``'s logging switch is undone on return (the Python API
    calls this in the user's process)."""
    from negbench.harness.experiment import prepare_run_args
    from negbench.harness.logs import console_levels, restore_console

    disabled, levels = logging.root.manager.disable, console_levels()
    try:
        if getattr(args, "multirun", False):
            return _multirun(args)
        return _run(prepare_run_args(args))  # --config merged, overrides, --plugin loaded
    finally:
        logging.disable(disabled)
        restore_console(levels)


def _multirun(args) -> int:
    """``--multirun``: one grid per combination of the swept ``KEY=A,B`` overrides, one after
    the other; every combination is validated, and their outputs checked distinct, first."""
    from negbench.harness import overrides
    from negbench.harness.experiment import prepare_run_args
    from negbench.strategies.registry import get_sampler
    from negbench.suites.registry import get_suite

    combos = overrides.sweep(list(getattr(args, "overrides", None) or []))
    fixed = set.intersection(*(set(c) for c in combos))
    names = [" ".join(i for i in c if i not in fixed) or "(no sweep)" for c in combos]
    prepared = [prepare_run_args(argparse.Namespace(**{**vars(args), "overrides": c,
                                                       "multirun": False})) for c in combos]
    seen: dict[Path, str] = {}
    for name, a in zip(names, prepared, strict=True):
        _budget(a, get_suite(a.suite))  # the cheap checks of every grid before the first runs
        for e in _grid(a):
            get_sampler(e.sampler).from_dict(e.params)
        out = Path(a.output).resolve()
        if out in seen:
            raise NegbenchError(f"--multirun: {seen[out]} and {name} both write to {a.output}; "
                                "make output differ per combination with an interpolation, "
                                "e.g. output: results/sweep-${budget}")
        seen[out] = name
    for i, (name, a) in enumerate(zip(names, prepared, strict=True)):
        if not a.quiet:
            log.info("[negbench] multirun %d/%d: %s -> %s", i + 1, len(prepared), name,
                     a.output)
        _run(a)
    return 0


def _run(args) -> int:
    from negbench.harness.data.paths import given_root
    from negbench.harness.experiment import (
        RESOLVED_FILE,
        resolved,
        write_resolved,
    )
    from negbench.harness.logs import LogStream, logs_to_file, quiet_console
    from negbench.harness.pipeline import preflight
    from negbench.harness.pipeline.folders import claimed
    from negbench.harness.pipeline.grid import TrainingSetup, grid_configs, run_grid
    from negbench.harness.pipeline.scale_out import choose_shard, make_executor
    from negbench.harness.pipeline.workspace import Workspace
    from negbench.harness.training.budget import TRACKS
    from negbench.strategies.registry import get_sampler
    from negbench.suites.registry import get_suite

    if args.quiet:  # only the result and errors: no progress, no library chatter (a
        quiet_console()  # --log-file still gets every message)
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # e.g. "Loading weights"
    suite = get_suite(args.suite).with_collection(args.collection)
    grid = _grid(args)
    rows = [e.name for e in grid]
    for e in grid:  # validate names and parameters before any expensive work
        get_sampler(e.sampler).from_dict(e.params)
    budget = _budget(args, suite)
    if args.no_audit:  # not part of the config hash: the audit reads a run, it does not change it
        budget = dataclasses.replace(budget, teacher_steps=0)
    track = args.track or budget.track
    if track not in TRACKS:
        raise NegbenchError(f"--track {track!r}: expected one of {', '.join(TRACKS)}")
    shard, note = choose_shard(args)  # --shard, else a Slurm array task's own SLURM_ARRAY_*
    if note:
        log.info(note)
    remote = args.executor in ("ray", "slurm")
    device, precision = _device_and_precision(args, remote)
    from negbench.harness.retrieval.ann_search import canonical_search
    from negbench.harness.training.method import parse_loss_params

    setup = TrainingSetup(track, precision, args.in_batch_mask, args.mode, args.loss,
                          tuple(sorted(parse_loss_params(args.loss_param).items())),
                          search=canonical_search(getattr(args, "search", "exact")))
    seeds = args.seeds or list(budget.seeds)
    sequential = _sequential_spec(args, rows, seeds)
    if sequential is not None:  # every look's seeds: the experiment file its tasks read
        from negbench.harness.reporting.sequential import extend_seeds

        seeds = extend_seeds(seeds, sequential.looks[-1])
    if len(set(seeds)) != len(seeds) or any(not 0 <= s < 2**32 for s in seeds):
        raise NegbenchError(f"--seeds {seeds}: seeds must be distinct integers in 0..2^32-1")
    folds, fold_seed = getattr(args, "folds", None), getattr(args, "fold_seed", 0)
    if folds is None and fold_seed != 0:
        raise NegbenchError("--fold-seed is the seed of --folds' fold assignment: give --folds K")
    # validate every input before anything is written to --output (harness/pipeline/preflight.py)
    preflight.writable_dir(args.output, "--output")
    preflight.readable_records(args.output)
    root = given_root(args.data_root)  # None: the default places, else the cache as it is
    ws = Workspace(suite, root, args.cache_dir, args.model, progress=not args.quiet,
                   trust_remote_code=args.trust_remote_code, device=device,
                   query_prompt=args.query_prompt, doc_prompt=args.doc_prompt,
                   precision=precision)
    preflight.model_folder(ws.model_name)
    preflight.prompts_text(ws, {"--query-prompt": args.query_prompt,
                                "--doc-prompt": args.doc_prompt})
    grid_configs(ws, grid, seeds, budget, setup)
    preflight.suite_data(ws)  # loads and checks corpus, queries and qrels
    if folds is not None:  # cross-fitting: every labelled query tested once, by fold
        ws.cross_fit(folds, fold_seed)
    for data in _fold_data(ws):
        preflight.training_pairs_present(data)
        preflight.batches_fillable(data, budget)
    for e in grid:
        get_sampler(e.sampler).from_dict(e.params).check_suite(ws.data)
    if not args.task:  # a task runs on its executor's node: its package is there
        preflight.executor_package(args.executor)
    out = Path(args.output)
    runs = ({c.key: c.config_hash() for c in grid_configs(ws, grid, seeds, budget, setup)}
            if args.executor == "slurm" else None)  # for OUTPUT/slurm/jobs.json (status)
    executor = None if args.task else make_executor(  # every cluster option checked here
        args, out / RESOLVED_FILE, out, track, device, runs, ws.data_fingerprint)
    config = resolved(args, grid, track, seeds, budget, _used(ws, root))
    quiet_log = (open(os.devnull, "w") if args.quiet and not logs_to_file()  # noqa: SIM115
                 else LogStream())
    if budget.teacher_steps <= 0 and not args.no_audit:  # smoke: no teacher that ranks fits
        log.info("false-negative audit: no cross-encoder teacher on budget %r (one trained in "
                 "its minutes ranks at chance); judged positives are still counted", budget.name)
    # the first write (every check above passed): --output holds this suite over this data
    with claimed(out, ws.suite.name, ws.data_fingerprint,  # undone if nothing else is written
                 crossfit=ws.crossfit.spec() if ws.crossfit is not None else None):
        if args.task:  # an executor's task, or a worker serving its queue of tasks
            from negbench.harness.pipeline.task_queue import QUEUE_MARK, TaskQueue, serve

            def one(task: str) -> None:
                run_grid(ws, grid, seeds, budget, out, zero_shot=not args.no_zero_shot,
                         log=quiet_log, keep_models=args.keep_models, setup=setup,
                         stop_after=args.stop_after, task=task)

            if args.task.startswith(QUEUE_MARK):  # many runs in this process: RSS is shared
                return serve(TaskQueue(Path(args.task[1:])), one, out / "logs")
            ws.isolated = True  # one run in its own process: the run's RSS is its own
            one(args.task)
            return 0
        if executor is not None:  # the tasks read the experiment from this file
            write_resolved(config, out)
        if sequential is not None:
            from negbench.harness.pipeline.sequential_grid import run_sequential, summary_lines

            run_sequential(ws, grid, seeds, budget, out,
                           sequential, log=quiet_log, zero_shot=not args.no_zero_shot,
                           keep_models=args.keep_models, setup=setup, dispatch=executor)
            write_resolved(config, out)
            print((out / "table.md").read_text(encoding="utf-8"))
            print("\n".join(summary_lines(out)))
            log.info("records, runs, negatives and sequential.json written to %s", args.output)
            return 0
        table = run_grid(ws, grid, seeds, budget, out,
                         zero_shot=not args.no_zero_shot, log=quiet_log,
                         keep_models=args.keep_models, setup=setup, stop_after=args.stop_after,
                         shard=shard, dispatch=executor)
        # after the grid: a run failing early (e.g. a bad negatives file) leaves --output empty
        write_resolved(config, out)
        for i in range(ws.crossfit.k) if ws.crossfit is not None else [None]:
            preflight.held_out(ws.view(i))  # a warning at the end (a failure stays one line)
        if table is None and getattr(args, "no_wait", False):  # the command's result
            print(f"submitted to Slurm, not awaited (--no-wait; job ids in {out / 'slurm'}"
                  f"/jobs.json): `negbench status {out}` says where each run stands; the same "
                  "command without --no-wait collects them and writes table.md")
            return 0
        if table is None:
            log.info("[negbench] every run stopped after its %s stage; the same command without "
                     "--stop-after finishes them (here or on another machine given %s)",
                     args.stop_after, args.output)
            return 0
        print(table)
        log.info("records, runs and negatives written to %s", args.output)
        return 0


def _sequential_spec(args, samplers: list[str], seeds: list[int]):
    """The sequential-seeds rule when ``--target-mde``/``--max-seeds``/``--seed-groups`` ask for
    one (None otherwise), checked before anything runs."""
    from negbench.harness.pipeline.sequential_grid import SequentialSpec
    from negbench.harness.reporting.sequential import schedule

    target = getattr(args, "target_mde", None)
    max_seeds = getattr(args, "max_seeds", None)
    groups = getattr(args, "seed_groups", None)
    if (target is None and max_seeds is None and not groups) or args.task:
        return None  # a task is one run of a look: the process that submitted it decides
    for flag, bad in (("--shard", args.shard is not None),
                      ("--stop-after", args.stop_after is not None)):
        if bad:
            raise NegbenchError(f"sequential seeds (--target-mde/--max-seeds/--seed-groups) "
                                f"decide after each group of finished runs; {flag} does not "
                                "finish the grid here")
    looks = schedule(len(seeds), max_seeds or max(groups or [len(seeds) * 4]), groups)
    if max_seeds is not None and looks[-1] != max_seeds:
        raise NegbenchError(f"--seed-groups {groups} must end at --max-seeds {max_seeds}")
    baseline = getattr(args, "baseline", None) or ("random" if "random" in samplers
                                                   else samplers[0])
    spec = SequentialSpec(baseline, target, looks, getattr(args, "spending", None)
                          or "obrien-fleming")
    spec.check(samplers)
    return spec


def _grid(args) -> list:
    """The grid's entries: the experiment's, else ``--samplers`` with ``--param``."""
    return getattr(args, "grid", None) or grid_entries(args.samplers, args.param)


def _budget(args, suite):
    """The named budget (with the suite's overrides of it) and the budget options on top."""
    from negbench.harness.training.budget import OPTIONS, get_budget, with_options

    return with_options(get_budget(args.budget, suite.budgets.get(args.budget)),
                        {k: getattr(args, k, None) for k in OPTIONS})


def _used(ws, root: Path | None) -> dict:
    """What the run resolved for the keys left to defaults: model, prompts, cache folder and
    the data root read (None where the data came from no data root: a local BEIR folder, the
    ir_datasets cache as it is)."""
    from negbench.harness.data.paths import data_root

    if root is None and ws.suite.staged is not None:
        default = data_root(required=False)
        root = default if (default / ws.suite.staged).is_dir() else None
    return {"model": ws.model_name, "query_prompt": ws.prompts.query,
            "doc_prompt": ws.prompts.document, "cache_dir": str(ws.cache_dir),
            "data_root": str(root) if root is not None else None}


def _fold_data(ws) -> list:
    """The data each run trains on: the suite's, or every cross-fitted fold's."""
    if ws.crossfit is None:
        return [ws.data]
    return [ws.view(i).data for i in range(ws.crossfit.k)]


def _device_and_precision(args, remote: bool) -> tuple[str, str]:
    """The device and training precision. ``auto`` is the precision of the runs already in
    ``--output`` (a resumed or extended grid stays comparable), else the device's
    (``resolve_precision``); an explicit one that differs from theirs is an error, and so is
    theirs where this machine cannot train it (the error names the folder). With
    --executor ray|slurm the runs happen on other machines: a CUDA device this machine lacks is
    taken as given (each task checks it on its node), with ``auto`` precision taken as bf16
    here (each task resolves its own)."""
    from negbench.harness.pipeline import preflight
    from negbench.harness.retrieval.device import (
        PrecisionUnavailable,
        resolve_device,
        resolve_precision,
    )

    asked = (args.precision or "auto").lower()
    held = preflight.folder_precisions(args.output) if args.output else set()
    inherited = asked == "auto" and len(held) == 1
    if inherited:  # a grid resumed or extended keeps its precision
        asked = next(iter(held))
    elif held and asked not in held:
        raise NegbenchError(f"--precision {asked}: {args.output} holds {'/'.join(sorted(held))} "
                            "runs, and a folder's runs share one precision; give --precision "
                            f"{min(held)} (or auto), or another --output")
    try:
        device = resolve_device(args.device)
    except NegbenchError:
        if not (remote and str(args.device).lower().startswith("cuda")):
            raise
        device = str(args.device).lower()
        return device, "bf16" if asked == "auto" else asked
    try:
        return device, resolve_precision(asked, device)
    except PrecisionUnavailable as e:
        if not inherited:
            raise
        raise NegbenchError(f"{args.output} holds {asked} runs (auto keeps a folder's "
                            f"precision), and {asked} on {device} needs {e.needs}: resume it on a "
                            "machine that has it, or start another --output") from None


def register(sub) -> None:
    r = sub.add_parser("run", help="mine, train, retrieve and evaluate a sampler x seed grid",
                       description="Run samplers x seeds on a suite. Finished runs in --output "
                                   "are skipped and an interrupted run resumes at its "
                                   "unfinished stage, so the same command resumes a grid. "
                                   "Nothing is written to --output before the inputs "
                                   "(suite data, samplers, model) are validated.")
    r.add_argument("--config", default=None, metavar="FILE",
                   help="experiment file (YAML): every option below as a key, samplers with "
                        "nested parameters; options given here override it (see README)")
    r.add_argument("--plugin", action="append", default=[], metavar="FILE.py",
                   help="load a one-file sampler module (repeatable; docs/plugins.md)")
    r.add_argument("--suite", default=None,
                   help="suite name (see `negbench suites`), path of a local BEIR folder, or "
                        "irds:ID[,train=ID][,dev=ID][,profile=P] for any ir_datasets id")
    r.add_argument("--samplers", default=None,
                   help="comma list of sampler names (see `negbench strategies`); LABEL=SAMPLER "
                        "adds an entry named LABEL (its records and table row), so one sampler "
                        "can run twice with other parameters: dense,deep=dense --param "
                        "deep.range_max=200")
    r.add_argument("--seeds", type=seed_list, default=None,
                   help="comma list of integer seeds (default: the budget's seeds)")
    r.add_argument("--budget", default="smoke",
                   help="named budget: smoke (CI, 3 steps), standard (10 epochs, 5 seeds, "
                        "converges) or paper (GPU) (default: smoke)")
    r.add_argument("--track", default=None, choices=["query-side", "full"],
                   help="query-side: document tower frozen, corpus encoded once, only the "
                        "query tower trains (CPU-feasible, ADORE's setting); full: the whole "
                        "model is fine-tuned and the corpus re-encoded (GPU) (default: the "
                        "budget's track, query-side for smoke and standard)")
    r.add_argument("--mode", default="recipe", choices=["recipe", "controlled"],
                   help="recipe: each method as published (its loss, mask and schedule); "
                        "controlled: only the negatives differ (one shared loss, one mask "
                        "setting, and each dynamic method's window-matched static control "
                        "added to the grid) (default: recipe; docs/methods.md)")
    r.add_argument("--loss", default=None,
                   help="override the loss for every sampler (see `negbench strategies "
                        "--losses`); default: the recipe's in recipe mode, mnrl in controlled")
    r.add_argument("--loss-param", action="append", default=[], metavar="NAME=VALUE",
                   help="set a loss parameter, e.g. scale=20 (repeatable)")
    r.add_argument("--in-batch-mask", default="auto", choices=["auto", "on", "off"],
                   help="mask other rows' documents judged relevant to a query out of its "
                        "in-batch negatives (STAR's rel_pair_mask); auto = the recipe's in "
                        "recipe mode (on for star), off for every sampler in controlled mode "
                        "(default: auto)")
    r.add_argument("--search", default="exact", metavar="SPEC",
                   help="how mining searches the corpus with the base model: exact (faiss "
                        "brute force) or ivf[:NAME=VALUE,...], an approximate faiss IVF-SQ8 "
                        "index with exact re-scoring, for corpora of millions (NAME: nlist, "
                        "nprobe, refine, seed; e.g. ivf:nprobe=128); stated in each record's "
                        "mining block "
                        "(default: exact; docs/performance.md)")
    r.add_argument("--output", default=None,
                   help="folder for records/, runs/, negatives/ and table.md")
    r.add_argument("--folds", type=int, default=None, metavar="K",
                   help="cross-fitted evaluation for suites with a small test split: all "
                        "labelled queries (train ∪ test) dealt into K seeded folds; each run "
                        "trains on K-1 folds and is tested on the other, so every labelled "
                        "query is a test query once (K runs per sampler and seed, records "
                        "SAMPLER-seedS-foldI, split crossfit-K). Results are not comparable "
                        "with official-split ones and never share a folder with them "
                        "(default: the official split; docs/crossfit.md)")
    r.add_argument("--fold-seed", type=int, default=0, metavar="S",
                   help="seed of the fold assignment of --folds (default: 0)")
    r.add_argument("--param", action="append", default=[], metavar="ROW.NAME=VALUE",
                   help="set a parameter of the entry ROW (a sampler of --samplers, or its "
                        "label), e.g. dense.range_min=10 (repeatable)")
    r.add_argument("--model", default=None,
                   help="base model: all-MiniLM-L6-v2, a local folder or a Hugging Face id "
                        "read from the Hugging Face cache (HF_HUB_OFFLINE=0 to download) "
                        "(default: the suite's model)")
    add_prompts(r)
    add_device(r, precision=True)
    add_data_root(r)
    add_cache_dir(r)
    r.add_argument("--collection", default=None,
                   help="documents the suite does not stage: MS MARCO collection.tsv, "
                        "ECtHR-PCR echr_pcr_dataset.json (see `negbench suites`)")
    r.add_argument("--no-audit", action="store_true",
                   help="skip the cross-encoder false-negative audit (its teacher costs about "
                        "10 min of CPU per suite; the judged-positive check still runs)")
    r.add_argument("--no-zero-shot", action="store_true",
                   help="skip the BM25 and base-model reference rows")
    r.add_argument("--keep-models", action="store_true",
                   help="keep each trained model in OUTPUT/models/SAMPLER-seedSEED (about 90 MB "
                        "each for MiniLM; e.g. for `negbench source-bias --models-from OUTPUT`)")
    r.add_argument("--trust-remote-code", action="store_true",
                   help="allow a model folder to run its own Python code (off by default; "
                        "recorded in each record)")
    r.add_argument("--stop-after", default=None, choices=["mine", "train", "encode", "retrieve"],
                   help="run every unfinished run up to this stage only, and no zero-shot row "
                        "or table; re-running without it finishes them (e.g. mine negatives "
                        "with BM25 on a CPU node, copy --output, train on a GPU node)")
    r.add_argument("--quiet", action="store_true",
                   help="no progress bars or progress messages (errors still print)")
    r.add_argument("--multirun", action="store_true",
                   help="sweep: a KEY=A,B override runs one grid per value (several such "
                        "overrides: one per combination), one after the other; each "
                        "combination's output must differ, e.g. output=results/x-${budget}")
    r.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                   help="after the options: set an experiment key, OmegaConf/Hydra style, "
                        "e.g. budget=standard seeds=[13,42] samplers.0.params.range_max=200; "
                        "values may interpolate other keys: output=results/${slug:${suite}}")
    b = r.add_argument_group("budget values, on top of --budget (each changes the config hash; "
                             "records and table notes state them)")
    b.add_argument("--batch-size", type=int, default=None, metavar="N",
                   help="training batch size, >= 2 (default: the budget's)")
    b.add_argument("--lr", type=float, default=None, metavar="X",
                   help="learning rate, > 0 (default: the budget's)")
    b.add_argument("--epochs", type=float, default=None, metavar="X",
                   help="passes over the training pairs, instead of the budget's epochs or "
                        "steps (default: the budget's)")
    b.add_argument("--steps", type=int, default=None, metavar="N",
                   help="optimizer steps, instead of the budget's epochs or steps (default: "
                        "the budget's)")
    b.add_argument("--max-steps", type=int, default=None, metavar="N",
                   help="cap on the steps of an epoch budget (default: the budget's)")
    b.add_argument("--warmup", type=float, default=None, metavar="RATIO",
                   help="warm-up share of the steps, from 0 to below 1 (default: the budget's)")
    b.add_argument("--query-length", type=int, default=None, metavar="N",
                   help="training query length in tokens, query-side track (default: the "
                        "budget's)")
    b.add_argument("--train-length", type=int, default=None, metavar="N",
                   help="training text length in tokens, full track (default: the budget's)")
    b.add_argument("--eval-length", type=int, default=None, metavar="N",
                   help="length at which the corpus and test queries are encoded for mining "
                        "and evaluation (default: the budget's)")
    b.add_argument("--num-negatives", type=int, default=None, metavar="N",
                   help="mined negatives per training pair; a sampler's num_negatives may not "
                        "exceed it (default: the budget's)")
    q = r.add_argument_group("sequential seeds (docs/statistics.md)")
    q.add_argument("--target-mde", type=float, default=None, metavar="X",
                   help="add seeds in groups until each sampler's comparison with --baseline "
                        "separates or its MDE at the corrected level is <= X")
    q.add_argument("--max-seeds", type=int, default=None, metavar="N",
                   help="seeds per sampler at the last look (default with --target-mde: 4x the "
                        "first group); looks double from the first group (--seeds or the "
                        "budget's 5)")
    q.add_argument("--seed-groups", type=lambda v: [int(x) for x in v.split(",")],
                   default=None, metavar="5,10,20",
                   help="seeds per sampler at each look instead of doubling")
    q.add_argument("--baseline", default=None,
                   help="the sequential comparisons' baseline (default: random if in "
                        "--samplers, else the first sampler)")
    q.add_argument("--spending", default="obrien-fleming", choices=["obrien-fleming", "pocock"],
                   help="how the looks share α: O'Brien-Fleming-like (strict early, default) "
                        "or Pocock-like (even)")
    g = r.add_argument_group("scale-out (README, section Scale-out)")
    g.add_argument("--shard", default=None, metavar="I/N",
                   help="run only shard I of N of the grid's runs (every N-th run of the "
                        "seed-major order, from the I-th); N shards run every run once, "
                        "table.md is written from every record present. Default in a Slurm "
                        "array task you submit yourself: SLURM_ARRAY_TASK_ID minus "
                        "SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT (--array=0-7 and 1-8 "
                        "both give shards 0..7 of 8)")
    g.add_argument("--executor", default="local", choices=["local", "ray", "slurm"],
                   help="local: the runs one after another on this machine (default); ray: "
                        "one Ray task per run; slurm: one Slurm array task per run (submitit). "
                        "All tasks share --output and the cache folder (a shared file system)")
    g.add_argument("--isolate", action="store_true",
                   help="with --executor local: each run in a fresh process, so its record's "
                        "peak RSS is the run's own (always so with ray and slurm)")
    g.add_argument("--workers", type=int, default=None, metavar="N",
                   help="with --executor local: N worker processes run the grid's runs, each "
                        "taking the next unfinished run when it is free, with 1/N of the cores' "
                        "threads (OMP_NUM_THREADS, unless set), its imports and model kept warm "
                        "between runs, and each run's output in OUTPUT/logs/RUN.log; 1: the "
                        "runs one after another in this process (default: 2 on a CPU with 2 "
                        "or more cores unless OMP_NUM_THREADS is set, else 1)")
    g.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="a running Ray cluster (e.g. auto or ray://head:10001); default: a "
                        "local Ray started for the grid")
    g.add_argument("--ray-cpus", type=int, default=1, metavar="N",
                   help="CPUs per Ray task (default: 1)")
    g.add_argument("--ray-gpus", type=float, default=None, metavar="N",
                   help="GPUs per Ray task (default: 1 on the full track or with --device "
                        "cuda, else 0)")
    g.add_argument("--ray-memory", type=float, default=None, metavar="GB",
                   help="memory per Ray task in GB, reserved by Ray's scheduler (default: "
                        "none reserved)")
    g.add_argument("--ray-resources", action="append", default=[], metavar="KEY=VALUE",
                   help="a custom Ray resource per task, e.g. large_disk=1, or a JSON object "
                        "of them (repeatable); tasks run only on nodes that offer it")
    g.add_argument("--ray-retries", type=int, default=0, metavar="N",
                   help="run a failed Ray task (exit != 0, or its worker lost) again up to N "
                        "times; each try resumes the run at its last finished stage "
                        "(default: 0)")
    g.add_argument("--ray-runtime-env", default=None, metavar="FILE|JSON",
                   help="Ray runtime environment of the tasks (env_vars, pip, conda, "
                        "working_dir, ...): a JSON object or a YAML/JSON file holding one")
    g.add_argument("--slurm-partition", default=None, metavar="NAME",
                   help="Slurm partition of the tasks (e.g. a GPU partition for --track full)")
    g.add_argument("--slurm-gpus", type=int, default=None, metavar="N",
                   help="GPUs per Slurm task (default: 1 on the full track or with --device "
                        "cuda, else 0)")
    g.add_argument("--slurm-cpus", type=int, default=2, metavar="N",
                   help="CPUs per Slurm task (default: 2)")
    g.add_argument("--slurm-mem", type=float, default=None, metavar="GB",
                   help="memory per Slurm task in GB (default: the partition's)")
    g.add_argument("--slurm-time", type=int, default=240, metavar="MIN",
                   help="time limit per Slurm task in minutes (default: 240)")
    g.add_argument("--slurm-array-parallelism", type=int, default=64, metavar="N",
                   help="at most N array tasks at once (default: 64)")
    g.add_argument("--slurm-account", default=None, metavar="NAME",
                   help="Slurm account the tasks are charged to (sbatch --account)")
    g.add_argument("--slurm-qos", default=None, metavar="NAME",
                   help="Slurm quality of service of the tasks (sbatch --qos)")
    g.add_argument("--slurm-constraint", default=None, metavar="EXPR",
                   help="node features the tasks need, e.g. a100|h100 (sbatch --constraint)")
    g.add_argument("--slurm-exclude", default=None, metavar="NODES",
                   help="nodes the tasks must not run on, e.g. node[01-03] (sbatch --exclude)")
    g.add_argument("--slurm-setup", action="append", default=[], metavar="LINE",
                   help="a shell line run in each job script before the task, e.g. 'module "
                        "load cuda/12.1' or 'source ~/venv/bin/activate' (repeatable, in order)")
    g.add_argument("--slurm-additional", action="append", default=[], metavar="KEY=VALUE",
                   help="any other sbatch option, e.g. mail-type=END or reservation=NAME (KEY "
                        "alone: a flag such as requeue) (repeatable)")
    g.add_argument("--no-wait", action="store_true",
                   help="with --executor slurm: submit and return (job ids in "
                        "OUTPUT/slurm/jobs.json); `negbench status OUTPUT` follows them and "
                        "the same command without --no-wait collects them, submitting only "
                        "runs whose job is not queued or running")
    g.add_argument("--task", default=None, help=argparse.SUPPRESS)  # an executor's task
    r.set_defaults(func=cmd_run)
