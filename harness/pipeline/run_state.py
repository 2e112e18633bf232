"""``RunState``: what the stages of one run read and produce (``stages.py``), and what the
trained record is written from (``run_records.py``), in a module of its own so that both
import it downward."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from negbench.harness.io.negatives import NegativeRow


@dataclass
class RunState:
    """What the stages of one run read and produce."""

    cfg: Any  # RunConfig
    ws: Any  # Workspace
    out: Path
    sampler: Any
    callbacks: tuple = ()
    rows: list[NegativeRow] = field(default_factory=list)
    neg_path: Path | None = None
    neg_sha: str | None = None
    mining: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)
    q_path: Path | None = None
    doc_path: Path | None = None
    run_path: Path | None = None
    fn_report: dict | None = None
    log: Any = None  # the executor's StageLog (seconds so far, reused stages)
    encodings_at_start: dict = field(default_factory=dict)  # base_encodings() when it began

    @property
    def work(self) -> Path:
        return self.out / "work" / self.cfg.key

    @property
    def model_dir(self) -> Path:
        return self.work / "model"
