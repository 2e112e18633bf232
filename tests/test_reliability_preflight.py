"""Issue 25, root causes 4-6: everything a command needs is checked in ``harness/pipeline/preflight.py``
before its first write (an explicit --data-root, the model folder, the prompts, the qrels, the
executor's package, a from-file file's ids), and train/test overlap is warned about and
recorded. Real SciFact (a small local copy), the tiny random BERT."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from reliability_helpers import cli, copy_folder, fails, record


def _zero_shot(suite, out, *extra) -> list:
    return ["zero-shot", "--suite", suite, "--systems", "bm25", "--budget", "smoke",
            "--device", "cpu", "--output", out, *extra]


def _run(suite, out, model, *extra) -> list:
    return ["run", "--suite", suite, "--samplers", "random", "--seeds", "13", "--budget",
            "smoke", "--no-audit", "--no-zero-shot", "--device", "cpu", "--model", model,
            "--stop-after", "mine", "--quiet", "--output", out, *extra]


def _empty(out: Path) -> None:
    assert not out.exists() or not any(out.iterdir()), sorted(out.rglob("*"))


# -- 4: an explicit --data-root is what it must be -------------------------------------------
@pytest.mark.parametrize("kind", ["missing", "file"])
@pytest.mark.parametrize("command", ["zero-shot", "run", "eval"])
def test_a_data_root_that_is_not_a_folder_is_refused(kind, command, tiny_model_dir, cli_env,
                                                     tmp_path):
    """The old code ignored it and read the ir_datasets cache as it was last seeded."""
    root = tmp_path / "nonexistent"
    if kind == "file":
        root.write_text("not a folder\n")
    message = f"--data-root {root}: not found" if kind == "missing" else \
        f"--data-root {root} is a file, not a folder"
    out = tmp_path / "out"
    if command == "zero-shot":
        argv = _zero_shot("beir/scifact", out)
    elif command == "run":
        argv = _run("beir/scifact", out, tiny_model_dir)
    else:
        run = tmp_path / "run.trec"
        run.write_text("1 Q0 31715818 1 1.0 t\n")
        argv = ["eval", "--suite", "beir/scifact", "--run", run, "--output", out / "eval.json"]
    fails([*argv, "--data-root", root], cli_env, message, output=out)


def test_without_a_data_root_the_cache_is_read_as_it_is_and_the_log_says_so(
        data_dir, irds_home, tmp_path, monkeypatch, caplog):
    """No --data-root, no $NEGBENCH_DATA and no staged folder in the default places: the
    seeded cache is read, with one INFO line saying so."""
    from negbench.harness.data import irds, paths
    from negbench.suites.loading import load_test_qrels
    from negbench.suites.registry import get_suite

    irds.seed_beir("scifact", data_dir)  # the cache as some earlier run left it
    monkeypatch.delenv(paths.DATA_ENV, raising=False)
    monkeypatch.setattr(paths, "_REPO_ROOT", tmp_path / "checkout" / "repo")
    (tmp_path / "a" / "b").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "a" / "b")
    irds.note_cache_only.cache_clear()
    with caplog.at_level(logging.INFO, logger="negbench"):
        test = load_test_qrels(get_suite("beir/scifact"))
    assert len(test.qrels) == 300
    lines = [r for r in caplog.records if "ir_datasets cache as it is" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.INFO, caplog.text
    assert "no --data-root" in lines[0].getMessage()


# -- 5: the model, the prompts, the qrels and the executor, before the first write -----------
@pytest.mark.parametrize("content", ["empty", "readme", "no-model-type", "no-weights"])
def test_a_folder_that_is_not_a_model_is_refused_before_writing(content, small, tiny_model_dir,
                                                                cli_env, tmp_path):
    """The old code wrote the BM25 row (zero-shot) or the mined negatives (run), then failed
    loading the model (exit 3)."""
    folder = tmp_path / "model"
    folder.mkdir()
    if content == "readme":
        (folder / "README.md").write_text("# not a model\n")
    elif content == "no-model-type":
        (folder / "config.json").write_text('{"hidden_size": 32}\n')
        (folder / "model.safetensors").write_bytes(b"x")
    elif content == "no-weights":
        (folder / "config.json").write_text('{"model_type": "bert"}\n')
    message = {"empty": "not a model folder", "readme": "not a model folder",
               "no-model-type": "config.json has no 'model_type'",
               "no-weights": "no model weights"}[content]
    out = tmp_path / "out"
    fails(_zero_shot(small, out, "--systems", "bm25,model", "--model", folder), cli_env,
          f"--model {folder}", message, output=out)
    fails(_run(small, out, folder), cli_env, f"--model {folder}", message, output=out)
    _empty(out)


def test_a_sentence_transformers_folder_without_its_transformer_is_refused(
        small, tiny_model_dir, cli_env, tmp_path):
    folder = copy_folder(tiny_model_dir, tmp_path / "model")
    (folder / "model.safetensors").unlink()
    out = tmp_path / "out"
    fails(_run(small, out, folder), cli_env, f"--model {folder}", "no model weights",
          output=out)


@pytest.mark.parametrize("flag", ["--query-prompt", "--doc-prompt"])
def test_a_prompt_that_is_not_text_is_refused_before_writing(flag, small, tiny_model_dir,
                                                             cli_env, tmp_path):
    """``$'\\xff'`` on the command line reaches Python as a surrogate escape: the old code
    recorded it, wrote the BM25 row and crashed in the tokenizer."""
    out = tmp_path / "out"
    argv = _zero_shot(small, out, "--systems", "bm25,model", "--model", tiny_model_dir, flag,
                      "\udcff")
    fails(argv, cli_env, f"{flag}: prompt contains a lone surrogate ('\\udcff')",
          "not valid UTF-8 text", output=out)
    _empty(out)


def _zero_relevance(small: Path, dst: Path, split: str) -> Path:
    folder = copy_folder(small, dst)
    qrels = folder / "qrels" / f"{split}.tsv"
    head, *rows = qrels.read_text().splitlines()
    qrels.write_text("\n".join([head, *("\t".join(r.split("\t")[:2] + ["0"]) for r in rows)])
                     + "\n")
    return folder


def test_test_qrels_without_a_relevant_judgment_are_refused(small, tiny_model_dir, cli_env,
                                                           tmp_path):
    """Every test judgment 0: the old code wrote the BM25 run, then failed naming no file."""
    folder = _zero_relevance(small, tmp_path / "zero", "test")
    qrels = folder / "qrels" / "test.tsv"
    out = tmp_path / "out"
    fails(_zero_shot(folder, out), cli_env, f"{qrels}: no test pair", "relevance >= 1",
          output=out)
    fails(_run(folder, out, tiny_model_dir), cli_env, f"{qrels}: no test pair", output=out)
    run = tmp_path / "run.trec"
    run.write_text(f"{qrels.read_text().splitlines()[1].split()[0]} Q0 x 1 1.0 t\n")
    fails(["eval", "--suite", folder, "--run", run, "--output", out / "eval.json"], cli_env,
          f"{qrels}: no test pair", output=out)
    _empty(out)


@pytest.mark.parametrize("executor, package", [("ray", "ray"), ("slurm", "submitit")])
def test_an_executor_without_its_package_is_refused_before_writing(executor, package, small,
                                                                   tiny_model_dir, cli_env,
                                                                   tmp_path):
    """The old code wrote the resolved experiment file, then failed importing the package."""
    shim = tmp_path / "shim" / package
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text(f"raise ImportError('no {package} here')\n")
    env = dict(cli_env, PYTHONPATH=os.pathsep.join(
        [str(shim.parent), *filter(None, [cli_env.get("PYTHONPATH")])]))
    out = tmp_path / "out"
    argv = [a for a in _run(small, out, tiny_model_dir) if a not in ("--stop-after", "mine")]
    fails([*argv, "--executor", executor], env,
          f"--executor {executor} needs the '{package}' package", output=out)
    _empty(out)


# -- 6: suspicious data is not accepted silently ---------------------------------------------
def test_train_test_overlap_is_warned_about_and_recorded(small, cli_env, tmp_path):
    """Real SciFact has 2 test claims that are also training claims (same text, same judged
    doc); a copy whose train qrels are its test qrels has all 300. Each is one WARNING line
    and a field of every record written."""
    overlap = "test queries also appear in the training qrels (same id or same text)"
    out = tmp_path / "real"
    proc = cli(_zero_shot(small, out), cli_env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [ln for ln in proc.stderr.splitlines() if overlap in ln] == \
        [f"2 of 300 {overlap}: the test split is not fully held out"], proc.stderr
    assert record(out, "zeroshot-bm25")["data_checks"] == {"train_test_overlap": 2}

    folder = copy_folder(small, tmp_path / "same")
    (folder / "qrels" / "train.tsv").write_text((folder / "qrels" / "test.tsv").read_text())
    out = tmp_path / "same-out"
    proc = cli(_zero_shot(folder, out), cli_env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"300 of 300 {overlap}: the test split is not held out" in proc.stderr
    assert record(out, "zeroshot-bm25")["data_checks"] == {"train_test_overlap": 300}


def _tevatron(small: Path, path: Path, case: str) -> Path:
    """Two Tevatron records of real SciFact training pairs; the second one broken by
    ``case``."""
    queries = {json.loads(ln)["_id"]: json.loads(ln)["text"]
               for ln in (small / "queries.jsonl").read_text().splitlines()}
    docs = {json.loads(ln)["_id"]: json.loads(ln)
            for ln in (small / "corpus.jsonl").read_text().splitlines()}
    pairs = [ln.split("\t")[:2] for ln in
             (small / "qrels" / "train.tsv").read_text().splitlines()[1:]]
    judged = {d for _, d in pairs}
    other = next(d for d in sorted(docs) if d not in judged)

    def passage(d: str, docid: str | None = None) -> dict:
        return {"docid": d if docid is None else docid, "title": docs[d]["title"],
                "text": docs[d]["text"]}

    lines = []
    for n, (q, p) in enumerate(pairs[:2]):
        obj = {"query_id": q, "query": queries[q], "positive_passages": [passage(p)],
               "negative_passages": [passage(other)]}
        if n == 1 and case == "query":  # the text is a training query's: mapping hid it
            obj["query_id"] = "no-such-query"
        if n == 1 and case == "doc":
            obj["negative_passages"] = [passage(other, "no-such-doc")]
        if n == 1 and case == "judged":
            obj["negative_passages"] = [passage(p)]
        lines.append(json.dumps(obj))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("case, message", [
    ("query", "query id 'no-such-query' is not a training query of"),
    ("doc", "doc id 'no-such-doc' is not in the corpus"),
    ("judged", "negative "),
])
def test_a_tevatron_file_is_checked_against_the_suite_when_read(case, message, small,
                                                               tiny_model_dir, cli_env,
                                                               tmp_path):
    """Unknown ids were mapped back through the texts without a word, and a negative that is
    a judged positive was found while mining ("row 2", after writing)."""
    path = _tevatron(small, tmp_path / "tevatron.jsonl", case)
    out = tmp_path / "out"
    argv = [a if a != "random" else "from-file" for a in _run(small, out, tiny_model_dir)]
    fails([*argv, "--param", f"from-file.path={path}", "--param",
           "from-file.allow_partial=true"], cli_env, f"{path}:2: {message}",
          *(["is a judged positive of query"] if case == "judged" else []), output=out)
    _empty(out)
