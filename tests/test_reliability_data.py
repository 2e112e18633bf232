"""Class 1 of issue 14: no number from the wrong data. Every reusable artefact (zero-shot rows,
finished runs, stage manifests, the ir_datasets cache, cache entries) is keyed by the data
fingerprint as well as the config (docs/reliability.md, "Data fingerprint")."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from reliability_helpers import cli, copy_folder, env, fails, record

RUNS = Path(__file__).resolve().parents[1] / "results" / "runs"


def _run(suite: Path, out: Path, model: Path, *extra) -> list:
    return ["run", "--suite", suite, "--samplers", "random", "--seeds", "13", "--budget",
            "smoke", "--model", model, "--no-audit", "--output", out, *extra]


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_a_folder_that_held_another_suites_rows_is_refused(small, tiny_model_dir, cli_env,
                                                           tmp_path):
    """NFCorpus's committed zero-shot records in --output: a SciFact zero-shot run is refused
    and NFCorpus's rows stay (the old code printed NFCorpus's BM25 row under the SciFact table,
    exit 0; then it wrote SciFact's rows over NFCorpus's). The folder is NFCorpus's
    (``harness/pipeline/folders.py``, tests/test_reliability_folders.py)."""
    out = tmp_path / "out"
    shutil.copytree(RUNS / "nfcorpus-zeroshot" / "records", out / "records")
    before = _files(out)
    fails(["zero-shot", "--suite", small, "--systems", "model", "--model", tiny_model_dir,
           "--budget", "smoke", "--quiet", "--output", out], cli_env,
          f"--output {out} holds runs of beir/nfcorpus", "use another folder")
    assert _files(out) == before


def test_an_edited_local_folder_with_the_same_name_is_refused(small, tiny_model_dir, cli_env,
                                                              tmp_path):
    """Same folder name, same command, edited test qrels: refused, the rows of the old data
    kept (the old code skipped the run and kept the zero-shot rows: the config hash leaves the
    data out; then it recomputed them over the old ones). The data restored, they are reused."""
    folder = copy_folder(small, tmp_path / "data" / "scifact-small")
    out = tmp_path / "out"
    argv = _run(folder, out, tiny_model_dir)
    first = cli(argv, cli_env)
    assert first.returncode == 0, first.stderr[-2000:]
    fp = record(out, "random-seed13")["data_fingerprint"][:12]
    before = _files(out)
    qrels = folder / "qrels" / "test.tsv"
    staged = qrels.read_text()
    qrels.write_text("".join(staged.splitlines(keepends=True)[:101]))  # 100 judged
    err = fails(argv, cli_env, f"holds runs of beir-folder:scifact-small over data {fp}",
                "this run is beir-folder:scifact-small over data ", "use another folder")
    assert err.count(fp) == 1 and _files(out) == before
    qrels.write_text(staged)
    third = cli(argv, cli_env)  # the folder's data again: reused as before
    assert "1 of 1 runs already finished" in third.stderr
    assert "zero-shot BM25" not in third.stderr


def test_a_killed_run_resumed_over_edited_data_is_refused(small, tiny_model_dir, cli_env,
                                                          tmp_path):
    """A run killed after mining, its data then edited: the rerun is refused and the negatives
    mined from the old data stay (the old manifest, keyed by config only, reused them; then a
    fingerprinted manifest redid them over the old ones)."""
    folder = copy_folder(small, tmp_path / "data" / "scifact-small")
    out = tmp_path / "out"
    argv = _run(folder, out, tiny_model_dir, "--no-zero-shot")
    crashed = cli(argv, dict(cli_env, NEGBENCH_CRASH_AFTER="mine"))
    assert crashed.returncode != 0 and (out / "work" / "random-seed13" / "manifest.json").exists()
    before = _files(out)
    qrels = folder / "qrels" / "train.tsv"
    qrels.write_text("".join(qrels.read_text().splitlines(keepends=True)[:401]))
    fails(argv, cli_env, "holds runs of beir-folder:scifact-small over data ",
          "use another folder")
    assert _files(out) == before


def test_data_root_is_honoured_after_the_cache_was_seeded(data_dir, cache_dir, tmp_path):
    """The ir_datasets cache seeded from the staged data, then --data-root names a copy with
    other test qrels: the copy's qrels are used (the old seed ignored --data-root)."""
    other = tmp_path / "other-data"
    shutil.copytree(data_dir / "beir-scifact", other / "beir-scifact")
    qrels = other / "beir-scifact" / "qrels" / "test.tsv"
    kept = qrels.read_text().splitlines(keepends=True)[:51]
    qrels.write_text("".join(kept))
    n = len({ln.split("\t")[0] for ln in kept[1:]})
    run = tmp_path / "perfect.trec"
    lines = (data_dir / "beir-scifact" / "qrels" / "test.tsv").read_text().splitlines()[1:]
    run.write_text("".join(f"{q} Q0 {d} 1 1.0 perfect\n" for q, d, _ in
                           (ln.split("\t") for ln in lines)))
    e = env(tmp_path / "irds", cache_dir)
    argv = ["eval", "--suite", "beir/scifact", "--run", run]
    staged = cli([*argv, "--data-root", data_dir], e)
    assert staged.returncode == 0 and "mean over 300 queries" in staged.stdout, staged.stderr
    edited = cli([*argv, "--data-root", other], e)
    assert edited.returncode == 0, edited.stderr[-2000:]
    assert f"mean over {n} queries" in edited.stdout, edited.stdout
    again = cli([*argv, "--data-root", data_dir], e)  # and back: re-seeded from the staged files
    assert "mean over 300 queries" in again.stdout


def test_report_and_regress_refuse_records_of_different_data(tmp_path, irds_home, cache_dir):
    out = tmp_path / "mixed"
    (out / "records").mkdir(parents=True)
    for i, name in enumerate(("in-batch-seed13.json", "in-batch-seed42.json")):
        legacy = RUNS.parent / "legacy-16-steps" / "scifact" / "records"
        rec = json.loads((legacy / name).read_text())
        rec["data_fingerprint"] = f"{i}" * 64
        (out / "records" / name).write_text(json.dumps(rec))
    fails(["report", out, "--no-plots", "--output", tmp_path / "rep"],
          env(irds_home, cache_dir), "data differs", output=tmp_path / "rep")
    fails(["regress", "--run", out, "--write-baseline", tmp_path / "b.json"],
          env(irds_home, cache_dir), "data differs")


def test_cross_encoder_cache_keys_name_the_texts(scifact):
    """The teacher's cache key changes with a query's text, not only with ids and qrels."""
    from negbench.harness.data.collection import Split
    from negbench.harness.retrieval.cross_encoder import CrossEncoderSpec

    spec = CrossEncoderSpec(steps=1)
    edited = dict(scifact.train.queries)
    first = next(iter(edited))
    edited[first] += " (edited)"
    other = Split("train", edited, scifact.train.qrels)
    assert spec.key(scifact.corpus, scifact.train) != spec.key(scifact.corpus, other)
