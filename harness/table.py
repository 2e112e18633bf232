"""The Markdown results table: zero-shot reference rows, then samplers (mean ± sd over seeds)."""

from __future__ import annotations

import statistics

from tabulate import tabulate


def _cell(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def results_table(records: list[dict], measures: list[str]) -> str:
    """Markdown table of samplers x measures with the conventions stated under it."""
    rows = []
    for rec in (r for r in records if r["kind"] == "zero-shot"):
        rows.append([f"{rec['name']} (zero-shot)", "-"] + [f"{rec['metrics'][m]:.4f}"
                                                         for m in measures] + ["-"])
    by_sampler: dict[str, list[dict]] = {}
    for rec in (r for r in records if r["kind"] == "trained"):
        by_sampler.setdefault(rec["name"], []).append(rec)
    for name, recs in by_sampler.items():
        seeds = ",".join(str(r["seed"]) for r in sorted(recs, key=lambda r: r["seed"]))
        wall = statistics.mean(sum(r["timings_s"].values()) for r in recs)
        rows.append([name, seeds] + [_cell([r["metrics"][m] for r in recs]) for m in measures]
                    + [f"{wall:.0f}"])
    table = tabulate(rows, headers=["sampler", "seeds", *measures, "wall s/run"],
                     tablefmt="github", disable_numparse=True)
    if not records:
        return table + "\n"
    first = records[0]
    trained = next((r for r in records if r["kind"] == "trained"), None)
    notes = [(f"Suite `{first['suite']}`, split `{first['split']}`, "
             f"{first['num_queries']} queries. Conventions: {first['conventions']['description']}.")]
    if trained:
        b = trained["budget"]
        notes.append(f"Budget `{b['name']}`: {b['steps']} steps x batch {b['batch_size']}, "
                     f"lr {b['learning_rate']}, train max_seq_length {b['train_max_length']}, "
                     f"eval max_seq_length {b['eval_max_length']}, model `{trained['model']}`. "
                     "Cells: mean ± sd over seeds.")
    return table + "\n\n" + "\n".join(notes) + "\n"
