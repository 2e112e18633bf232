"""``negbench leaderboard``: the static page's rows against the records (committed real
SciFact records, 10 samplers x 5 seeds), its marks against the report's comparisons, the
embedded forest plot, provenance; a headless-Chromium screenshot where chromium exists."""

from __future__ import annotations

import base64
import json
import shutil
import statistics
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from negbench.harness.cli import main
from negbench.harness.records import read_records

RUNS = Path(__file__).resolve().parents[1] / "results" / "runs" / "scifact-query-side-h100"


class _Page(HTMLParser):
    """Rows as {system: {measure: (value, sd, class, text)}}, plus titles and images."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict] = {}
        self.titles: dict[str, str] = {}
        self.images: list[str] = []
        self.scripts = 0
        self._row: str | None = None
        self._cell: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-system" in a:
            self._row = a["data-system"]
            self.rows[self._row] = {"kind": a["data-kind"], "baseline": a.get("class") ==
                                    "baseline"}
        elif tag == "td" and self._row and "data-measure" in a:
            self._cell = {"v": float(a["data-v"]), "sd": a["data-sd"], "cls": a.get("class"),
                          "text": ""}
            self.rows[self._row][a["data-measure"]] = self._cell
        elif tag == "td" and self._row and a.get("class") == "sys":
            self.titles[self._row] = a["title"]
        elif tag == "img":
            self.images.append(a["src"])
        elif tag == "script":
            self.scripts += 1

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None
        elif tag == "tr":
            self._row = None


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    assert main(["leaderboard", str(RUNS), "--output", str(out), "--resamples", "200"]) == 0
    parser = _Page()
    parser.feed((out / "index.html").read_text(encoding="utf-8"))
    return out, parser


def test_rows_match_the_records(page):
    _, p = page
    records = read_records(RUNS)
    by_name: dict[str, list[dict]] = {}
    for r in records:
        by_name.setdefault(r["name"], []).append(r)
    assert set(p.rows) == set(by_name)
    for name, recs in by_name.items():
        row = p.rows[name]
        assert row["kind"] == recs[0]["kind"]
        for m in recs[0]["metrics"]:
            values = [r["metrics"][m] for r in recs]
            assert row[m]["v"] == pytest.approx(statistics.mean(values), abs=1e-12)
            if len(values) > 1:
                assert float(row[m]["sd"]) == pytest.approx(statistics.stdev(values), abs=1e-12)
                assert f"{statistics.stdev(values):.4f}" in row[m]["text"]


def test_marks_are_the_reports_seed_aware_verdicts(page):
    from negbench.harness.report import build_report

    _, p = page
    rep = build_report(read_records(RUNS), n_resamples=200)
    assert p.rows[rep.baseline]["baseline"]
    for s in rep.systems:
        for m in rep.measures:
            c = rep.comparison(s.name, rep.baseline, m)
            want = None if c is None or not c.significant else ("up" if c.diff > 0 else "down")
            assert p.rows[s.name][m]["cls"] == want, (s.name, m)


def test_forest_plot_provenance_and_sorting(page):
    out, p = page
    assert len(p.images) == 1 and p.images[0].startswith("data:image/png;base64,")
    assert base64.b64decode(p.images[0].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    prov = json.loads(p.titles["dense"])
    assert prov["seeds"] == sorted(r["seed"] for r in read_records(RUNS) if r["name"] == "dense")
    assert all(Path(f).name.startswith("dense-seed") for f in prov["records"])
    assert p.scripts == 1 and "addEventListener('click'" in (out / "index.html").read_text()


def test_folder_without_records_is_one_line(tmp_path, capsys):
    assert main(["leaderboard", str(tmp_path), "--output", str(tmp_path / "site")]) == 2
    assert "no records/ folder" in capsys.readouterr().err
    assert not (tmp_path / "site" / "index.html").exists()


@pytest.mark.skipif(not (shutil.which("chromium") or shutil.which("chromium-browser")),
                    reason="no chromium binary (Debian's chromium package) on this machine")
def test_headless_chromium_screenshot(page, tmp_path):
    out, _ = page
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    shot = tmp_path / "leaderboard.png"
    subprocess.run([exe, "--headless", "--disable-gpu", "--no-sandbox", "--window-size=1300,2000",
                    f"--screenshot={shot}", (out / "index.html").as_uri()], check=True,
                   capture_output=True, timeout=120)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
