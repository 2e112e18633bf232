"""``negbench leaderboard``: the static page's rows against the records (committed real
SciFact records, 10 static and 7 dynamic samplers x 5 seeds), its marks against the
report's comparisons, the embedded forest plot, provenance; a headless-Chromium screenshot
where chromium exists."""

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
from negbench.harness.evaluation.records import read_records

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
    from negbench.harness.reporting.report import build_report

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


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (Debian's "
                                    "chromium package) on this machine")
TWO_SUITES = [RUNS, RUNS.parent / "nfcorpus-query-side-h100"]


class _Rendered(HTMLParser):
    """The tables of a DOM as Chromium rendered it: per section (suite), the header texts and
    each body row's system and visible cell texts, in DOM order."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[dict] = []
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._in_head = self._skip = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.sections.append({"suite": a["data-suite"], "head": [], "rows": [],
                                  "dirs": {}})
        elif tag == "thead":
            self._in_head = True
        elif tag == "th":
            self._cell = []
            if "data-dir" in a:
                self.sections[-1]["dirs"][len(self.sections[-1]["head"])] = a["data-dir"]
        elif tag == "tr" and "data-system" in a:
            self._row = [a["data-system"]]
        elif tag == "td" and self._row is not None:
            self._cell = []
        elif tag == "details":
            self._skip = True

    def handle_endtag(self, tag):
        if tag == "details":
            self._skip = False
        elif tag == "thead":
            self._in_head = False
        elif tag == "th" and self._cell is not None:
            self.sections[-1]["head"].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "td" and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.sections[-1]["rows"].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None and not self._skip:
            self._cell.append(data)


def _chromium(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", *args],
                          check=True, capture_output=True, text=True, timeout=180)


def _dom(page: Path) -> list[dict]:
    parser = _Rendered()
    parser.feed(_chromium("--dump-dom", page.as_uri()).stdout)
    return parser.sections


@pytest.fixture(scope="module")
def two_suite_page(tmp_path_factory):
    out = tmp_path_factory.mktemp("site2")
    assert main(["leaderboard", *map(str, TWO_SUITES), "--output", str(out),
                 "--resamples", "200"]) == 0
    return out / "index.html"


def _expected(folder: Path) -> dict[str, list[str]]:
    """Each system's visible cells computed from the records alone: seeds, then per measure
    mean (± sd over seeds when more than one)."""
    by_name: dict[str, list[dict]] = {}
    for r in read_records(folder):
        by_name.setdefault(r["name"], []).append(r)
    out = {}
    for name, recs in by_name.items():
        cells = [",".join(str(s) for s in sorted(r["seed"] for r in recs if "seed" in r))
                 or "-"]
        for m in recs[0]["metrics"]:
            vals = [r["metrics"][m] for r in recs]
            cells.append(f"{statistics.mean(vals):.4f}"
                         + (f" ± {statistics.stdev(vals):.4f}" if len(vals) > 1 else ""))
        out[name] = cells
    return out


@needs_chromium
def test_headless_chromium_renders_the_records(two_suite_page):
    sections = _dom(two_suite_page)
    assert [s["suite"] for s in sections] == ["beir/nfcorpus", "beir/scifact"]
    for section, folder in zip(sections, TWO_SUITES[::-1]):
        want = _expected(folder)
        measures = list(read_records(folder)[0]["metrics"])
        assert section["head"] == ["system", "seeds", *measures]
        assert section["dirs"] == {2: "desc"}  # initially sorted by the first measure
        assert {row[0] for row in section["rows"]} == set(want)
        for system, _label, seeds, *cells in section["rows"]:
            assert seeds == want[system][0], system
            # the cell text is the mean ± sd, plus a significance mark where there is one
            for got, expect in zip(cells, want[system][1:]):
                assert got.rstrip(" ▲▼") == expect, (section["suite"], system, got)
        firsts = [float(row[3].split()[0]) for row in section["rows"]]
        assert firsts == sorted(firsts, reverse=True)


@needs_chromium
def test_headless_chromium_sorts_every_table(two_suite_page, tmp_path):
    """Clicking a header sorts its own table (each table on the page, not only the first):
    numbers best first, a second click reverses, text A-Z."""
    html_text = two_suite_page.read_text(encoding="utf-8")
    clicks = """<script>
    document.querySelectorAll('table.lb').forEach(t => {
      const h = t.tHead.rows[0].cells; h[4].click(); h[5].click(); h[5].click(); });
    </script></body>"""
    page = tmp_path / "clicked.html"
    page.write_text(html_text.replace("</body>", clicks), encoding="utf-8")
    sorted_asc = _dom(page)
    by_system = tmp_path / "by-system.html"
    by_system.write_text(html_text.replace("</body>", clicks.replace(
        "h[4].click(); h[5].click(); h[5].click();", "h[0].click();")), encoding="utf-8")
    alphabetical = _dom(by_system)
    for section, alpha in zip(sorted_asc, alphabetical):
        assert section["dirs"] == {5: "asc"}
        col = [float(row[6].split()[0]) for row in section["rows"]]
        assert col == sorted(col)
        assert section["rows"] != sorted(section["rows"], key=lambda r: -float(r[3].split()[0]))
        labels = [row[1].lower() for row in alpha["rows"]]
        assert labels == sorted(labels) and alpha["dirs"] == {0: "asc"}


@needs_chromium
def test_headless_chromium_screenshot(two_suite_page, tmp_path):
    import matplotlib.image

    shot = tmp_path / "leaderboard.png"
    _chromium("--hide-scrollbars", "--window-size=1150,1500", f"--screenshot={shot}",
              two_suite_page.as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000
    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (1500, 1150)
    ink = (pixels[..., :3].mean(axis=2) < 0.6).mean()  # text, borders, the forest plot
    assert 0.01 < ink < 0.5, ink
    colours = {tuple(int(c * 255) for c in px[:3])
               for px in pixels[::7, ::7].reshape(-1, pixels.shape[2])}
    assert len(colours) > 50  # not a blank or single-colour page
