"""A static HTML leaderboard: per suite and track, systems x measures (mean ± sd over seeds)
with the seed-aware significance marks of ``negbench report``, the forest plot embedded,
provenance on hover and click, and sortable columns (a few lines of inline JS)."""

from __future__ import annotations

import base64
import html
import json
import tempfile
from pathlib import Path

from negbench.harness.data.crossfit import spec_of
from negbench.harness.errors import NegbenchError
from negbench.harness.evaluation.records import read_records
from negbench.harness.reporting import comparability

_JS = """
document.querySelectorAll('table.lb').forEach(table => {
  const heads = [...table.tHead.rows[0].cells];
  heads.forEach((th, i) => th.addEventListener('click', () => {
    // numbers sort best (largest) first on the first click, text A-Z; a second click reverses
    const first = th.dataset.type === 'text' ? 'asc' : 'desc';
    const dir = th.dataset.dir ? (th.dataset.dir === 'asc' ? 'desc' : 'asc') : first;
    heads.forEach(h => { delete h.dataset.dir; h.removeAttribute('aria-sort'); });
    th.dataset.dir = dir;
    th.setAttribute('aria-sort', dir === 'asc' ? 'ascending' : 'descending');
    const key = r => { const v = r.cells[i].dataset.v, n = parseFloat(v);
                       return isNaN(n) ? v.toLowerCase() : n; };
    const body = table.tBodies[0], sign = dir === 'asc' ? 1 : -1;
    [...body.rows].sort((a, b) => (key(a) > key(b) ? 1 : key(a) < key(b) ? -1 : 0) * sign)
      .forEach(r => body.appendChild(r));
  }));
});
"""
_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table.lb{border-collapse:collapse;margin:1em 0;font-size:14px}
table.lb th,table.lb td{border:1px solid #ccc;padding:4px 8px;text-align:right;
white-space:nowrap;vertical-align:top}
table.lb th{cursor:pointer;background:#f3f3f3;user-select:none}
table.lb th::after{content:" \\2195";color:#aaa}
table.lb th[data-dir=desc]::after{content:" \\2193";color:#222}
table.lb th[data-dir=asc]::after{content:" \\2191";color:#222}
table.lb td.sys,table.lb th[data-type=text]{text-align:left} td.sys details{display:inline-block;margin-left:.6em}
td.sys summary{font-size:11px;color:#777;cursor:pointer}
tr.baseline{background:#fff8dc} details pre{text-align:left;font-size:11px;max-width:600px;
white-space:pre-wrap} .up{color:#070} .down{color:#b00}
figure{margin:0} figure img{max-width:min(100%,720px)}
ul.notes{font-size:13px;color:#444;max-width:1000px}
"""


def device_label(rec: dict) -> str:
    """Where a record ran: ``cpu`` (whatever its thread count), else the accelerator's name
    (e.g. ``NVIDIA H100 80GB HBM3``); ``-`` when the record names no device. A precision other
    than fp32 follows (``cpu bf16``): fp32 and bf16 runs are two sections."""
    dev = rec.get("device") or {}
    kind = str(dev.get("device") or "-")
    label = kind if kind == "cpu" or not dev.get("name") else str(dev["name"])
    precision = comparability.precision(rec)
    return label if precision == "fp32" else f"{label} {precision}"


def _data(rec: dict) -> str:
    """The data fingerprint, and for cross-fitted records their fold spec: cross-fitted and
    official-split records never share a section."""
    data = str(rec.get("data_fingerprint") or "none")[:12]
    spec = spec_of(rec)
    return data if spec is None else (f"{data}, cross-fitted {spec['folds']} folds (fold seed "
                                      f"{spec['seed']}, {str(spec['assignment_sha256'])[:12]})")


def group_key(rec: dict) -> tuple[str, ...]:
    """(suite, track, budget, model, data, device): the device is part of what a row is, so
    the CPU and GPU runs of one comparison are two sections, not one replacing the other."""
    return (str(rec["suite"]), comparability.track(rec), comparability.budget_name(rec),
            str(rec.get("model")), _data(rec), device_label(rec))


def groups(records: list[dict]) -> dict[tuple[str, ...], list[dict]]:
    """Comparable trained records by ``group_key``, each with the zero-shot records of its
    suite, data and encoding precision (its own folders' first); zero-shot records that no group takes form one
    group per folder (key ``(suite, "zero-shot", "-", "-", data, folder)``). A (system, seed)
    of one key held by two folders (``_folder``) is an error naming both: no row is dropped."""
    out: dict[tuple[str, ...], list[dict]] = {}
    owner: dict[tuple, str] = {}
    for r in records:
        if r["kind"] == "trained":
            key = group_key(r)
            first = owner.setdefault((key, r["name"], r["seed"]), r.get("_folder", "-"))
            if first != r.get("_folder", "-"):
                raise NegbenchError(
                    f"{first} and {r.get('_folder')} both hold {r['name']} seed {r['seed']} of "
                    f"{key[0]} (track {key[1]}, budget {key[2]}, model {key[3]}, data {key[4]}, "
                    f"device {key[5]}): give the leaderboard one of them")
            out.setdefault(key, []).append(r)
    used: set[int] = set()
    for key, recs in out.items():
        own = {r.get("_folder") for r in recs}
        names = set()
        encoded = comparability.encoding_precision(recs[0])
        for r in sorted((r for r in records if r["kind"] == "zero-shot"
                         and (r["suite"], _data(r)) == (key[0], key[4])
                         and comparability.encoding_precision(r) in (encoded, None)),
                        key=lambda r: r.get("_folder") not in own):
            if r["name"] not in names:
                names.add(r["name"])
                used.add(id(r))
                recs.append(r)
    for r in records:
        if r["kind"] == "zero-shot" and id(r) not in used:
            key = (str(r["suite"]), "zero-shot", "-", "-", _data(r), str(r.get("_folder", "-")))
            out.setdefault(key, []).append(r)
    return out


def provenance(system) -> dict:
    """What a reader needs to trust a row: records, seeds, model, budget, versions, hashes."""
    first = system.records[0]
    return {"system": system.label, "kind": system.kind, "seeds": system.seeds,
            "records": [r.get("_file") for r in system.records],
            "model": first.get("model"), "track": first.get("track"),
            "budget": (first.get("budget") or {}).get("name"),
            "sampler": first.get("sampler"), "device": first.get("device"),
            "data_fingerprint": first.get("data_fingerprint"),
            "config_hash": [r.get("config_hash") for r in system.records],
            "negbench": (first.get("versions") or {}).get("negbench")}


def _forest_png(rep, measure: str) -> str | None:
    from negbench.harness.reporting.plots import forest_plot

    if len(rep.systems) < 2:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = forest_plot(rep, measure, Path(tmp) / "forest.png")
        return base64.b64encode(Path(path).read_bytes()).decode("ascii")


def section(rep, where: str = "") -> str:
    """One suite x track (x ``where``: the device, or a zero-shot folder): the table, its
    legend and the forest plot."""
    from negbench.harness.reporting.render import legend, markers

    e = html.escape
    sorted_by = ' data-dir="desc" aria-sort="descending"'  # the initial order
    head = ('<th data-type="text">system</th><th title="number of seeds">seeds</th>'
            + "".join(f'<th{sorted_by if i == 0 else ""}>{e(m)}</th>'
                      for i, m in enumerate(rep.measures)))
    rows = []
    ordered = sorted(rep.systems, key=lambda s: -s.summaries[rep.measures[0]].mean)
    for s in ordered:
        prov = json.dumps(provenance(s), indent=1, default=str)
        cells = [(f'<td class="sys" data-v="{e(s.label)}" title="{e(prov)}">{e(s.label)}'
                 f'{" (baseline)" if s.name == rep.baseline else ""}'
                 f"<details><summary>provenance</summary><pre>{e(prov)}</pre></details></td>"),
                 f'<td data-v="{len(s.seeds)}">{e(",".join(map(str, s.seeds)) or "-")}</td>']
        for m in rep.measures:
            sm = s.summaries[m]
            mark = markers(rep, s, m).strip()
            cls = ' class="up"' if mark == "▲" else ' class="down"' if mark == "▼" else ""
            text = f"{sm.mean:.4f}" + (f" ± {sm.sd:.4f}" if sm.n > 1 else "")
            cells.append(f'<td data-measure="{e(m)}" data-v="{sm.mean!r}" data-sd="'
                         f'{sm.sd if sm.n > 1 else ""}"{cls}>{e(text)}'
                         f'{f" <b>{e(mark)}</b>" if mark else ""}</td>')
        base = ' class="baseline"' if s.name == rep.baseline else ""
        rows.append(f'<tr data-system="{e(s.name)}" data-kind="{s.kind}" '
                    f'data-device="{e(device_label(s.records[0]))}"{base}>'
                    + "".join(cells) + "</tr>")
    trained = any(s.kind == "trained" for s in rep.systems)
    track = ((rep.budget or {}).get("track") or comparability.track(rep.systems[0].records[0])
             if trained else "zero-shot")
    png = _forest_png(rep, rep.measures[0])
    plot = (f'<figure><img alt="forest plot, {e(rep.measures[0])}" '
            f'src="data:image/png;base64,{png}"></figure>' if png else "")
    notes = "".join(f"<li>{e(n)}</li>" for n in legend(rep))
    return (f'<section data-suite="{e(rep.suite)}" data-track="{e(str(track))}" '
            f'data-{"device" if trained else "folder"}="{e(where)}">'
            f"<h2>{e(rep.suite)} · {'track ' if trained else ''}{e(str(track))}"
            f"{' only' if not trained else ''}{f' · {e(where)}' if where else ''}</h2>"
            f'<table class="lb"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}'
            f'</tbody></table><ul class="notes">{notes}</ul>{plot}</section>')


def build_page(folders: list[Path], resamples: int = 2000) -> str:
    """The whole page for the records under ``folders``."""
    from negbench.harness.reporting.report import build_report

    records = []
    given: dict[Path, Path] = {}
    for f in folders:  # a folder given twice is read once
        given.setdefault(Path(f).resolve(), Path(f))
    for folder in given.values():
        if not (Path(folder) / "records").is_dir():
            raise NegbenchError(f"{folder}: no records/ folder (expected the --output of "
                                "`negbench run`)")
        for path, rec in zip(sorted((Path(folder) / "records").glob("*.json")),
                             read_records(folder)):
            rec["_file"], rec["_folder"] = str(path), str(folder)
            records.append(rec)
    grouped = groups(records)
    if not grouped:
        raise NegbenchError("no records under " + ", ".join(map(str, folders)))
    sections = [section(build_report(recs, n_resamples=resamples), key[5])
                for key, recs in sorted(grouped.items())]
    return ("<!doctype html><html><head><meta charset='utf-8'><title>negbench leaderboard"
            f"</title><style>{_CSS}</style></head><body><h1>negbench leaderboard</h1>"
            "<p>Rows start sorted by the first measure (best first); click a column header to "
            "sort by it, again to reverse. Hover a system for its provenance, or open "
            "it.</p>" + "".join(sections) + f"<script>{_JS}</script></body></html>\n")
