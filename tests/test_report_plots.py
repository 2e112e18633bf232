"""Plots readers can read (harness/reporting/plots.py), checked on the matplotlib figures built
from the committed real SciFact records (10 static and 7 dynamic samplers x 5 seeds, 2
zero-shot systems): sorted by score, the baseline marked, one distinct colour per line, no
all-zero panel, labels that do not overlap."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from matplotlib.colors import to_rgba

from negbench.harness.evaluation.records import read_records
from negbench.harness.reporting import plots as rp
from negbench.harness.reporting.report import build_report

RUNS = Path(__file__).resolve().parents[1] / "results" / "runs" / "scifact-query-side-h100"


@pytest.fixture(scope="module")
def records():
    return read_records(RUNS)


@pytest.fixture(scope="module")
def rep(records):
    return build_report(copy.deepcopy(records), n_resamples=200)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def _boxes_overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_metric_panels_sorted_by_the_plotted_value_with_the_baseline_marked(rep):
    fig = rp.metric_figure(rep)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == len(rep.measures)
    base_label = f"{rep.system(rep.baseline).label} (baseline)"
    for ax, m in zip(axes, rep.measures):
        # the plotted means (x) by row (y), read back from the errorbar containers
        points = {}
        for c in ax.containers:
            (x,), (y,) = c.lines[0].get_data()
            points[round(y)] = (x, c.lines[0].get_marker())
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert len(points) == len(labels) == len(rep.systems)
        xs = [points[i][0] for i in range(len(labels))]
        assert xs == sorted(xs), (m, labels)  # bottom to top: worst to best
        want = {(s.label if s.name != rep.baseline else base_label): s.summaries[m].mean
                for s in rep.systems}
        assert [want[lab] for lab in labels] == pytest.approx(xs)
        i = labels.index(base_label)
        assert points[i][1] == "D" and all(p[1] == "o" for j, p in points.items() if j != i)
        assert ax.get_yticklabels()[i].get_fontweight() == "bold"
        assert any(line.get_linestyle() == ":" and line.get_xdata()[0] == pytest.approx(
            rep.system(rep.baseline).summaries[m].mean) for line in ax.lines)


def test_metric_labels_do_not_overlap(rep):
    fig = rp.metric_figure(rep)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    axes = [ax for ax in fig.axes if ax.get_visible()]
    for ax in axes:
        boxes = [t.get_window_extent(renderer) for t in ax.get_yticklabels()]
        assert not any(_boxes_overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
        xboxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()]
        assert not any(_boxes_overlap(a, b) for i, a in enumerate(xboxes)
                       for b in xboxes[i + 1:])
    # one panel's tick labels stay clear of its neighbours' plotting areas
    for ax in axes:
        for other in axes:
            if other is not ax:
                for t in ax.get_yticklabels():
                    assert not _boxes_overlap(t.get_window_extent(renderer),
                                              other.get_window_extent(renderer))


def test_perquery_lines_have_distinct_colours_sorted_legend_outside(rep):
    m = rep.measures[0]
    fig = rp.perquery_diff_figure(rep, m)
    ax = fig.axes[0]
    curves = [line for line in ax.lines if not line.get_label().startswith("baseline")]
    assert len(curves) == len(rep.systems) - 1
    colours = [to_rgba(line.get_color()) for line in curves]
    assert len(set(colours)) == len(colours)
    base_lines = [line for line in ax.lines if line.get_label().startswith("baseline")]
    assert len(base_lines) == 1 and set(base_lines[0].get_ydata()) == {0}
    assert to_rgba(base_lines[0].get_color()) not in colours
    means = [float(line.get_label().rsplit("mean ", 1)[1].rstrip(")")) for line in curves]
    assert means == sorted(means, reverse=True)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()][:len(curves)] == [
        line.get_label() for line in curves]
    assert not _boxes_overlap(legend.get_window_extent(renderer), ax.get_window_extent(renderer))


@pytest.mark.parametrize("n", [1, 10, 11, 20, 21, 40])
def test_palette_never_repeats(n):
    colours = [to_rgba(c) for c in rp.palette(n)]
    assert len(colours) == n and len(set(colours)) == n


def test_forest_sorted_with_the_baseline_line(rep):
    m = rep.measures[0]
    fig = rp.forest_figure(rep, m)
    ax = fig.axes[0]
    xs = [c.lines[0].get_xdata()[0] for c in ax.containers]
    assert xs == sorted(xs) and len(xs) == len(rep.systems) - 1
    assert any(set(line.get_xdata()) == {0} for line in ax.lines)
    assert rep.baseline in ax.get_title()


def test_all_zero_fn_panel_is_skipped_and_said(records, tmp_path):
    # the committed records carry judged_share = 0.0 for every seed, ce share None
    trained = [r for r in records if r["kind"] == "trained"]
    shares = [(r.get("false_negatives") or {}).get("judged_share") for r in trained]
    assert set(shares) == {0.0, None} and shares.count(0.0) >= 40  # in-batch mines none
    rep = build_report(copy.deepcopy(records), n_resamples=50)
    assert rp.fn_fields(rep) == [] and not rp.has_false_negatives(rep)
    names = rp.write_plots(rep, tmp_path)
    assert "report-fn-share.png" not in names and not (tmp_path / "report-fn-share.png").exists()
    note = [n for n in rep.notes if n.startswith("FN-share plot skipped")]
    assert len(note) == 1 and "`judged_share` of `false_negatives` is 0" in note[0]


def test_only_the_non_zero_fn_field_gets_a_panel(records, tmp_path):
    recs = copy.deepcopy(records)
    for i, r in enumerate(recs):
        if r["kind"] == "trained" and r.get("false_negatives"):
            r["false_negatives"]["judged_share"] = 0.001 * (i % 7)
    rep = build_report(recs, n_resamples=50)
    assert rp.fn_fields(rep) == ["judged_share"]  # ce_above_positive_share is None
    fig = rp.fn_figure(rep, rep.measures[0])
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    colours = [to_rgba(c.lines[0].get_color()) for c in ax.containers]
    assert len(colours) == sum(s.kind == "trained" and s.extra("false_negatives",
                                                               "judged_share") is not None
                               for s in rep.systems) >= 9
    assert len(set(colours)) == len(colours)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    scores = {s.label if s.name != rep.baseline else f"{s.label} (baseline)":
              s.summaries[rep.measures[0]].mean for s in rep.systems}
    assert [scores[lab] for lab in labels] == sorted(scores[lab] for lab in labels)[::-1]
    assert "report-fn-share.png" in rp.write_plots(rep, tmp_path)
    assert not any(n.startswith("FN-share plot skipped") for n in rep.notes)


def test_no_fn_shares_at_all_says_so(records):
    recs = copy.deepcopy(records)
    for r in recs:
        r.pop("false_negatives", None)
    rep = build_report(recs, n_resamples=50)
    assert rp.fn_skip_note(rep).startswith("FN-share plot skipped: no trained record carries")
