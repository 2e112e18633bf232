"""CLI polish, the rest of it: status messages through `logging` (no informational
``print(..., file=sys.stderr)`` left in harness/), `negbench reproduce` finding its reference
file from the installed package whatever the working directory, and `--help` texts that say
what each option of `strategies`, `suites` and `data` does."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from negbench.harness import cli

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "negbench.harness.cli"]
# the one-line error outputs of the CLI itself stay plain prints
ALLOWED_STDERR_PRINTS = {("harness/cli.py", "error"), ("harness/cli.py", "interrupted"),
                         ("harness/cli.py", "internal error")}


def _stderr_prints(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
            for kw in node.keywords:
                if kw.arg == "file" and ast.unparse(kw.value) in ("sys.stderr",
                                                                  "sys.__stderr__"):
                    out.append((node.lineno, ast.unparse(node.args[0]) if node.args else ""))
    return out


def test_no_status_prints_to_stderr_outside_the_error_lines():
    found = []
    for path in sorted((ROOT / "harness").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for line, text in _stderr_prints(path):
            if not any(rel == f and word in text for f, word in ALLOWED_STDERR_PRINTS):
                found.append(f"{rel}:{line}: {text}")
    assert found == []


def test_status_messages_reach_stderr_and_the_log_file(tmp_path, capsys):
    folder = ROOT / "results" / "runs" / "nfcorpus-zeroshot"
    out, log = tmp_path / "rep", tmp_path / "report.log"
    assert cli.main(["--log-file", str(log), "report", str(folder), "--output", str(out),
                     "--no-plots", "--resamples", "50"]) == 0
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines()[-1] == (
        f"wrote report.md, report.tex, report.csv, report-comparisons.csv, report.json to {out}")
    assert captured.out == (out / "report.md").read_text() + "\n"  # stdout: the report only
    text = log.read_text(encoding="utf-8")
    assert " INFO negbench.harness.commands.report: wrote report.md" in text


def test_reproduce_finds_its_reference_from_any_directory(tmp_path):
    folder = ROOT / "results" / "runs" / "nfcorpus-zeroshot"
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    assert not (elsewhere / "results").exists()
    proc = subprocess.run(CLI + ["reproduce", str(folder)], cwd=elsewhere, capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    verdicts = [line.strip(" |").rsplit("|", 1)[1].strip()
                for line in proc.stdout.splitlines()[2:] if line.startswith("|")]
    assert len(verdicts) >= 2 and set(verdicts) <= {"OK", "OKish"}, proc.stdout
    import negbench.harness.reporting  # the installed package (editable or not) ships the file
    shipped = Path(negbench.harness.reporting.__file__).parent / "reference" / "published.yaml"
    assert shipped.is_file()
    assert f"References: {shipped}" in proc.stdout
    # one copy in the repository: the old location is gone
    assert not (ROOT / "results" / "reference" / "published.yaml").exists()


def test_reference_is_package_data():
    import tomllib

    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    data = conf["tool"]["setuptools"]["package-data"]["negbench.harness.reporting"]
    assert any(Path("reference/published.yaml").match(p) for p in data)
    from negbench.harness.commands.reproduce import DEFAULT_REFERENCE

    assert DEFAULT_REFERENCE.is_file() and DEFAULT_REFERENCE.is_absolute()


@pytest.mark.parametrize(("argv", "option", "words"), [
    (["strategies", "--help"], "--plugin", ["run --plugin", "list them"]),
    (["suites", "--help"], "--data-root", ["corpus, queries, qrels", "NEGBENCH_DATA"]),
    (["data", "--help"], "ACTION", ["seed or download", "ACTION --help"]),
    (["data", "seed", "--help"], "--data-root", ["corpus, queries, qrels"]),
    (["data", "download", "--help"], "SUITE", ["irds:ID"]),
    (["reproduce", "--help"], "--reference", ["shipped with negbench"]),
])
def test_every_option_has_a_help_text(argv, option, words, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    after = out.split("options:", 1)[1] if option.startswith("-") else out
    assert option in after and all(w in after for w in words), out
