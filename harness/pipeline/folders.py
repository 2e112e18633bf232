"""An output folder belongs to one suite over one data: ``<output>/negbench-folder.json``.

Records, zero-shot rows, negatives, run files and stage manifests are named by sampler and
seed only, so a run of another suite, or of the same suite over other data, into the same
folder would write over them. Every command that writes results into a folder (``run`` with
its shards and executor tasks, ``zero-shot``, ``source-bias --models-from``) calls
``check_folder`` once its data is loaded and ``claim_folder`` at its first write: a folder
holding another suite's or other data's results is refused with one line. A folder written
before this file existed is adopted when its records (and work manifests) agree. A
cross-fitted folder (``run --folds``) also records its fold spec (folds, fold seed, sha256 of
the assignment) and is refused to runs of the official split or of another fold spec, and the
other way round.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from negbench.harness.data.crossfit import describe_spec, spec_of
from negbench.harness.data.fingerprint import FIELD
from negbench.harness.errors import NegbenchError
from negbench.harness.io.atomic import file_lock

OWNER_FILE = "negbench-folder.json"
SCHEMA = 1
# what a run folder holds besides reports: never written over by a report, page or export
RESULT_PARTS = ("records", "runs", "negatives", "work", "models", OWNER_FILE,
                "experiment.resolved.yaml")


def result_parts(folder: str | os.PathLike) -> list[Path]:
    """The files and folders of run folder ``folder`` that hold its results."""
    return [Path(folder) / p for p in RESULT_PARTS]


def _data(fingerprint: str | None) -> str:
    return f"data {fingerprint[:12]}" if fingerprint else "data of unknown fingerprint"


def _read_owner(path: Path) -> tuple[str, str, dict | None]:
    """``(suite, data_fingerprint, fold spec or None)`` of an ownership file; anything else is
    one line."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        doc = f"unreadable ({getattr(exc, 'strerror', None) or type(exc).__name__})"
    if not (isinstance(doc, dict) and doc.get("schema") == SCHEMA
            and isinstance(doc.get("suite"), str) and isinstance(doc.get(FIELD), str)
            and isinstance(doc.get("crossfit", {}), dict)):
        bad = doc if isinstance(doc, str) else \
            f'expected {{"suite": ..., "{FIELD}": ..., "schema": {SCHEMA}}}'
        raise NegbenchError(f"{path}: not a negbench folder file: {bad}; restore it, or remove "
                            "it to have the folder adopted from its records")
    return doc["suite"], doc[FIELD], spec_of(doc)


def _legacy_owner(out: Path, flag: str
                  ) -> tuple[str | None, str | None, Path | None, dict | None]:
    """``(suite, fingerprint, evidence, fold spec)`` every record (and work manifest) of a
    folder without an ownership file agrees on; records without a fingerprint agree on the
    suite only. Records that disagree are refused naming one of each."""
    from negbench.harness.evaluation.records import read_record

    suite = fp = spec = None
    seen: dict[str, Path] = {}  # "suite" / "data" -> the first file that named it
    for path in sorted((out / "records").glob("*.json")):
        rec = read_record(path)
        if suite is not None and rec["suite"] != suite:
            raise NegbenchError(f"{flag} {out} mixes suites: {path} is {rec['suite']}, "
                                f"{seen['suite']} is {suite}; move one of them out")
        if suite is not None and spec_of(rec) != spec:
            raise NegbenchError(f"{flag} {out} mixes splits: {path} is "
                                f"{describe_spec(spec_of(rec))}, {seen['suite']} is "
                                f"{describe_spec(spec)}; move one of them out")
        if suite is None:
            suite, seen["suite"], spec = rec["suite"], path, spec_of(rec)
        fp = _agree(out, flag, fp, rec.get(FIELD), path, seen)
    for path in sorted(out.glob("work/*/manifest.json")):
        try:
            mine = json.loads(path.read_text(encoding="utf-8")).get(FIELD)
        except (OSError, ValueError, AttributeError):
            continue  # an unreadable manifest is discarded by the run that owns it
        fp = _agree(out, flag, fp, mine, path, seen)
    return suite, fp, seen.get("data") or seen.get("suite"), spec


def _agree(out: Path, flag: str, fp: str | None, mine, path: Path,
           seen: dict[str, Path]) -> str | None:
    if not isinstance(mine, str):
        return fp
    if fp is not None and mine != fp:
        raise NegbenchError(f"{flag} {out} mixes data: {path} is over {_data(mine)}, "
                            f"{seen['data']} over {_data(fp)}; move one of them out")
    seen.setdefault("data", path)
    return mine


def check_folder(out: str | os.PathLike, suite_name: str, fingerprint: str,
                 flag: str = "--output", crossfit: dict | None = None) -> None:
    """``out`` holds nothing, or only results of ``suite_name`` over the data
    ``fingerprint`` on the same split: the official one (``crossfit`` None), or the fold spec
    ``crossfit`` (``CrossFit.spec()``); by its ownership file, else by its records (a legacy
    folder)."""
    out = Path(out)
    owner = out / OWNER_FILE
    if owner.exists():
        (suite, fp, spec), where = _read_owner(owner), ""
    else:
        suite, fp, evidence, spec = _legacy_owner(out, flag)
        if suite is None and fp is None:
            return
        where = f" ({evidence})"
    if suite not in (None, suite_name) or fp not in (None, fingerprint):
        raise NegbenchError(f"{flag} {out} holds runs of {suite or 'a suite'} over {_data(fp)}"
                            f"{where}; this run is {suite_name} over {_data(fingerprint)}: "
                            "use another folder")
    if spec != spec_of({"crossfit": crossfit}):
        raise NegbenchError(f"{flag} {out} holds runs on {describe_spec(spec)}{where}; this "
                            f"run is on {describe_spec(spec_of({'crossfit': crossfit}))}: "
                            "cross-fitted and official-split results (or two fold specs) do "
                            "not mix, use another folder")


def claim_folder(out: str | os.PathLike, suite_name: str, fingerprint: str,
                 flag: str = "--output", crossfit: dict | None = None) -> bool:
    """``check_folder``, then write the ownership file if there is none (True when this call
    wrote it): called right before a command's first write into ``out`` (under a lock: of two
    commands claiming one empty folder at once, the second sees the first's claim)."""
    from negbench.harness.io.atomic import write_json_atomic

    out = Path(out)
    check_folder(out, suite_name, fingerprint, flag, crossfit)  # a refusal writes nothing
    if (out / OWNER_FILE).exists():
        return False
    with file_lock(out / ".locks" / "folder.lock"):
        check_folder(out, suite_name, fingerprint, flag, crossfit)
        if not (out / OWNER_FILE).exists():
            owner = {"suite": suite_name, FIELD: fingerprint, "schema": SCHEMA}
            if crossfit is not None:
                owner["crossfit"] = spec_of({"crossfit": crossfit})
            write_json_atomic(owner, out / OWNER_FILE)
            return True
    return False


@contextmanager
def claimed(out: str | os.PathLike, suite_name: str, fingerprint: str,
            flag: str = "--output", crossfit: dict | None = None) -> Iterator[None]:
    """``claim_folder`` for the length of a command: a command that fails before writing
    anything but the claim leaves ``out`` as it found it (claim, lock and a folder it created
    removed)."""
    out = Path(out)
    existed = out.exists()
    fresh = claim_folder(out, suite_name, fingerprint, flag, crossfit)
    try:
        yield
    except BaseException:
        if fresh:
            _unclaim_if_empty(out, existed)
        raise


def _unclaim_if_empty(out: Path, existed: bool) -> None:
    ours = {out / OWNER_FILE, out / ".locks", out / ".locks" / "folder.lock"}
    if any(p not in ours for p in out.rglob("*")):
        return  # something was written: the claim stays with it
    (out / OWNER_FILE).unlink(missing_ok=True)
    shutil.rmtree(out / ".locks", ignore_errors=True)
    if not existed:
        with suppress(OSError):
            out.rmdir()
