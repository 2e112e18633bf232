"""One run = a pure function of its ``RunConfig``: the track's stages (mine -> train -> encode
-> retrieve -> audit -> evaluate, see ``harness.pipeline``) run by the stage executor.

Every stage writes its output atomically and is recorded in a per-run manifest
(``<out>/work/<key>/manifest.json``), so a run killed at any point resumes at the unfinished
stage; a grid re-run skips (sampler, seed) runs whose record exists with the same config hash.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from negbench.harness.data.fingerprint import matches
from negbench.harness.errors import NegbenchError
from negbench.harness.evaluation.records import (
    read_record,
)
from negbench.harness.pipeline.executor import (
    CRASH_ENV,
    InjectedCrash,
    Manifest,
    StageLog,
    run_stages,
)
from negbench.harness.pipeline.run_state import RunState
from negbench.harness.pipeline.stages import STAGES, TRACK_STAGES
from negbench.harness.pipeline.workspace import Workspace, base_encodings
from negbench.harness.retrieval.device import deterministic
from negbench.harness.training.budget import Budget
from negbench.strategies.registry import get_sampler

__all__ = ["CRASH_ENV", "STAGES", "InjectedCrash", "RunConfig", "execute_run", "is_done",
           "record_key"]


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines one run's result. The device is not part of it (records
    state it); the training precision is."""

    suite: str
    sampler: str
    params: dict
    seed: int
    budget: Budget
    model: str
    trust_remote_code: bool = False  # run the model folder's own Python code (opt-in)
    track: str = "query-side"
    precision: str = "fp32"
    in_batch_mask: bool = False  # STAR's rel_pair_mask in the loss
    prompts: dict = dataclasses.field(default_factory=dict)  # non-empty query/document prompts
    mode: str = "recipe"  # harness.training.method: recipe (as published) or controlled
    loss: str = "mnrl"
    loss_params: dict = dataclasses.field(default_factory=lambda: {"scale": 20.0})
    label: str = ""  # the row's name when it is not the sampler's (e.g. a window control)
    # cross-fitting (--folds): {"k", "index", "seed", "assignment_sha256"}; empty = official split
    fold: dict = dataclasses.field(default_factory=dict)
    # how mining searches the corpus (--search): exact, or ann_search's canonical ivf spec
    search: str = "exact"

    @property
    def name(self) -> str:
        """The record's and table row's name: the label, else the sampler."""
        return self.label or self.sampler

    @property
    def key(self) -> str:
        fold = f"-fold{self.fold['index']}" if self.fold else ""
        return f"{self.name}-seed{self.seed}{fold}"

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["budget"] = self.budget.to_dict()
        d["budget"].pop("seeds")  # the default seed list does not change a single run
        d["budget"].pop("teacher_steps")  # FN accounting reads the run; it does not change it
        d["budget"].pop("track")  # the run's track is ``track``
        d["budget"].pop("changed")  # which fields run options set: their values are hashed
        if not self.trust_remote_code:
            d.pop("trust_remote_code")
        if not self.prompts:  # records without prompts keep their config hashes
            d.pop("prompts")
        # the mode only resolves the loss and the mask (both hashed) and the label only names
        # the row: a run is the same function in either mode, under any label
        d.pop("mode")
        d.pop("label")
        if not self.fold:  # official-split runs keep their config hashes
            d.pop("fold")
        if self.search == "exact":  # exact-mined runs keep their config hashes
            d.pop("search")
        if self.loss == "mnrl" and self.loss_params in ({}, {"scale": 20.0}):
            d.pop("loss")  # MNRL runs are what every run was before losses: same hashes
            d.pop("loss_params")
        return d

    def config_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def execute_run(cfg: RunConfig, ws: Workspace, out: Path, callbacks=(),
                keep_model: bool = False, stop_after: str | None = None) -> dict | None:
    """Run ``cfg``'s track stage by stage, resuming from ``<out>/work/<key>/manifest.json``.

    ``stop_after`` (a stage name) leaves the run unfinished after that stage and returns None;
    running it again without ``stop_after`` finishes it (e.g. mine on a CPU node, train on a
    GPU node).

    The work folder (manifest, trained model) is deleted once the record is written; with
    ``keep_model`` the trained model (query tower on the query-side track) is first moved to
    ``<out>/models/<key>``.
    """
    out = Path(out)
    if cfg.fold:  # cross-fitted: the fold's data (train on the other folds, test on this one)
        spec = ws.crossfit.spec() if ws.crossfit is not None else None
        if spec is None or spec["assignment_sha256"] != cfg.fold.get("assignment_sha256"):
            raise NegbenchError(f"run {cfg.key} is cross-fitted but the workspace's fold "
                                "assignment differs (Workspace.cross_fit with its k and seed)")
        ws = ws.view(cfg.fold["index"])
    stages = TRACK_STAGES[cfg.track]
    state = RunState(cfg=cfg, ws=ws, out=out, sampler=get_sampler(cfg.sampler).from_dict(
        cfg.params), callbacks=tuple(callbacks))
    manifest = Manifest(out, cfg.key, cfg.config_hash(), [s.name for s in stages],
                        ws.data_fingerprint)
    deterministic(cfg.seed, ws.device)
    state.log = StageLog()
    state.encodings_at_start = base_encodings(ws)
    run_stages(stages, state, manifest, cfg.key, state.log, stop_after)
    if stop_after is not None and stop_after != stages[-1].name:
        return None
    if keep_model:
        kept = out / "models" / cfg.key
        shutil.rmtree(kept, ignore_errors=True)
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(state.model_dir), str(kept))
    shutil.rmtree(state.work, ignore_errors=True)
    try:
        state.work.parent.rmdir()  # only when no other run left work behind
    except OSError:
        pass
    return read_record(out / "records" / f"{cfg.key}.json")


def record_key(rec: dict) -> str:
    """A trained record's run key (``RunConfig.key``): name, seed and, cross-fitted, fold."""
    fold = (rec.get("crossfit") or {}).get("fold")
    return f"{rec['name']}-seed{rec.get('seed')}" + (f"-fold{fold}" if fold is not None else "")


def is_done(cfg: RunConfig, out: Path, data_fingerprint: str) -> bool:
    """The run's record exists with the same config hash and the same data fingerprint (a
    record without one, or from other data, is redone). A record that fails ``read_record``
    (malformed, edited) is refused naming the file, as ``report`` does: it is neither reused
    nor overwritten."""
    path = out / "records" / f"{cfg.key}.json"
    if not path.exists():
        return False
    rec = read_record(path)
    return rec.get("config_hash") == cfg.config_hash() and matches(rec, data_fingerprint)
