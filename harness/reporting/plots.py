"""Plots of a ``Report`` (matplotlib, Agg backend, no display needed), as PNG, PDF or SVG.

Made to be read: systems sorted by their score, the baseline marked in every plot, one
distinct colour per line or point (a palette with as many colours as systems), labels laid
out horizontally so they cannot overlap, no panel whose values are all zero (the
false-negative panel is skipped, with a note in the report, when every share is 0 or absent),
and every interval labelled by what it is (a one-seed system has no seed interval). The
``*_figure`` functions return the matplotlib figure (for tests); the ``*_plot`` ones save it;
``write_plots`` writes every applicable plot in each requested format."""

from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

import numpy as np

from negbench.harness.errors import NegbenchError
from negbench.harness.reporting.report import Report, System

FN_KEY = "false_negatives"
FN_FIELDS = {"judged_share": "judged false-negative share",
             "ce_above_positive_share": "share of negatives the cross-encoder scores "
                                        "above the positive"}
BASELINE_COLOR = "black"
ZERO_SHOT_COLOR = "tab:gray"
TRAINED_COLOR = "tab:blue"
# per-query differences: better / worse than the baseline / tied (ColorBrewer RdBu ends, safe
# for red-green colour blindness)
BETTER_COLOR = "#2166ac"
WORSE_COLOR = "#b2182b"
TIE_COLOR = "#9e9e9e"
TIE_TOLERANCE = 1e-12
FORMATS = ("png", "pdf", "svg")
QUERY_ORDER = ("x: the {n} queries, in the same order in every panel: by their mean difference "
               "over all {k} systems, largest first")
# what the interval of a comparison is, by ``Comparison.seed_variance`` (see stats.seed_test)
INTERVALS = {
    "estimated": "seed-aware",
    "borrowed": "seed variance borrowed (one side has 1 seed)",
    "none": "query-level t over 1 seed (no seed variance)",
    "fixed": "query-level t (deterministic systems)",
}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def check_formats(formats: list[str] | tuple[str, ...], option: str = "--plot-formats"
                  ) -> tuple[str, ...]:
    """The plot formats, lower-cased, in the given order; an unknown or repeated one, or none,
    is a ``NegbenchError`` naming ``option``."""
    out = tuple(f.strip().lower().lstrip(".") for f in formats)
    bad = [f for f in out if f not in FORMATS]
    if bad:
        raise NegbenchError(f"{option}: unknown plot format {', '.join(map(repr, bad))}; "
                            f"choose from {', '.join(FORMATS)}")
    if not out or len(set(out)) != len(out):
        raise NegbenchError(f"{option}: name each plot format once ({', '.join(FORMATS)})")
    return out


def _write(fig, path: Path) -> Path:
    """Write ``fig`` in the format of ``path``'s suffix: PNG at 120 dpi, PDF and SVG as vector
    graphics without a date (the same report writes the same bytes)."""
    fmt = path.suffix.lstrip(".").lower()
    metadata = {"png": None, "pdf": {"CreationDate": None}, "svg": {"Date": None}}.get(fmt)
    import matplotlib

    with matplotlib.rc_context({"svg.hashsalt": "negbench"}):
        fig.savefig(path, dpi=120, bbox_inches="tight", metadata=metadata)
    return path


def _save(fig, path: Path) -> Path:
    """Write ``fig`` to ``path`` (layout already done) and close it; returns ``path``."""
    try:
        return _write(fig, Path(path))
    finally:
        _pyplot().close(fig)


def save_formats(fig, stem: Path, formats: tuple[str, ...] = ("png",)) -> list[Path]:
    """Write ``fig`` as ``stem.<format>`` for each format, then close it; returns the paths."""
    try:
        return [_write(fig, stem.with_name(f"{stem.name}.{f}")) for f in formats]
    finally:
        _pyplot().close(fig)


def _err(lo: float, hi: float, mean: float) -> list[list[float]] | None:
    if math.isnan(lo):
        return None
    return [[mean - lo], [hi - mean]]


def palette(n: int) -> list[tuple[float, float, float, float]]:
    """``n`` pairwise distinct colours: tab10, then tab20's light shades, then evenly spaced
    hues of a perceptual map (never a repeat of the first 20)."""
    from matplotlib import colormaps

    base = [colormaps["tab10"](i) for i in range(10)]
    base += [colormaps["tab20"](2 * i + 1) for i in range(10)]
    if n <= len(base):
        return base[:n]
    extra = colormaps["turbo"](np.linspace(0.05, 0.95, n - len(base)))
    return base + [tuple(c) for c in extra]


def _label(rep: Report, s: System) -> str:
    return f"{s.label} (baseline)" if s.name == rep.baseline else s.label


def _bold_baseline(ax, rep: Report) -> None:
    base = metric_label(rep, rep.system(rep.baseline))
    for t in ax.get_yticklabels():
        if t.get_text() == base:
            t.set_fontweight("bold")


def sorted_systems(rep: Report, measure: str) -> list[System]:
    """Systems by their mean on ``measure``, best first (name breaks ties)."""
    return sorted(rep.systems, key=lambda s: (-s.summaries[measure].mean, s.label))


def _one_seed(s: System) -> bool:
    return s.kind == "trained" and len(s.records) < 2


def metric_label(rep: Report, s: System) -> str:
    """A system's row in the metric plot: its label, "(baseline)", and "(1 seed)" for a
    trained system with a single seed (which has no interval)."""
    return _label(rep, s) + (" (1 seed)" if _one_seed(s) else "")


def metric_figure(rep: Report):
    """One panel per measure: systems sorted by that measure (best on top), each mean with its
    95% t-interval over seeds and the seeds as dots; the baseline is bold, drawn as a black
    diamond and as a dotted vertical line. A one-seed system is a hollow point labelled
    "(1 seed)", with no interval (there is none over one seed); a zero-shot row
    (deterministic) is its value alone."""
    plt = _pyplot()
    n = len(rep.measures)
    ncols = min(n, 2)
    nrows = math.ceil(n / ncols)
    height = 0.32 * len(rep.systems) + 1.2
    fig, axes = plt.subplots(nrows, ncols, figsize=(6.2 * ncols, height * nrows),
                             squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax, m in zip(axes.flat, rep.measures):
        ordered = sorted_systems(rep, m)[::-1]  # best at the top
        for i, s in enumerate(ordered):
            x = s.summaries[m]
            is_base = s.name == rep.baseline
            color = BASELINE_COLOR if is_base else (
                ZERO_SHOT_COLOR if s.kind == "zero-shot" else TRAINED_COLOR)
            one = _one_seed(s)
            ax.errorbar([x.mean], [i], xerr=_err(x.ci_low, x.ci_high, x.mean),
                        fmt="D" if is_base else "o", color=color, capsize=3, zorder=2,
                        markerfacecolor="white" if one else color)
            seeds = [r["metrics"][m] for r in s.records]
            if len(seeds) > 1:
                ax.scatter(seeds, [i] * len(seeds), s=9, color="black", alpha=0.4, zorder=3)
            if is_base:
                ax.axvline(x.mean, color=BASELINE_COLOR, linestyle=":", linewidth=0.8)
        ax.set_yticks(range(len(ordered)), [metric_label(rep, s) for s in ordered], fontsize=8)
        _bold_baseline(ax, rep)
        ax.set_ylim(-0.6, len(ordered) - 0.4)
        ax.set_title(f"{m} (sorted, best on top)", fontsize=9)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"{rep.suite} ({rep.split}): {metric_interval_note(rep)}", fontsize=9)
    fig.tight_layout()
    return fig


def metric_interval_note(rep: Report) -> str:
    """What the metric plot's intervals are: a t-interval over seeds where a system has >= 2,
    none for a one-seed system or a zero-shot row."""
    multi = any(len(s.records) > 1 for s in rep.systems)
    parts = (["mean over seeds with its 95% t-interval over seeds, seeds as dots"] if multi
             else ["one value per system (no system has 2 seeds: no interval)"])
    if multi and any(_one_seed(s) for s in rep.systems):
        parts.append("hollow = 1 seed: no interval")
    if any(s.kind == "zero-shot" for s in rep.systems):
        parts.append("grey = zero-shot (deterministic)")
    parts.append("black diamond = baseline")
    return "; ".join(parts)


def metric_plot(rep: Report, path: Path) -> Path:
    return _save(metric_figure(rep), path)


class PerQueryDiffs(NamedTuple):
    """Per-query differences (system - baseline) of one measure: ``qids`` in the plotted order
    (the same for every system), ``systems`` in panel order, ``diffs[i]`` the differences of
    ``systems[i]`` in ``qids`` order."""

    qids: list[str]
    systems: list[System]
    diffs: list[np.ndarray]


def perquery_diffs(rep: Report, measure: str) -> PerQueryDiffs:
    """The per-query differences of every system against the baseline on ``measure``. Queries
    are ordered by their mean difference over all these systems, largest first (query id
    breaks ties); systems by their mean difference, best first (label breaks ties)."""
    base = rep.system(rep.baseline)
    qids = sorted(base.per_query[measure])
    others = [s for s in rep.systems if s.name != rep.baseline]
    raw = {s.name: np.array([s.per_query[measure][q] - base.per_query[measure][q]
                             for q in qids]) for s in others}
    for d in raw.values():  # seed means of equal scores may differ in the last bit: a tie
        d[np.abs(d) < TIE_TOLERANCE] = 0.0
    mean = np.mean([raw[s.name] for s in others], axis=0) if others else np.zeros(len(qids))
    order = sorted(range(len(qids)), key=lambda i: (-float(mean[i]), qids[i]))
    others.sort(key=lambda s: (-float(raw[s.name].mean()), s.label))
    return PerQueryDiffs([qids[i] for i in order], others,
                         [raw[s.name][order] for s in others])


def _runs(mask: np.ndarray) -> list[tuple[float, float]]:
    """(start - 0.5, length) of each run of consecutive True values of ``mask``."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(int), [0]])))
    return [(float(a) - 0.5, float(b - a)) for a, b in zip(edges[::2], edges[1::2])]


def perquery_diff_figure(rep: Report, measure: str):
    """Small multiples of the per-query differences (system - baseline) of ``measure``: one
    panel per system, panels sharing both axes, each query a bar at the same position in every
    panel (queries ordered by the mean difference over all systems, largest first), blue where
    the system beats the baseline, red where it loses, ties a thin grey bar on the zero line; each
    panel's title gives the mean difference and the better/worse/tied counts, panels ordered by
    the mean difference (best first). Stays readable with many systems (no overlapping
    lines)."""
    from matplotlib.patches import Patch

    plt = _pyplot()
    data = perquery_diffs(rep, measure)
    base = rep.system(rep.baseline)
    k = len(data.systems)
    ncols = 1 if k == 1 else 2 if k <= 4 else 3 if k <= 12 else 4
    nrows = max(1, math.ceil(k / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.9 * ncols, 1.9 * nrows + 1.2),
                             sharex=True, sharey=True, squeeze=False, layout="constrained")
    edges = np.arange(len(data.qids) + 1) - 0.5
    # a tie is a thin grey bar across the zero line, 3% of the shared y range high
    tick = 0.03 * max([float(np.abs(d).max()) for d in data.diffs if d.size] + [1e-9])
    for ax in axes.flat[k:]:
        ax.set_visible(False)
    for ax, s, d in zip(axes.flat, data.systems, data.diffs):
        # one filled step patch per sign: each query a bar of width 1 at the same x in every
        # panel (two artists per panel, not one per query: fast, and small as PDF/SVG)
        ax.stairs(np.maximum(d, 0), edges, fill=True, color=BETTER_COLOR, linewidth=0,
                  label="better")
        ax.stairs(np.minimum(d, 0), edges, fill=True, color=WORSE_COLOR, linewidth=0,
                  label="worse")
        tie = d == 0
        ax.axhline(0, color=BASELINE_COLOR, linewidth=0.6, zorder=1)
        ax.broken_barh(_runs(tie), (-tick, 2 * tick), facecolors=TIE_COLOR, linewidth=0,
                       label="tied", zorder=2)
        better, worse = int((d > 0).sum()), int((d < 0).sum())
        ax.set_title(f"{s.label}: mean {d.mean():+.4f}\n{better} better, {worse} worse, "
                     f"{int(tie.sum())} tied", fontsize=8)
        ax.set_xticks([])
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(axis="y", alpha=0.3)
    if k:
        axes.flat[0].set_xlim(-0.5, len(data.qids) - 0.5)
    fig.supylabel(f"{measure}: system - {base.label}", fontsize=8)
    fig.suptitle(f"{rep.suite}: per-query {measure} difference against the baseline "
                 f"{base.label} (0 = the baseline)\none panel per system, panels by mean "
                 f"difference (best first)\n{QUERY_ORDER.format(n=len(data.qids), k=k)}",
                 fontsize=9)
    fig.legend(handles=[Patch(color=BETTER_COLOR, label=f"better than {base.label}"),
                        Patch(color=WORSE_COLOR, label=f"worse than {base.label}"),
                        Patch(color=TIE_COLOR, label="tied (grey on the zero line)")],
               loc="outside lower center", ncols=3, fontsize=7, frameon=False)
    return fig


def perquery_diff_plot(rep: Report, measure: str, path: Path) -> Path:
    return _save(perquery_diff_figure(rep, measure), path)


class BaselineDiff(NamedTuple):
    """One system against the baseline: difference, its 95% interval and what that interval
    is (``interval``: a key of ``INTERVALS``, the comparison's ``seed_variance``)."""

    label: str
    diff: float
    ci_low: float
    ci_high: float
    significant: bool
    mde: float
    interval: str


def baseline_differences(rep: Report, measure: str) -> list[BaselineDiff]:
    """Every system against the baseline on ``measure`` (comparisons in either orientation),
    sorted by the difference."""
    out = []
    for c in rep.comparisons:
        if c.measure != measure or rep.baseline not in (c.a, c.b):
            continue
        other = c.a if c.b == rep.baseline else c.b
        sign = 1.0 if c.b == rep.baseline else -1.0
        lo, hi = sorted((sign * c.ci_low, sign * c.ci_high))
        out.append(BaselineDiff(rep.system(other).label, sign * c.diff, lo, hi, c.significant,
                                c.mde, c.seed_variance))
    return sorted(out, key=lambda row: row.diff)


def interval_label(row: BaselineDiff) -> str:
    """What a forest row's interval is: ``INTERVALS[row.interval]``, never "seed-aware" for a
    comparison whose seed variance was not estimated from >= 2 seeds on each random side."""
    return INTERVALS.get(row.interval, row.interval)


def forest_title_note(rows: list[BaselineDiff]) -> str:
    """The forest plot's line on its intervals: one kind for all rows, or seed-aware unless a
    row says otherwise."""
    kinds = {r.interval for r in rows}
    if len(kinds) == 1:
        return f"95% interval: {INTERVALS.get(kinds.pop(), '?')}"
    return "95% interval: seed-aware unless the row says otherwise (hollow point)"


def forest_figure(rep: Report, measure: str):
    """Forest plot: each system's difference to the baseline on ``measure`` with its 95%
    interval, sorted (best on top); the baseline is the vertical line at 0; MDE and verdict per
    row. The interval is the seed-aware one where both sides' seed variance is estimated; any
    other row (a one-seed side: borrowed seed variance, or the query-level t-interval with no
    seed variance) is a hollow point with a dashed interval that names what it is."""
    plt = _pyplot()
    rows = baseline_differences(rep, measure)
    mixed = len({r.interval for r in rows}) > 1
    fig, ax = plt.subplots(figsize=(7.5 if mixed else 7, 0.45 * len(rows) + 1.6))
    for i, r in enumerate(rows):
        color = "tab:red" if r.significant else "tab:blue"
        seed_aware = r.interval == "estimated"
        bars = ax.errorbar([r.diff], [i], xerr=[[r.diff - r.ci_low], [r.ci_high - r.diff]],
                           fmt="o", color=color, capsize=3,
                           markerfacecolor=color if seed_aware else "white")
        if not seed_aware:
            for line in bars.lines[2]:
                line.set_linestyle("--")
        text = f"MDE {r.mde:.3f}{' *' if r.significant else ''}"
        if mixed and not seed_aware:
            text += f"; {interval_label(r)}"
        ax.annotate(text, (r.ci_high, i), textcoords="offset points", xytext=(5, -3),
                    fontsize=7)
    base = rep.system(rep.baseline).label
    ax.axvline(0, color=BASELINE_COLOR, linewidth=1)
    ax.set_yticks(range(len(rows)), [r.label for r in rows], fontsize=8)
    ax.set_ylim(-0.8, len(rows) - 0.2)
    ax.set_xlabel(f"{measure}: system - {base} (baseline = 0)")
    ax.set_title(f"{rep.suite}: difference to the baseline `{rep.baseline}`\n"
                 f"{forest_title_note(rows)}; red * = significant after correction",
                 fontsize=9)
    ax.annotate(f"baseline {base}", (0, len(rows) - 0.5), xytext=(3, 0),
                textcoords="offset points", fontsize=7)
    lo, hi = ax.get_xlim()
    # room for the labels right of each interval
    ax.set_xlim(lo, hi + (0.6 if mixed else 0.22) * (hi - lo))
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def forest_plot(rep: Report, measure: str, path: Path) -> Path:
    return _save(forest_figure(rep, measure), path)


def fn_fields(rep: Report) -> list[str]:
    """The false-negative fields worth a panel: carried by every seed of some trained system
    and not zero for all of them (an all-zero panel says nothing)."""
    out = []
    for f in FN_FIELDS:
        carried = [s for s in rep.systems
                   if s.kind == "trained" and s.extra(FN_KEY, f) is not None]
        if any(float(r[FN_KEY][f]) != 0 for s in carried for r in s.records):
            out.append(f)
    return out


def has_false_negatives(rep: Report) -> bool:
    return bool(fn_fields(rep))


def fn_skip_note(rep: Report) -> str:
    """Why the FN-share plot is absent: no shares at all, or shares that are all zero."""
    present = [f for f in FN_FIELDS if any(s.extra(FN_KEY, f) is not None for s in rep.systems
                                           if s.kind == "trained")]
    if present:
        return (f"FN-share plot skipped: {' and '.join(f'`{f}`' for f in present)} of "
                f"`{FN_KEY}` is 0 in every trained record that carries it (no mined negative "
                "is a judged positive), so the panel would be a single vertical line at 0.")
    return ("FN-share plot skipped: no trained record carries numeric "
            f"`{FN_KEY}` shares ({', '.join(FN_FIELDS)}).")


def fn_figure(rep: Report, measure: str):
    """False-negative share of the mined negatives vs ``measure``: one point per sampler, each
    in its own colour, the legend sorted by ``measure``; one panel per non-zero field."""
    plt = _pyplot()
    fields = fn_fields(rep)
    systems = [s for s in sorted_systems(rep, measure) if s.kind == "trained"]
    colors = dict(zip([s.name for s in systems], palette(len(systems))))
    fig, axes = plt.subplots(1, len(fields), figsize=(5 * len(fields) + 2, 4.2), squeeze=False)
    for ax, f in zip(axes[0], fields):
        for s in systems:
            fx = s.extra(FN_KEY, f)
            if fx is None:
                continue
            y = s.summaries[measure]
            ax.errorbar([fx.mean], [y.mean], xerr=_err(fx.ci_low, fx.ci_high, fx.mean),
                        yerr=_err(y.ci_low, y.ci_high, y.mean), capsize=3,
                        fmt="D" if s.name == rep.baseline else "o", color=colors[s.name],
                        label=_label(rep, s))
        ax.set_xlabel(FN_FIELDS[f], fontsize=8)
        ax.set_ylabel(measure)
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                       borderaxespad=0, title=f"sorted by {measure}", title_fontsize=7)
    fig.suptitle(f"{rep.suite}: false negatives among mined negatives vs {measure}",
                 fontsize=10)
    fig.tight_layout()
    return fig


def fn_plot(rep: Report, measure: str, path: Path) -> Path:
    return _save(fn_figure(rep, measure), path)


def write_plots(rep: Report, out: Path, prefix: str = "report",
                formats: tuple[str, ...] | list[str] = ("png",)) -> list[str]:
    """Write every applicable plot as ``PREFIX-<plot>.<format>`` for each of ``formats``
    (png, pdf, svg); returns the file names (plot by plot, each in the given format order).
    Explains skips in ``rep.notes``."""
    out = Path(out)
    formats = check_formats(list(formats), "formats")
    figures = [("metrics", lambda: metric_figure(rep))]
    primary = rep.measures[0]
    if len(rep.systems) > 1:
        figures.append(("perquery-diff", lambda: perquery_diff_figure(rep, primary)))
        if baseline_differences(rep, primary):
            figures.append(("forest", lambda: forest_figure(rep, primary)))
    if has_false_negatives(rep):
        figures.append(("fn-share", lambda: fn_figure(rep, primary)))
    else:
        rep.notes.append(fn_skip_note(rep))
    return [p.name for name, make in figures
            for p in save_formats(make(), out / f"{prefix}-{name}", formats)]
