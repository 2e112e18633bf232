"""Plots readers can read (harness/reporting/plots.py), checked on the matplotlib figures built
from the committed real SciFact records (10 static and 7 dynamic samplers x 5 seeds, 2
zero-shot systems): sorted by score, the baseline marked, one distinct colour per point, no
all-zero panel, labels that do not overlap, per-query differences as one panel per system in
one query order, intervals labelled by what they are, and every plot in each format asked
for (PNG, PDF, SVG)."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgba
from matplotlib.patches import StepPatch

from negbench.harness.errors import NegbenchError
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


def _panels(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def test_perquery_small_multiples_one_panel_per_system_one_query_order(rep):
    m = rep.measures[0]
    fig = rp.perquery_diff_figure(rep, m)
    data = rp.perquery_diffs(rep, m)
    base = rep.system(rep.baseline)
    panels = _panels(fig)
    assert len(panels) == len(data.systems) == len(rep.systems) - 1 >= 11
    # panels by mean difference, best first, each titled by its system
    means = [float(d.mean()) for d in data.diffs]
    assert means == sorted(means, reverse=True)
    for ax, s in zip(panels, data.systems):
        assert ax.get_title().startswith(f"{s.label}: mean ")
        assert ax.get_shared_x_axes().joined(panels[0], ax)
        assert ax.get_shared_y_axes().joined(panels[0], ax)
    # every panel plots its system's differences in the one query order data.qids, computed
    # here from the per-query scores: better bars blue (>= 0), worse red (<= 0), ties grey
    colours = set()
    for ax, s in zip(panels, data.systems):
        steps = [p for p in ax.patches if isinstance(p, StepPatch)]
        assert [p.get_label() for p in steps] == ["better", "worse"]
        better, worse = (p.get_data().values for p in steps)
        assert (better >= 0).all() and (worse <= 0).all()
        want = [s.per_query[m][q] - base.per_query[m][q] for q in data.qids]
        assert list(better + worse) == pytest.approx(want, abs=1e-12)
        assert to_rgba(steps[0].get_facecolor()) == to_rgba(rp.BETTER_COLOR)
        assert to_rgba(steps[1].get_facecolor()) == to_rgba(rp.WORSE_COLOR)
        (ties,) = [c for c in ax.collections if c.get_label() == "tied"]
        n_tied = int(((better + worse) == 0).sum())
        assert ax.get_title().endswith(f"{int((better > 0).sum())} better, "
                                       f"{int((worse < 0).sum())} worse, {n_tied} tied")
        assert sum(len(p.vertices) > 0 for p in ties.get_paths()) >= (1 if n_tied else 0)
        colours |= {to_rgba(steps[0].get_facecolor()), to_rgba(steps[1].get_facecolor()),
                    to_rgba(ties.get_facecolor()[0])}
    assert len(colours) == 3  # better, worse and tied: three colours, the same in every panel
    # the order: mean difference over all systems, largest first, stated on the figure
    mean_over = np.mean(data.diffs, axis=0)
    assert list(mean_over) == sorted(mean_over, reverse=True)
    assert sorted(data.qids) == sorted(base.per_query[m])
    assert "in the same order in every panel: by their mean difference" in fig.get_suptitle()


def test_perquery_panels_readable_with_few_systems(records):
    keep = {"in-batch", "dense", "BM25"}
    rep = build_report(copy.deepcopy([r for r in records if r["name"] in keep]),
                       n_resamples=50)
    fig = rp.perquery_diff_figure(rep, rep.measures[0])
    assert len(_panels(fig)) == 2
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == [
        "better than in-batch", "worse than in-batch", "tied (grey on the zero line)"]


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


def _one_seed(records, keep_all=("in-batch",), names=("in-batch", "dense", "random", "BM25")):
    """The records of ``names``, trained systems other than ``keep_all`` cut to seed 13."""
    return copy.deepcopy([r for r in records if r["name"] in names and (
        r["kind"] == "zero-shot" or r["name"] in keep_all or r["seed"] == 13)])


def _texts(fig) -> list[str]:
    from matplotlib.text import Text

    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def test_one_seed_everywhere_is_never_called_seed_aware(records):
    rep = build_report(_one_seed(records, keep_all=()), n_resamples=50)
    m = rep.measures[0]
    rows = rp.baseline_differences(rep, m)
    assert {r.interval for r in rows} == {"none"}  # what the tables compute: query-level t
    fig = rp.forest_figure(rep, m)
    assert not any("seed-aware" in t for t in _texts(fig))
    assert "query-level t over 1 seed" in fig.axes[0].get_title()
    ax = fig.axes[0]
    assert all(to_rgba(c.lines[0].get_markerfacecolor()) == to_rgba("white")
               for c in ax.containers)  # hollow: not a seed-aware interval
    metric = rp.metric_figure(rep)
    assert not any("seed-aware" in t for t in _texts(metric))
    assert "no interval" in metric.get_suptitle()
    labels = [t.get_text() for t in _panels(metric)[0].get_yticklabels()]
    assert "dense (1 seed)" in labels and "in-batch (1 seed) (baseline)" not in labels
    assert "in-batch (baseline) (1 seed)" in labels and "BM25 (zero-shot)" in labels


def test_one_seed_rows_say_what_their_interval_is(records):
    rep = build_report(_one_seed(records, keep_all=("in-batch", "dense")), n_resamples=50)
    m = rep.measures[0]
    rows = {r.label: r for r in rp.baseline_differences(rep, m)}
    assert rows["dense"].interval == "estimated" and rows["random"].interval == "borrowed"
    assert rp.interval_label(rows["dense"]) == "seed-aware"
    assert "seed-aware" not in rp.interval_label(rows["random"])
    fig = rp.forest_figure(rep, m)
    ax = fig.axes[0]
    # the note right of each row (annotated bottom to top, as the rows)
    by_row = dict(zip([t.get_text() for t in ax.get_yticklabels()],
                      [t.get_text() for t in ax.texts if t.get_text().startswith("MDE")],
                      strict=True))
    assert by_row["random"].endswith(rp.interval_label(rows["random"]))
    assert "seed-aware" not in by_row["random"] and ";" not in by_row["dense"]
    assert "seed-aware unless the row says otherwise" in ax.get_title()
    metric = rp.metric_figure(rep)
    ax0 = _panels(metric)[0]
    labels = [t.get_text() for t in ax0.get_yticklabels()]
    i = labels.index("random (1 seed)")
    (c,) = [c for c in ax0.containers if round(c.lines[0].get_ydata()[0]) == i]
    assert not c.has_xerr and to_rgba(c.lines[0].get_markerfacecolor()) == to_rgba("white")
    assert "hollow = 1 seed: no interval" in metric.get_suptitle()


def test_every_plot_in_every_format_and_valid(records, tmp_path):
    import xml.etree.ElementTree as ET

    rep = build_report(_one_seed(records, keep_all=("in-batch", "dense")), n_resamples=50)
    names = rp.write_plots(rep, tmp_path, "rep", ("png", "pdf", "svg"))
    assert names == [f"rep-{p}.{f}" for p in ("metrics", "perquery-diff", "forest")
                     for f in ("png", "pdf", "svg")]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    for name in names:
        data = (tmp_path / name).read_bytes()
        if name.endswith(".png"):
            assert data.startswith(b"\x89PNG\r\n\x1a\n")
        elif name.endswith(".pdf"):
            assert data.startswith(b"%PDF-") and b"%%EOF" in data[-64:]
            assert b"CreationDate" not in data  # no date: the same report, the same bytes
        else:
            root = ET.fromstring(data)
            assert root.tag == "{http://www.w3.org/2000/svg}svg"


@pytest.mark.parametrize("formats, message", [
    (["png", "jpg"], "unknown plot format 'jpg'; choose from png, pdf, svg"),
    (["pdf", "PDF"], "name each plot format once"),
    ([], "name each plot format once"),
])
def test_bad_plot_formats_are_refused(formats, message):
    with pytest.raises(NegbenchError, match=message):
        rp.check_formats(formats)


ZERO_SHOT = Path(__file__).resolve().parents[1] / "results" / "runs" / "nfcorpus-zeroshot"


def test_report_cli_writes_each_plot_in_each_format(tmp_path, capsys):
    from negbench.harness import cli

    out = tmp_path / "rep"
    assert cli.main(["report", str(ZERO_SHOT), "--output", str(out), "--resamples", "50",
                     "--plot-formats", "svg, PDF"]) == 0
    plots = [f"report-{p}.{f}" for p in ("metrics", "perquery-diff", "forest")
             for f in ("svg", "pdf")]
    wrote = capsys.readouterr().err.strip().splitlines()[-1]
    assert wrote == ("wrote report.md, report.tex, report.csv, report-comparisons.csv, "
                     f"report.json, {', '.join(plots)} to {out}")
    assert all((out / p).stat().st_size > 0 for p in plots)
    assert not list(out.glob("*.png"))
    md = (out / "report.md").read_text()
    assert "![report-forest.svg](report-forest.svg) [PDF](report-forest.pdf)" in md


def test_report_cli_refuses_a_bad_format_before_writing(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "rep"
    proc = subprocess.run([sys.executable, "-m", "negbench.harness.cli", "report",
                           str(ZERO_SHOT), "--output", str(out), "--plot-formats", "png,jpeg"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == ("negbench: error: --plot-formats: unknown plot format 'jpeg'; "
                           "choose from png, pdf, svg\n")
    assert not out.exists()
