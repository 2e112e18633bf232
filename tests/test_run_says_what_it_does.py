"""A run that says what it is doing (issue 30, item 5): every progress bar has a name, library
chatter (numba's compiler passes, transformers' load reports, jnius' reflection, HF trainers'
loss dicts) stays off stdout and out of the log unless ``-vv``, tables fit the terminal, and
on the smoke budget a sampler's teacher is smoke-sized and says what it costs first."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from reliability_helpers import cli, env

from negbench.harness.commands.terminal import NOT_A_TERMINAL, fitted
from negbench.harness.training.budget import TeacherCap, get_budget
from negbench.strategies.engine import DEEPEN_FACTOR
from negbench.strategies.registry import available

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d [\d:,]+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) (\S+): ")


def _library_records(log: str) -> list[str]:
    """The log's DEBUG/INFO records of loggers other than negbench's own."""
    out = []
    for line in log.splitlines():
        m = LOG_LINE.match(line)
        if m and m.group(1) in ("DEBUG", "INFO") and not m.group(2).startswith("negbench"):
            out.append(line)
    return out


def _bars(stderr: str) -> list[str]:
    """Every progress-bar update tqdm wrote (one per carriage return or line)."""
    return [seg for seg in re.split(r"[\r\n]", stderr) if re.search(r"\d+%\|", seg)]


def _smoke_denoised(small, tiny_model_dir, irds_home, tmp_path, name: str, *verbosity):
    """``run --samplers denoised --budget smoke`` with the tiny model as student and teacher
    base, a fresh cache (its teacher trained, its scores counted) and a log file."""
    cache, out, log = tmp_path / f"cache-{name}", tmp_path / name, tmp_path / f"{name}.log"
    proc = cli([*verbosity, "--log-file", log, "run", "--suite", small, "--samplers",
                "denoised", "--param", f"denoised.ce_base={tiny_model_dir}", "--seeds", "13",
                "--budget", "smoke", "--model", tiny_model_dir, "--no-zero-shot", "--output",
                out], env(irds_home, cache))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, out, log.read_text(encoding="utf-8"), cache


@pytest.fixture(scope="module")
def quiet_run(small, tiny_model_dir, irds_home, tmp_path_factory):
    return _smoke_denoised(small, tiny_model_dir, irds_home, tmp_path_factory.mktemp("q"),
                           "default")


def test_library_chatter_stays_out_of_stdout_and_the_log(quiet_run):
    proc, out, log, _ = quiet_run
    # stdout: the table and nothing else (no loss dicts, no Java INFO lines, no load report)
    assert proc.stdout.strip() == (out / "table.md").read_text().strip()
    assert _library_records(log) == [], _library_records(log)[:5]
    assert " INFO negbench" in log  # negbench's own messages do reach the log
    for chatter in ("LOAD REPORT", "Converting SentenceTransformer", "'loss'", "numba",
                    "jnius", "sun.misc.Unsafe"):
        assert chatter not in proc.stderr and chatter not in log, chatter


def test_every_progress_bar_has_a_label(quiet_run):
    proc = quiet_run[0]
    bars = _bars(proc.stderr)
    assert bars and not [b for b in bars if re.match(r"\s*\d+%\|", b)]  # no unnamed bar
    labels = {b.split(":")[0].strip() for b in bars}
    assert {"teacher", "runs", "train (query-side)"} <= labels, labels
    assert any(b.startswith("teacher: train") for b in bars)
    assert any(b.startswith("teacher: score") for b in bars)


def test_the_smoke_teacher_is_small_and_says_its_cost_first(quiet_run, small):
    proc, out, log, cache = quiet_run
    cap = get_budget("smoke").sampler_teacher
    assert cap == TeacherCap() and get_budget("standard").sampler_teacher is None
    cost = next(ln for ln in proc.stderr.splitlines() if ln.startswith("denoised: teacher: "))
    assert f"1 of 1 fold(s) to train x {cap.steps} steps" in cost
    assert proc.stderr.index(cost) < proc.stderr.index("teacher: train")  # before it trains
    assert cost in log
    # the pairs the teacher scored, counted in its score cache (one entry per pair)
    (scores,) = (cache / "ce-scores").glob("*.json")
    scored = [k.split("\t") for k in json.loads(scores.read_text())]
    per_query: dict[str, int] = {}
    for q, _ in scored:
        per_query[q] = per_query.get(q, 0) + 1
    positives: dict[str, int] = {}
    for line in (small / "qrels" / "train.tsv").read_text().splitlines()[1:]:
        q, _, score = line.split("\t")
        positives[q] = positives.get(q, 0) + (int(score) > 0)
    assert 0 < len(per_query) <= cap.queries
    for q, n in per_query.items():  # the positive and at most the window (deepened) per pair
        assert n <= positives[q] * (1 + cap.window * DEEPEN_FACTOR), (q, n)
    assert len(scored) < sum(positives.values()) * 31 / 20  # vs 919 pairs x (30 + 1) uncapped
    rec = json.loads((out / "records" / "denoised-seed13.json").read_text())
    assert rec["mining"]["teacher_cap"] == cap.describe()
    assert rec["mining"]["teacher_scored_pairs"] >= len(scored)
    assert "on all train pairs (no folds)" in rec["mining"]["teacher"]
    assert rec["budget"]["sampler_teacher"] == dataclasses.asdict(cap)
    # no false-negative audit on smoke: said once, up front, and no teacher in the record
    assert "false-negative audit: no cross-encoder teacher on budget 'smoke'" in proc.stderr
    assert rec["false_negatives"]["teacher"] is None


def test_library_messages_with_vv(small, tiny_model_dir, irds_home, tmp_path):
    proc, out, log, _ = _smoke_denoised(small, tiny_model_dir, irds_home, tmp_path, "vv", "-vv")
    libraries = {LOG_LINE.match(ln).group(2).split(".")[0] for ln in _library_records(log)}
    assert "sentence_transformers" in libraries, libraries
    assert "'loss'" in log  # the teacher trainer's loss dicts, as library chatter
    assert "'loss'" not in proc.stdout  # never on stdout
    assert (out / "table.md").read_text().strip() in proc.stdout


def test_full_track_trainer_has_a_named_bar_and_no_stdout(scifact, tiny_model_dir, tmp_path,
                                                          capfd):
    from negbench.harness.retrieval.models import load_model
    from negbench.harness.training.full import train_full
    from negbench.harness.training.pairs import training_pairs
    from negbench.strategies.base import MiningContext
    from negbench.strategies.registry import get_sampler

    ctx = MiningContext(corpus=scifact.corpus, train=scifact.train, exclude=scifact.exclude,
                        seed=13, max_length=64, dense=lambda: None, bm25=lambda: None)
    pairs = training_pairs(get_sampler("random")().mine(ctx), scifact.corpus, scifact.train, 1,
                           scifact.exclude)
    budget = dataclasses.replace(get_budget("smoke"), steps=2)
    model = load_model(str(tiny_model_dir))
    capfd.readouterr()
    assert train_full(model, pairs, budget, 13, tmp_path / "t", "cpu", "fp32", mask=False,
                      progress=True) == 2
    captured = capfd.readouterr()
    assert captured.out == ""  # the loss dicts went to logging, not to stdout
    bars = _bars(captured.err)  # (sentence-transformers' own are named too)
    assert any(b.startswith("train (full): 100%") for b in bars), bars
    assert not [b for b in bars if re.match(r"\s*\d+%\|", b)], bars  # no unnamed bar


@pytest.mark.parametrize("argv", [["strategies"], ["strategies", "--losses"], ["suites"]])
def test_tables_fit_the_terminal(argv, irds_home, cache_dir):
    e = env(irds_home, cache_dir, COLUMNS="80")
    proc = cli(argv, e)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert max(map(len, lines)) <= 80, [ln for ln in lines if len(ln) > 80][:3]
    if argv == ["strategies"]:
        # every built-in sampler still starts a row of its own (a plugin another test
        # registered in this process is not the subprocess's)
        for name, cls in available().items():
            if not cls.__module__.startswith("negbench."):
                continue
            assert any(ln.startswith(f"| {name} ") for ln in lines), name
    piped = {k: v for k, v in e.items() if k != "COLUMNS"}  # stdout is a pipe, not a terminal
    lines = cli(argv, piped).stdout.splitlines()
    assert NOT_A_TERMINAL - 10 <= max(map(len, lines)) <= NOT_A_TERMINAL


def test_fitted_wraps_only_what_does_not_fit():
    rows = [["dense", "x" * 300, "short"], ["bm25", "words " * 40, "-"]]
    narrow = fitted(rows, ["sampler", "description", "note"], 60).splitlines()
    assert max(map(len, narrow)) <= 60 and len(narrow) > 4
    assert narrow[0].startswith("| sampler ") and "| note " in narrow[0]
    wide = fitted(rows, ["sampler", "description", "note"], 1000).splitlines()
    assert len(wide) == 4  # header, rule, two rows: nothing wrapped


def test_cost_line_estimates_time_only_from_measured_speeds():
    from negbench.harness.retrieval.cross_encoder import CrossEncoderSpec, cost_line

    spec = CrossEncoderSpec(steps=20, folds=3)
    blind = cost_line(spec, 2, 600, {})
    assert "2 of 3 fold(s) to train x 20 steps" in blind and "about 600 (query, doc)" in blind
    assert "no speed measured here yet" in blind
    measured = {spec.rate_key(): {"steps_per_s": 0.5, "pairs_per_s": 10.0}}
    assert "about 2 min at the speeds measured here" in cost_line(spec, 2, 600, measured)
    assert "trained before (cached)" in cost_line(spec, 0, None, measured)


def test_only_smoke_caps_teachers_and_other_budgets_keep_their_hashes():
    for name in ("standard", "paper"):
        assert "sampler_teacher" not in get_budget(name).to_dict()
    smoke = get_budget("smoke")
    assert smoke.teacher_steps == 0 and smoke.to_dict()["sampler_teacher"]["window"] >= 1
    again = get_budget("smoke", {"sampler_teacher": {"queries": 4}})  # e.g. a suite override
    assert again.sampler_teacher == TeacherCap(queries=4)
