"""CLI polish: --version, -v/--log-file through logging, exit codes (0 ok, 1 regression,
2 usage/input error, 3 internal error), --help of strategies/suites/data."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import pytest

from negbench.harness import cli
from negbench.harness.commands import listing

CLI = [sys.executable, "-m", "negbench.harness.cli"]


def test_version():
    proc = subprocess.run(CLI + ["--version"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == f"negbench {version('negbench')}"


@pytest.mark.parametrize(("argv", "words"), [
    (["strategies", "--help"], ["registered sampler", "--plugin"]),
    (["suites", "--help"], ["staged data", "--data-root"]),
    (["data", "--help"], ["ir_datasets cache", "seed"]),
    (["data", "seed", "--help"], ["without network"]),
    (["--help"], ["Exit codes", "--log-file", "--verbose"]),
])
def test_help_texts(argv, words, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert all(w in out for w in words), out


def _crash(args):
    raise RuntimeError("boom")


def test_internal_error_has_its_own_exit_code(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(listing, "cmd_strategies", _crash)
    log = tmp_path / "negbench.log"
    assert cli.main(["--log-file", str(log), "strategies"]) == cli.EXIT_INTERNAL == 3
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [("negbench: internal error: RuntimeError: boom (rerun "
                                         "with -v or --log-file FILE for the traceback)")]
    assert "Traceback" in log.read_text() and "RuntimeError: boom" in log.read_text()


def test_verbose_prints_the_traceback(monkeypatch, capsys):
    monkeypatch.setattr(listing, "cmd_strategies", _crash)
    assert cli.main(["-v", "strategies"]) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "negbench: internal error: RuntimeError: boom" in err


def test_usage_and_input_errors_exit_2(capsys, tmp_path):
    assert cli.main(["run", "--samplers", "random"]) == cli.EXIT_USAGE == 2
    assert "run needs --suite, --output (or --config FILE)" in capsys.readouterr().err
    assert cli.main(["--log-file", str(tmp_path / "no" / "such" / "x.log"), "strategies"]) == 2
    assert "--log-file" in capsys.readouterr().err


def test_log_file_gets_run_messages(tmp_path, capsys):
    log = tmp_path / "run.log"
    assert cli.main(["--log-file", str(log), "strategies"]) == 0
    capsys.readouterr()
    assert log.exists()  # created; messages at debug level go here


def test_progress_messages_go_through_logging(caplog):
    import logging

    from negbench.harness.logs import LogStream

    with caplog.at_level(logging.INFO, logger="negbench"):
        stream = LogStream()
        print("[negbench] run x-seed1", file=stream)
    assert caplog.records[-1].name == "negbench" and caplog.records[-1].getMessage() == \
        "[negbench] run x-seed1"


def test_exit_codes_documented():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text()
    assert "## Exit codes" in page and "| 3 | internal error" in page
    for code in ("| 0 ", "| 1 ", "| 2 ", "| 3 ", "| 130 "):
        assert code in page
