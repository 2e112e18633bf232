"""PNG plots of a ``Report`` (matplotlib, Agg backend, no display needed)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from negbench.harness.report import Report

FN_KEY = "false_negatives"
FN_FIELDS = {"judged_share": "judged false-negative share",
             "ce_above_positive_share": "share of negatives the cross-encoder scores "
                                        "above the positive"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    """Lay out, write at 120 dpi and close ``fig``; returns ``path``."""
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    _pyplot().close(fig)
    return path


def _err(lo: float, hi: float, mean: float) -> list[list[float]] | None:
    if math.isnan(lo):
        return None
    return [[mean - lo], [hi - mean]]


def metric_plot(rep: Report, path: Path) -> Path:
    """One panel per measure: each system's mean with its 95% seed interval and seed points."""
    plt = _pyplot()
    n = len(rep.measures)
    fig, axes = plt.subplots(1, n, figsize=(3.2 * n + 1, 3.6), squeeze=False)
    labels = [s.label for s in rep.systems]
    for ax, m in zip(axes[0], rep.measures):
        for i, s in enumerate(rep.systems):
            x = s.summaries[m]
            color = "tab:gray" if s.kind == "zero-shot" else "tab:blue"
            ax.errorbar([i], [x.mean], yerr=_err(x.ci_low, x.ci_high, x.mean), fmt="o",
                        color=color, capsize=4)
            seeds = [r["metrics"][m] for r in s.records]
            if len(seeds) > 1:
                ax.scatter([i] * len(seeds), seeds, s=10, color="black", alpha=0.5, zorder=3)
        ax.set_title(m)
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"{rep.suite} ({rep.split}): mean over seeds, 95% interval, seeds as dots",
                 fontsize=9)
    return _save(fig, path)


def perquery_diff_plot(rep: Report, measure: str, path: Path) -> Path:
    """Sorted per-query differences (system - baseline) of ``measure``, one curve per system."""
    plt = _pyplot()
    base = rep.system(rep.baseline)
    fig, ax = plt.subplots(figsize=(7, 4))
    for s in rep.systems:
        if s.name == rep.baseline:
            continue
        qids = sorted(base.per_query[measure])
        d = np.array([s.per_query[measure][q] - base.per_query[measure][q] for q in qids])
        d = np.sort(d)[::-1]
        ax.plot(np.arange(1, d.size + 1), d, label=f"{s.label} (mean {d.mean():+.4f})",
                linestyle="--" if s.kind == "zero-shot" else "-")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xlabel("queries, sorted by difference")
    ax.set_ylabel(f"{measure}: system - {base.label}")
    ax.set_title(f"Per-query {measure} difference against {base.label}", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _save(fig, path)


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


def forest_plot(rep: Report, measure: str, path: Path) -> Path:
    """Forest plot: each system's difference to the baseline on ``measure`` with its seed-aware
    95% interval, sorted; the baseline is the vertical line at 0; MDE and verdict per row."""
    plt = _pyplot()
    rows = baseline_differences(rep, measure)
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(rows) + 1.6))
    for i, (label, d, lo, hi, sig, mde) in enumerate(rows):
        color = "tab:red" if sig else "tab:blue"
        ax.errorbar([d], [i], xerr=[[d - lo], [hi - d]], fmt="o", color=color, capsize=3)
        ax.annotate(f"MDE {mde:.3f}{' *' if sig else ''}", (hi, i), textcoords="offset points",
                    xytext=(5, -3), fontsize=7)
    ax.axvline(0, color="black", linewidth=1)
    ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=8)
    ax.set_ylim(-0.8, len(rows) - 0.2)
    ax.set_xlabel(f"{measure}: system - {rep.system(rep.baseline).label} (baseline = 0)")
    ax.set_title(f"{rep.suite}: difference to the baseline `{rep.baseline}`\n"
                 "seed-aware 95% interval; red * = significant after correction", fontsize=9)
    ax.annotate("baseline", (0, len(rows) - 0.5), xytext=(3, 0), textcoords="offset points",
                fontsize=7)
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def has_false_negatives(rep: Report) -> bool:
    trained = [s for s in rep.systems if s.kind == "trained"]
    return bool(trained) and any(s.extra(FN_KEY, f) for s in trained for f in FN_FIELDS)


def fn_plot(rep: Report, measure: str, path: Path) -> Path:
    """False-negative share of the mined negatives vs ``measure``, one point per sampler."""
    plt = _pyplot()
    fields = [f for f in FN_FIELDS if any(s.extra(FN_KEY, f) for s in rep.systems
                                          if s.kind == "trained")]
    fig, axes = plt.subplots(1, len(fields), figsize=(5 * len(fields), 4), squeeze=False)
    for ax, f in zip(axes[0], fields):
        for s in rep.systems:
            fx = s.extra(FN_KEY, f) if s.kind == "trained" else None
            if fx is None:
                continue
            y = s.summaries[measure]
            ax.errorbar([fx.mean], [y.mean], xerr=_err(fx.ci_low, fx.ci_high, fx.mean),
                        yerr=_err(y.ci_low, y.ci_high, y.mean), fmt="o", capsize=3)
            ax.annotate(s.name, (fx.mean, y.mean), textcoords="offset points",
                        xytext=(5, 5), fontsize=8)
        ax.set_xlabel(FN_FIELDS[f])
        ax.set_ylabel(measure)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{rep.suite}: false negatives among mined negatives vs {measure}",
                 fontsize=10)
    return _save(fig, path)


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
        rep.notes.append("FN-share plot skipped: no trained record carries numeric "
                         f"`{FN_KEY}` shares ({', '.join(FN_FIELDS)}).")
    return names
