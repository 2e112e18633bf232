"""The Markdown results table: zero-shot reference rows, then samplers (mean ± sd over seeds),
with false-negative and cost columns when the records carry them."""

from __future__ import annotations

import statistics

from tabulate import tabulate


def _cell(values: list[float], fmt: str = ".4f") -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    if len(values) == 1:
        return format(values[0], fmt)
    return f"{format(statistics.mean(values), fmt)} ± {format(statistics.stdev(values), fmt)}"


def _fn(rec: dict, key: str) -> float | None:
    share = (rec.get("false_negatives") or {}).get(key)
    return None if share is None else 100 * share


def _same_teacher(rec: dict) -> bool:
    """The sampler filtered its negatives with the harness teacher (denoised by default)."""
    if (rec.get("mining") or {}).get("filter_teacher") == "harness":
        return True
    sampler = rec.get("sampler") or {}
    return rec.get("name") == "denoised" and not (sampler.get("params") or {}).get(
        "cross_encoder")


def _at_chance(rec: dict) -> bool:
    from negbench.harness.pipeline.false_negatives import AUC_MIN, CONTROL_MAX

    fn = rec.get("false_negatives") or {}
    auc, ctrl = fn.get("teacher_auc"), fn.get("control_rate")
    return (fn.get("teacher_status") == "chance" or (auc is not None and auc < AUC_MIN)
            or (ctrl is not None and ctrl > CONTROL_MAX))


def _fn_ce_cell(recs: list[dict]) -> str:
    """The teacher's share, ``n/a`` when it cannot be read, with the random control beside it
    (``-``: no audit teacher, e.g. ``--no-audit`` or the smoke budget)."""
    if all(_fn(r, "ce_above_positive_share") is None for r in recs):
        return "-"
    if any(_same_teacher(r) for r in recs):
        return "n/a (same teacher)"
    if any(_at_chance(r) for r in recs):
        return "n/a (teacher at chance)"
    share = _cell([_fn(r, "ce_above_positive_share") for r in recs], ".1f")
    ctrl = [_fn(r, "control_rate") for r in recs]
    return share if all(c is None for c in ctrl) else f"{share} (ctrl {_cell(ctrl, '.1f')})"


def describe_budget(budget: dict, track: str, pairs: int | None = None) -> str:
    """A record's budget in one line (``Budget.describe``); older records without epochs get
    their steps and batch."""
    from negbench.harness.errors import NegbenchError
    from negbench.harness.training.budget import Budget

    b = {k: v for k, v in budget.items() if k != "track"}
    b["seeds"] = tuple(b.get("seeds", ()))
    b["changed"] = tuple(b.get("changed", ()))
    try:
        return Budget(**{**b, "track": track}).describe(pairs)
    except (TypeError, ValueError, KeyError, NegbenchError):  # records written before epochs
        return f"`{b.get('name')}`: {b.get('steps')} steps x batch {b.get('batch_size')}"


def training_note(rec: dict) -> str:
    """Track, device and budget of a trained record, in one sentence."""
    from negbench.harness.training.budget import TRACKS

    track = rec.get("track", "full")
    dev = rec.get("device") or {"name": "cpu", "precision": "fp32"}
    budget = describe_budget(rec["budget"], track, rec.get("train_examples"))
    return (f"Track `{track}`: {TRACKS.get(track, track)}. Device: {dev['name']}, precision "
            f"{dev['precision']}. Budget {budget}; model `{rec['model']}`.")


REFRESH_COLUMNS = ["refreshes", "re-encoded", "refresh s"]


def _training(rec: dict, key: str):
    return (rec.get("training") or {}).get(key)


def refresh_cells(recs: list[dict]) -> list[str]:
    """Refreshes, texts re-encoded at refreshes and their seconds (dynamic samplers)."""
    encoded = [None if _training(r, "refreshes") is None else
               (_training(r, "refresh_reencoded_queries") or 0)
               + (_training(r, "refresh_reencoded_docs") or 0) for r in recs]
    return [_cell([_training(r, "refreshes") for r in recs], ".0f"), _cell(encoded, ".0f"),
            _cell([_training(r, "refresh_s") for r in recs], ".1f")]


def method_cell(recs: list[dict]) -> str:
    """The loss (with its parameters) and the in-batch mask a row trained with."""
    from negbench.harness.errors import NegbenchError
    from negbench.harness.training.losses import get_loss

    cells = set()
    for r in recs:
        m = r.get("method") or {}
        try:
            loss = get_loss(m.get("loss", "mnrl"), m.get("loss_params") or {}).describe()
        except (NegbenchError, TypeError):  # a loss no longer registered: as recorded
            loss = str(m.get("loss", "mnrl"))
        cells.add(loss + (" + mask" if r.get("in_batch_mask") else ""))
    return "; ".join(sorted(cells))


MODE_NOTES = {
    "recipe": "Mode `recipe`: each method as published (its loss, in-batch mask and schedule).",
    "controlled": ("Mode `controlled`: only the negatives differ (one shared loss and mask); "
                   "rows named `sampler[param=value]` are window-matched static controls."),
}


def results_table(records: list[dict], measures: list[str]) -> str:
    """Markdown table of samplers x measures with the conventions stated under it.
    Cross-fitted fold records are merged into one record per sampler and seed
    (``reporting.crossfit``); a seed still missing folds is left out, named under the table."""
    from negbench.harness.reporting.crossfit import crossfit_note, merge_folds, missing_folds

    waiting = missing_folds(records)
    records = merge_folds(records, partial="skip")
    trained = [r for r in records if r["kind"] == "trained"]
    with_method = any("method" in r for r in trained)
    with_fn = any("false_negatives" in r for r in trained)
    with_refresh = any(_training(r, "refreshes") for r in trained)
    extra = (["FN judged %", "FN CE>pos %"] if with_fn else []) + [
        "mine s", "encode calls"] + (REFRESH_COLUMNS if with_refresh else []) + [
        "peak RSS MB", "wall s/run"]
    rows = []
    for rec in (r for r in records if r["kind"] == "zero-shot"):
        rows.append([f"{rec['name']} (zero-shot)", "-"] + ["-"] * with_method
                    + [f"{rec['metrics'][m]:.4f}" for m in measures] + ["-"] * len(extra))
    by_sampler: dict[str, list[dict]] = {}
    for rec in trained:
        by_sampler.setdefault(rec["name"], []).append(rec)
    for name, recs in by_sampler.items():
        seeds = ",".join(str(r["seed"]) for r in sorted(recs, key=lambda r: r["seed"]))
        cost = [_cell([r["timings_s"].get("mine") for r in recs], ".1f"),
                _cell([r.get("mining", {}).get("encode_calls") for r in recs], ".0f"),
                *(refresh_cells(recs) if with_refresh else []),
                _cell([r.get("peak_rss_mb") for r in recs], ".0f"),
                _cell([sum(r["timings_s"].values()) for r in recs], ".0f")]
        fn = ([_cell([_fn(r, "judged_share") for r in recs], ".1f"),
               _fn_ce_cell(recs)]
              if with_fn else [])
        rows.append([name, seeds] + [method_cell(recs)] * with_method
                    + [_cell([r["metrics"][m] for r in recs]) for m in measures] + fn + cost)
    table = tabulate(rows, headers=["sampler", "seeds", *["loss"] * with_method, *measures,
                                    *extra],
                     tablefmt="github", disable_numparse=True)
    if not records:
        return table + "\n"
    first = records[0]
    notes = [(f"Suite `{first['suite']}`, split `{first['split']}`, {first['num_queries']} "
              f"queries. Conventions: {first['conventions']['description']}.")]
    cross = crossfit_note(records)
    if cross:
        notes.append(cross)
    if waiting:
        notes.append("Not in the table until all their folds are done: " + ", ".join(
            f"{n} seed {s} (fold {', '.join(map(str, f))} missing)"
            for (n, s), f in sorted(waiting.items())) + ".")
    if trained:
        notes.append(f"{training_note(trained[0])} Cells: mean ± sd over seeds. Cost columns: "
                     "mining wall time, base-model encodings computed during mining (cache "
                     "misses), peak RSS of the process, total wall time of a run."
                     + (" Refreshes (dynamic samplers): how many times training paused to "
                        "re-mine or re-cluster with the model being trained, the texts it "
                        "re-encoded (queries + documents, summed over refreshes) and their "
                        "seconds (part of the wall time)." if with_refresh else ""))
        modes = sorted({(r.get("method") or {}).get("mode") for r in trained} - {None})
        notes += [MODE_NOTES[m] for m in modes if m in MODE_NOTES]
    if with_fn:
        teacher = next((r["false_negatives"].get("teacher") for r in trained
                        if (r.get("false_negatives") or {}).get("teacher")), None)
        notes.append("FN judged %: mined negatives judged relevant for their query in any "
                     "split (0 by construction: the harness excludes judged positives). "
                     "FN CE>pos %: mined negatives a cross-encoder scores above the pair's "
                     "positive, each pair scored by a teacher that never saw its query; "
                     "ctrl: the share of uniformly random docs it scores above the positive on "
                     "the same pairs (its own error floor). `n/a (teacher at chance)`: held-out "
                     "AUC < 0.75 or ctrl > 15 %; `n/a (same teacher)`: the sampler filtered its "
                     "negatives with the harness teacher. See docs/false_negatives.md "
                     f"(teacher: {teacher or 'none: --no-audit, or a budget without one'}).")
    return table + "\n\n" + "\n".join(notes) + "\n"
