"""``run --quiet --log-file F``: the console shows only the result and errors, the log file
still gets every message (it used to be empty: ``--quiet`` disabled logging outright)."""

from __future__ import annotations

from reliability_helpers import cli, env


def test_quiet_keeps_the_console_short_and_the_log_file_full(small, tiny_model_dir, irds_home,
                                                            cache_dir, tmp_path):
    out, log = tmp_path / "grid", tmp_path / "run.log"
    proc = cli(["--log-file", str(log), "run", "--suite", str(small), "--samplers", "random",
                "--seeds", "13", "--budget", "smoke", "--model", str(tiny_model_dir),
                "--no-audit", "--no-zero-shot", "--quiet", "--steps", "2", "--output",
                str(out)], env(irds_home, cache_dir))
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = log.read_text()
    assert "INFO negbench" in text
    assert f"records, runs and negatives written to {out}" in text
    assert "records, runs and negatives written" not in proc.stderr
    assert "random" in proc.stdout  # the table, the result, still printed
