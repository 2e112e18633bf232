"""Training budgets: fixed by the suite, never by the sampler, so samplers compare fairly."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from negbench.harness.errors import NegbenchError


@dataclass(frozen=True)
class Budget:
    """Everything that bounds one training run. ``train_max_length`` may be shorter than
    ``eval_max_length``; records state both."""

    name: str
    steps: int
    batch_size: int
    learning_rate: float
    warmup_ratio: float
    train_max_length: int
    eval_max_length: int
    negatives_per_example: int = 1
    retrieve_k: int = 1000
    seeds: tuple[int, ...] = (13, 42, 87)
    hardware: str = "cpu"
    teacher_steps: int = 150  # cross-encoder teacher for false-negative accounting (0 = off)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


BUDGETS = {
    # CI: a real but tiny run (a few minutes on 2 CPU cores).
    "smoke": Budget("smoke", steps=3, batch_size=8, learning_rate=2e-5, warmup_ratio=0.0,
                    train_max_length=64, eval_max_length=64, retrieve_k=1000, seeds=(13,),
                    teacher_steps=20),
    # The real comparison on CPU: about 5 min per SciFact run here (2 cores, uncontended).
    "standard": Budget("standard", steps=16, batch_size=32, learning_rate=3e-5,
                       warmup_ratio=0.1, train_max_length=128, eval_max_length=256),
    # The seed papers' scale; needs a GPU.
    "paper": Budget("paper", steps=10_000, batch_size=128, learning_rate=2e-5,
                    warmup_ratio=0.1, train_max_length=256, eval_max_length=512,
                    hardware="gpu", teacher_steps=2000),
}


def get_budget(name: str, overrides: dict | None = None) -> Budget:
    """A named budget with optional per-suite overrides (unknown keys are an error)."""
    if name not in BUDGETS:
        raise NegbenchError(f"unknown budget {name!r}; known: {', '.join(BUDGETS)}")
    base = BUDGETS[name]
    overrides = dict(overrides or {})
    unknown = set(overrides) - {f.name for f in dataclasses.fields(Budget)}
    if unknown:
        raise NegbenchError(f"budget override has unknown key(s) {sorted(unknown)}")
    if "seeds" in overrides:
        overrides["seeds"] = tuple(overrides["seeds"])
    return dataclasses.replace(base, **overrides)
