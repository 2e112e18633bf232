"""PNG plots of a ``Report`` (matplotlib, Agg backend, no display needed).

Made to be read: systems sorted by their score, the baseline marked in every plot, one
distinct colour per line or point (a palette with as many colours as systems), labels laid
out horizontally so they cannot overlap, and no panel whose values are all zero (the
false-negative panel is skipped, with a note in the report, when every share is 0 or absent).
The ``*_figure`` functions return the matplotlib figure (for tests); the ``*_plot`` ones save
it."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from negbench.harness.reporting.report import Report, System

FN_KEY = "false_negatives"
FN_FIELDS = {"judged_share": "judged false-negative share",
             "ce_above_positive_share": "share of negatives the cross-encoder scores "
                                        "above the positive"}
BASELINE_COLOR = "black"
ZERO_SHOT_COLOR = "tab:gray"
TRAINED_COLOR = "tab:blue"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    """Write at 120 dpi (layout already done) and close ``fig``; returns ``path``."""
    fig.savefig(path, dpi=120, bbox_inches="tight")
    _pyplot().close(fig)
    return path


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
    base = _label(rep, rep.system(rep.baseline))
    for t in ax.get_yticklabels():
        if t.get_text() == base:
            t.set_fontweight("bold")


def sorted_systems(rep: Report, measure: str) -> list[System]:
    """Systems by their mean on ``measure``, best first (name breaks ties)."""
    return sorted(rep.systems, key=lambda s: (-s.summaries[measure].mean, s.label))


def metric_figure(rep: Report):
    """One panel per measure: systems sorted by that measure (best on top), each mean with its
    95% seed interval and the seeds as dots; the baseline is bold, drawn as a black diamond and
    as a dotted vertical line."""
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
            ax.errorbar([x.mean], [i], xerr=_err(x.ci_low, x.ci_high, x.mean),
                        fmt="D" if is_base else "o", color=color, capsize=3, zorder=2)
            seeds = [r["metrics"][m] for r in s.records]
            if len(seeds) > 1:
                ax.scatter(seeds, [i] * len(seeds), s=9, color="black", alpha=0.4, zorder=3)
            if is_base:
                ax.axvline(x.mean, color=BASELINE_COLOR, linestyle=":", linewidth=0.8)
        ax.set_yticks(range(len(ordered)), [_label(rep, s) for s in ordered], fontsize=8)
        _bold_baseline(ax, rep)
        ax.set_ylim(-0.6, len(ordered) - 0.4)
        ax.set_title(f"{m} (sorted, best on top)", fontsize=9)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"{rep.suite} ({rep.split}): mean over seeds, 95% interval, seeds as dots; "
                 "grey = zero-shot, black diamond = baseline", fontsize=9)
    fig.tight_layout()
    return fig


def metric_plot(rep: Report, path: Path) -> Path:
    return _save(metric_figure(rep), path)


def perquery_diff_figure(rep: Report, measure: str):
    """Sorted per-query differences (system - baseline) of ``measure``, one curve per system
    in its own colour, the legend ordered by the mean difference and kept outside the axes;
    the baseline is the black line at 0."""
    plt = _pyplot()
    base = rep.system(rep.baseline)
    qids = sorted(base.per_query[measure])
    curves = []
    for s in rep.systems:
        if s.name == rep.baseline:
            continue
        d = np.array([s.per_query[measure][q] - base.per_query[measure][q] for q in qids])
        curves.append((s, np.sort(d)[::-1]))
    curves.sort(key=lambda c: (-float(c[1].mean()), c[0].label))
    fig, ax = plt.subplots(figsize=(8.5, 4.2))
    for (s, d), color in zip(curves, palette(len(curves))):
        ax.plot(np.arange(1, d.size + 1), d, label=f"{s.label} (mean {d.mean():+.4f})",
                color=color, linestyle="--" if s.kind == "zero-shot" else "-", linewidth=1.2)
    ax.axhline(0, color=BASELINE_COLOR, linewidth=1.2, label=f"baseline {base.label} (= 0)")
    ax.set_xlabel("queries, sorted by difference")
    ax.set_ylabel(f"{measure}: system - {base.label}")
    ax.set_title(f"{rep.suite}: per-query {measure} difference against the baseline "
                 f"{base.label}", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0,
              title="sorted by mean difference", title_fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def perquery_diff_plot(rep: Report, measure: str, path: Path) -> Path:
    return _save(perquery_diff_figure(rep, measure), path)


def baseline_differences(rep: Report, measure: str) -> list[tuple[str, float, float, float,
                                                                    bool, float]]:
    """(label, diff, ci_low, ci_high, significant, mde) of every system against the baseline on
    ``measure`` (comparisons in either orientation), sorted by the difference."""
    out = []
    for c in rep.comparisons:
        if c.measure != measure or rep.baseline not in (c.a, c.b):
            continue
        other = c.a if c.b == rep.baseline else c.b
        sign = 1.0 if c.b == rep.baseline else -1.0
        lo, hi = sorted((sign * c.ci_low, sign * c.ci_high))
        out.append((rep.system(other).label, sign * c.diff, lo, hi, c.significant, c.mde))
    return sorted(out, key=lambda row: row[1])


def forest_figure(rep: Report, measure: str):
    """Forest plot: each system's difference to the baseline on ``measure`` with its seed-aware
    95% interval, sorted (best on top); the baseline is the vertical line at 0; MDE and verdict
    per row."""
    plt = _pyplot()
    rows = baseline_differences(rep, measure)
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(rows) + 1.6))
    for i, (_label_, d, lo, hi, sig, mde) in enumerate(rows):
        color = "tab:red" if sig else "tab:blue"
        ax.errorbar([d], [i], xerr=[[d - lo], [hi - d]], fmt="o", color=color, capsize=3)
        ax.annotate(f"MDE {mde:.3f}{' *' if sig else ''}", (hi, i), textcoords="offset points",
                    xytext=(5, -3), fontsize=7)
    base = rep.system(rep.baseline).label
    ax.axvline(0, color=BASELINE_COLOR, linewidth=1)
    ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=8)
    ax.set_ylim(-0.8, len(rows) - 0.2)
    ax.set_xlabel(f"{measure}: system - {base} (baseline = 0)")
    ax.set_title(f"{rep.suite}: difference to the baseline `{rep.baseline}`\n"
                 "seed-aware 95% interval; red * = significant after correction", fontsize=9)
    ax.annotate(f"baseline {base}", (0, len(rows) - 0.5), xytext=(3, 0),
                textcoords="offset points", fontsize=7)
    lo, hi = ax.get_xlim()
    ax.set_xlim(lo, hi + 0.22 * (hi - lo))  # room for the MDE labels right of each interval
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


def write_plots(rep: Report, out: Path, prefix: str = "report") -> list[str]:
    """Write every applicable plot; returns their file names. Explains skips in ``rep.notes``."""
    out = Path(out)
    names = [metric_plot(rep, out / f"{prefix}-metrics.png").name]
    primary = rep.measures[0]
    if len(rep.systems) > 1:
        names.append(perquery_diff_plot(rep, primary, out / f"{prefix}-perquery-diff.png").name)
        if baseline_differences(rep, primary):
            names.append(forest_plot(rep, primary, out / f"{prefix}-forest.png").name)
    if has_false_negatives(rep):
        names.append(fn_plot(rep, primary, out / f"{prefix}-fn-share.png").name)
    else:
        rep.notes.append(fn_skip_note(rep))
    return names
