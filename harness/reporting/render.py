"""Render a ``Report`` as Markdown, LaTeX, CSV and JSON (tables by tabulate)."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import string

from tabulate import tabulate

from negbench.harness.reporting import stats
from negbench.harness.reporting.report import Report, System, family_note

UP, DOWN = "▲", "▼"
_TEX_UP, _TEX_DOWN = r"$^{\blacktriangle}$", r"$^{\blacktriangledown}$"


def letters(rep: Report) -> dict[str, str]:
    """One letter per system, used as significance superscripts in all-pairs mode."""
    return {s.name: string.ascii_lowercase[i % 26] for i, s in enumerate(rep.systems)}


def markers(rep: Report, system: System, measure: str, tex: bool = False) -> str:
    """Baseline mode: up/down if significantly better/worse than the baseline. All-pairs mode:
    the letters of the systems this one is significantly better than."""
    if rep.all_pairs:
        lt = letters(rep)
        beaten = []
        for c in rep.comparisons:
            if c.measure != measure or not c.significant or system.name not in (c.a, c.b):
                continue
            if (c.a == system.name and c.diff > 0) or (c.b == system.name and c.diff < 0):
                beaten.append(lt[c.b if c.a == system.name else c.a])
        text = "".join(sorted(beaten))
        return (f"$^{{{text}}}$" if tex else f" ^{text}") if text else ""
    c = rep.comparison(system.name, rep.baseline, measure)
    if c is None or not c.significant:
        return ""
    if tex:
        return _TEX_UP if c.diff > 0 else _TEX_DOWN
    return f" {UP}" if c.diff > 0 else f" {DOWN}"


def cell(summary: stats.Summary, tex: bool = False) -> str:
    pm = r"$\pm$" if tex else "±"
    if summary.n < 2:
        return f"{summary.mean:.4f}"
    return (f"{summary.mean:.4f} {pm} {summary.sd:.4f} "
            f"[{summary.ci_low:.4f}, {summary.ci_high:.4f}]")


def _tex_escape(text: str) -> str:
    for ch in "\\&%$#_{}":
        text = text.replace(ch, "\\" + ch)
    return text


def _rows(rep: Report, tex: bool = False) -> tuple[list[str], list[list[str]]]:
    lt = letters(rep)
    headers = ["system", "seeds", *rep.measures]
    rows = []
    for s in rep.systems:
        name = s.label + (" (baseline)" if not rep.all_pairs and s.name == rep.baseline else "")
        if rep.all_pairs:
            name = f"({lt[s.name]}) {name}"
        seeds = ",".join(str(x) for x in s.seeds) or "-"
        rows.append([_tex_escape(name) if tex else name, seeds]
                    + [cell(s.summaries[m], tex) + markers(rep, s, m, tex) for m in rep.measures])
    return headers, rows


def _seed_flag(c: stats.Comparison) -> str:
    """Footnote mark: † = no seed variance estimable (query-level only), ‡ = borrowed."""
    return {"none": "†", "borrowed": "‡"}.get(c.seed_variance, "")


def legend(rep: Report) -> list[str]:
    """Notes under every table: cells, significance, MDE, conventions, budget."""
    corr = stats.CORRECTIONS[rep.correction]
    lines = [
        "Cells: mean over seeds ± sd [95% t-interval of the mean]; a single value = one run.",
    ]
    how = (f"seed-aware t-test (queries and seeds both random: variance = seed component + "
           f"query component, Satterthwaite df; docs/statistics.md), two-sided; "
           f"{corr}-corrected (family below); α = {rep.alpha}; seeds paired where both "
           f"sides ran the same seeds (common random numbers).")
    if rep.all_pairs:
        lines.append("Superscript letters: significantly better than the systems with those "
                     "letters; " + how)
    else:
        lines.append(f"{UP}/{DOWN}: significantly better/worse than the baseline "
                     f"`{rep.baseline}`; " + how)
    if rep.comparisons:
        prim = [c for c in rep.comparisons if c.measure == rep.measures[0]]
        lines.append(family_note(rep))
        mdes = [c.mde for c in prim if math.isfinite(c.mde)]
        corrected = [c.mde_corrected for c in prim if math.isfinite(c.mde_corrected)]
        if mdes:
            lines.append(f"MDE = minimum detectable effect at 80% power for each comparison's "
                         f"seeds and queries, {rep.measures[0]}: {min(mdes):.4f} to "
                         f"{max(mdes):.4f} at two-sided α = {rep.alpha} before correction"
                         + (f", {min(corrected):.4f} to {max(corrected):.4f} at the corrected "
                            f"level {stats.CORRECTED_ALPHA}" if corrected and
                            rep.correction != "none" else "")
                         + ". A difference that is not separated and smaller than its MDE "
                         "means 'not enough seeds/queries', not 'no difference'.")
    flags = {c.seed_variance for c in rep.comparisons}
    if "none" in flags:
        lines.append("† seed variance not estimable (trained systems with one seed each): "
                     "that verdict is query-level only and ignores seed variance.")
    if "borrowed" in flags:
        lines.append("‡ one side has a single seed: it borrows the other side's seed "
                     "variance (assumes equal seed variance).")
    lines.append(f"Secondary (comparison table): {stats.TESTS[rep.test]} on the seed-averaged "
                 "per-query scores, which ignores seed variance.")
    lines.append(f"Suite `{rep.suite}`, split `{rep.split}`, {rep.num_queries} queries. "
                 f"Conventions (profile `{rep.profile}`): {rep.profile_description}.")
    if rep.budget:
        from negbench.harness.reporting.table import describe_budget

        track = rep.budget.get("track", "full")
        lines.append(f"Track `{track}`; budget {describe_budget(rep.budget, track)}; "
                     f"model `{rep.model}`.")
    return lines + rep.notes


def comparison_rows(rep: Report) -> tuple[list[str], list[list[str]]]:
    q = rep.test
    headers = ["A", "B", "measure", "seeds A/B", "mean A", "mean B", "A - B",
               "95% CI (seed-aware)", "df", "p", f"p ({rep.correction})", "sig.", "MDE",
               f"MDE ({rep.correction})",
               f"p {q} (query)", f"p {q} ({rep.correction})", "d_z"]
    rows = [[c.a, c.b, c.measure, f"{c.seeds_a}/{c.seeds_b}{_seed_flag(c)}", f"{c.mean_a:.4f}",
             f"{c.mean_b:.4f}", f"{c.diff:+.4f}", f"[{c.ci_low:+.4f}, {c.ci_high:+.4f}]",
             f"{c.df:.1f}" if math.isfinite(c.df) else "inf", _p(c.p), _p(c.p_adj),
             "yes" if c.significant else "no", f"{c.mde:.4f}", f"{c.mde_corrected:.4f}",
             _p(c.p_query),
             _p(c.p_query_adj), f"{c.dz:+.3f}"] for c in rep.comparisons]
    return headers, rows


def _p(p: float) -> str:
    return "nan" if math.isnan(p) else (f"{p:.2e}" if p < 1e-4 else f"{p:.4f}")


def to_markdown(rep: Report, plots: list[str] | None = None) -> str:
    headers, rows = _rows(rep)
    out = [f"# Results: {rep.suite}", "",
           tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True), ""]
    out += [f"- {line}" for line in legend(rep)]
    if rep.comparisons:
        h, r = comparison_rows(rep)
        out += ["", "## Comparisons", "",
                ("A - B is the difference of the means over seeds and queries with its "
                 f"seed-aware 95% interval, Satterthwaite df, p and {rep.correction}-adjusted "
                 "p (the verdict), the MDE at 80% power at α and at the corrected level (what "
                 "the verdict must clear); then the secondary query-level test on "
                 "seed-averaged per-query scores and d_z = mean / sd of those per-query "
                 "differences (Cohen's d_z)."), "",
                tabulate(r, headers=h, tablefmt="github", disable_numparse=True)]
    if plots:
        out += ["", "## Plots", ""] + plot_lines(plots)
    return "\n".join(out) + "\n"


def plot_lines(plots: list[str]) -> list[str]:
    """Markdown for the plot files: each plot embedded once (PNG, else SVG), its other formats
    (PDF, ...) linked after it; a plot only in PDF is a link."""
    stems: dict[str, list[str]] = {}
    for p in plots:
        stems.setdefault(p.rsplit(".", 1)[0], []).append(p)
    lines = []
    for files in stems.values():
        shown = next((f for ext in ("png", "svg") for f in files if f.endswith(f".{ext}")),
                     None)
        rest = [f"[{f.rsplit('.', 1)[1].upper()}]({f})" for f in files if f != shown]
        lines.append((f"![{shown}]({shown})" if shown else "")
                     + (" " if shown and rest else "") + " ".join(rest))
    return lines


def to_latex(rep: Report) -> str:
    headers, rows = _rows(rep, tex=True)
    headers = [_tex_escape(h) for h in headers]
    table = tabulate(rows, headers=headers, tablefmt="latex_raw", disable_numparse=True)
    notes = " ".join(_tex_escape(line) for line in legend(rep))
    notes = notes.replace(UP, r"$\blacktriangle$").replace(DOWN, r"$\blacktriangledown$")
    notes = notes.replace("±", r"$\pm$").replace("α", r"$\alpha$")
    notes = notes.replace("†", r"\dag{}").replace("‡", r"\ddag{}")
    notes = re.sub(r"`([^`]*)`", r"\\texttt{\1}", notes)
    return ("% generated by `negbench report`; needs amssymb (\\blacktriangle)\n"
            "\\begin{table}\n\\centering\n\\small\n" + table +
            f"\n\\caption{{{notes}}}\n\\end{{table}}\n")


def to_csv(rep: Report) -> str:
    """One row per (system, measure), with the comparison against the baseline if any."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["suite", "split", "profile", "system", "kind", "measure", "seeds", "n", "mean",
                "sd", "ci95_low", "ci95_high", "baseline", "diff", "diff_ci95_low",
                "diff_ci95_high", "df", "p", "p_adj", "correction", "significant", "mde",
                "mde_corrected", "paired", "seed_variance", "query_test", "p_query", "p_query_adj", "dz"])
    for s in rep.systems:
        for m in rep.measures:
            x = s.summaries[m]
            c = rep.comparison(s.name, rep.baseline, m)
            comp = ([rep.baseline, c.diff, c.ci_low, c.ci_high, c.df, c.p, c.p_adj,
                     rep.correction, c.significant, c.mde, c.mde_corrected, c.paired,
                     c.seed_variance, c.test, c.p_query, c.p_query_adj, c.dz] if c else [""] * 17)
            w.writerow([rep.suite, rep.split, rep.profile, s.name, s.kind, m,
                        " ".join(map(str, s.seeds)), x.n, x.mean, x.sd, x.ci_low, x.ci_high,
                        *comp])
    return buf.getvalue()


def comparisons_csv(rep: Report) -> str:
    buf = io.StringIO()
    fields = stats.Comparison.exported()
    w = csv.DictWriter(buf, fieldnames=fields + ["correction"], lineterminator="\n")
    w.writeheader()
    for c in rep.comparisons:
        w.writerow({**c.to_dict(), "correction": rep.correction})
    return buf.getvalue()


def _num(x):
    return None if isinstance(x, float) and not math.isfinite(x) else x


def to_json(rep: Report, plots: list[str] | None = None) -> str:
    doc = {
        "suite": rep.suite, "split": rep.split, "num_queries": rep.num_queries,
        "conventions": {"profile": rep.profile, "description": rep.profile_description},
        "budget": rep.budget, "model": rep.model, "measures": rep.measures,
        "baseline": rep.baseline, "all_pairs": rep.all_pairs,
        "test": {"name": "seed", "description": stats.SEED_TEST, "alternative": "two-sided",
                 "mde_power": 0.8},
        "query_test": {"name": rep.test, "description": stats.TESTS[rep.test],
                       "alternative": "two-sided", "n_resamples": rep.n_resamples,
                       "seed": rep.seed},
        "correction": {"method": rep.correction, "alpha": rep.alpha,
                       "family": family_note(rep) if rep.comparisons else "",
                       "mde_corrected_at": stats.CORRECTED_ALPHA},
        "systems": [{"name": s.name, "kind": s.kind, "seeds": s.seeds,
                     "metrics": {m: {k: _num(v) for k, v in vars(s.summaries[m]).items()}
                                 for m in rep.measures}} for s in rep.systems],
        "comparisons": [{k: _num(v) for k, v in c.to_dict().items()} for c in rep.comparisons],
        "plots": plots or [],
        "notes": rep.notes,
    }
    return json.dumps(doc, indent=1) + "\n"
