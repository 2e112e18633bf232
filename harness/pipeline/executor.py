"""The stage executor: runs a track's stages in order, reusing the finished prefix.

A stage is a small function with declared outputs: ``run(state)`` does the work and returns
``(paths, facts)``; ``restore(state, entry)`` puts a finished stage's outputs back into the
state on resume. The executor times each stage and records it in the per-run manifest
(``<out>/work/<key>/manifest.json``); a stage counts as done only when its entry carries the
run's config hash and its output files still hash to what was recorded, and redoing a stage
invalidates every later one. The manifest and each entry also carry the data fingerprint
(``harness.fingerprint``): a run folder resumed over other data starts over.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from negbench.harness.data.fingerprint import FIELD as FINGERPRINT
from negbench.harness.evaluation.records import peak_rss_mb
from negbench.harness.io.atomic import write_json_atomic
from negbench.harness.io.digest import sha256_path

logger = logging.getLogger(__name__)

CRASH_ENV = "NEGBENCH_CRASH_AFTER"  # fault injection for the resume tests: a stage name


class InjectedCrash(RuntimeError):
    """Raised after a stage is recorded when ``$NEGBENCH_CRASH_AFTER`` names that stage."""


class Manifest:
    """Per-run stage ledger: stage -> output paths (relative to ``out`` when inside it), their
    sha256, the config hash and the stage's facts (seconds, counts)."""

    def __init__(self, out: Path, key: str, config_hash: str, order: list[str],
                 data_fingerprint: str | None = None) -> None:
        self.out = Path(out)
        self.path = self.out / "work" / key / "manifest.json"
        self.config_hash = config_hash
        self.data_fingerprint = data_fingerprint  # the data the stages read (fingerprint.py)
        self.order = order
        self.stages: dict[str, dict] = {}
        if self.path.exists():
            try:
                raw = json.loads(self.path.read_text())
            except (json.JSONDecodeError, OSError, UnicodeDecodeError):
                raw = {}
            if isinstance(raw, dict) and raw.get("config_hash") == config_hash and \
                    raw.get(FINGERPRINT) == data_fingerprint:
                self.stages = dict(raw.get("stages") or {})

    def resolve(self, rel: str) -> Path:
        p = Path(rel)
        return p if p.is_absolute() else self.out / p

    def done(self, stage: str) -> dict | None:
        """The stage's entry if it finished under this config and its outputs are intact."""
        entry = self.stages.get(stage)
        if not isinstance(entry, dict) or entry.get("config_hash") != self.config_hash or \
                entry.get(FINGERPRINT) != self.data_fingerprint:
            return None
        for rel, sha in zip(entry["path"], entry["sha256"]):
            p = self.resolve(rel)
            if not p.exists() or sha256_path(p) != sha:
                return None
        return entry

    def mark(self, stage: str, paths: list[Path], **facts) -> None:
        """Record ``stage`` as finished (atomically) and drop every later stage."""
        for s in self.order[self.order.index(stage) + 1:]:
            self.stages.pop(s, None)
        rels = [str(Path(p).relative_to(self.out)) if Path(p).is_relative_to(self.out)
                else str(p) for p in paths]
        self.stages[stage] = {"path": rels, "sha256": [sha256_path(Path(p)) for p in paths],
                              "config_hash": self.config_hash,
                              FINGERPRINT: self.data_fingerprint, **facts}
        write_json_atomic({"config_hash": self.config_hash, FINGERPRINT: self.data_fingerprint,
                           "stages": self.stages}, self.path)
        if os.environ.get(CRASH_ENV) == stage:
            raise InjectedCrash(f"{CRASH_ENV}={stage}: stopping right after the {stage} stage")


@dataclass(frozen=True)
class Stage:
    """One step of a run. ``run`` returns ``(output paths, JSON facts)``; ``restore`` reloads
    them from a finished manifest entry."""

    name: str
    run: Callable[[Any], tuple[list[Path], dict]]
    restore: Callable[[Any, dict], None]


@dataclass
class StageLog:
    """Seconds per stage and which stages were reused from an interrupted run."""

    seconds: dict[str, float] = field(default_factory=dict)
    reused: list[str] = field(default_factory=list)
    # the process's peak RSS (MiB) when each stage ended: a running maximum, so a stage's own
    # peak is visible where it raises the figure (harness.records.rss_provenance says whose)
    peak_rss_mb: dict[str, float] = field(default_factory=dict)


def run_stages(stages: list[Stage], state: Any, manifest: Manifest, label: str,
               log: StageLog, stop_after: str | None = None) -> StageLog:
    """Run ``stages`` in order, filling ``log``; the finished prefix recorded in ``manifest``
    is restored instead of redone. ``stop_after`` ends the run once that stage is recorded
    (the manifest resumes it later, on this machine or another)."""
    reusing = True
    for stage in stages:
        entry = manifest.done(stage.name) if reusing else None
        if entry is not None:
            stage.restore(state, entry)
            log.seconds[stage.name] = entry.get("seconds", 0.0)
            log.reused.append(stage.name)
            continue
        if reusing and log.reused:
            logger.info("[negbench] %s: resuming, reusing finished stage(s) %s", label,
                        ", ".join(log.reused))
        reusing = False
        t0 = time.perf_counter()
        paths, facts = stage.run(state)
        log.seconds[stage.name] = round(time.perf_counter() - t0, 3)
        log.peak_rss_mb[stage.name] = round(peak_rss_mb(), 1)
        manifest.mark(stage.name, paths, seconds=log.seconds[stage.name], facts=facts)
        if stage.name == stop_after:
            break
    return log
