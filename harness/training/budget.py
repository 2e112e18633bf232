"""Training budgets: fixed by the suite, never by the sampler, so samplers compare fairly.

A budget fixes epochs over the suite's training pairs (or a step count), capped by
``max_steps`` for suites with very large training sets, plus batch, learning rate, warmup,
lengths, negatives per pair, the default seeds and the default training track.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from negbench.harness.errors import NegbenchError

TRACKS = {
    "query-side": "document tower frozen (the base model), corpus encoded once and cached; only "
                  "the query tower is trained against the cached document vectors (ADORE's "
                  "setting, Zhan et al. 2021)",
    "full": "both towers (one shared model) fine-tuned with the sentence-transformers Trainer; "
            "the corpus is re-encoded with the trained model for evaluation",
}


@dataclass(frozen=True)
class TeacherCap:
    """A smoke-sized cross-encoder teacher for the samplers that score their candidates with
    one (``denoised``, ``ar2-lite``, ``tas-balanced``): at most ``steps`` training steps per
    fold over at most ``folds`` folds at text length ``max_length``; it scores the candidates of
    at most ``queries`` training queries (a fixed hash-ordered subset; the other pairs choose
    among their candidates without it), at most ``window`` candidates per pair. Without a cap
    (every budget but ``smoke``) SciFact's ``denoised`` trains 3 x 150 steps and scores about
    28,000 pairs: tens of minutes on 2 CPU cores."""

    queries: int = 32
    window: int = 5
    steps: int = 20
    folds: int = 1
    max_length: int = 64

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise NegbenchError(f"sampler_teacher.{f.name} must be an integer >= 1, "
                                    f"got {value!r}")

    def describe(self) -> str:
        return (f"teachers capped: {self.steps} steps x {self.folds} fold(s) at length "
                f"{self.max_length}, the top {self.window} candidates of {self.queries} "
                "queries scored")


@dataclass(frozen=True)
class Budget:
    """Everything that bounds one training run.

    ``epochs`` passes over the training pairs (``steps`` instead when set), each epoch
    ``pairs // batch_size`` steps (the last partial batch is dropped), at most ``max_steps``.
    ``query_max_length`` is the training query length of the query-side track;
    ``train_max_length`` the text length of the full track; ``eval_max_length`` the length at
    which the corpus and test queries are encoded for mining and evaluation.
    """

    name: str
    batch_size: int
    learning_rate: float
    warmup_ratio: float
    train_max_length: int
    eval_max_length: int
    epochs: float | None = None
    steps: int | None = None
    max_steps: int | None = None
    query_max_length: int = 64
    negatives_per_example: int = 1
    retrieve_k: int = 1000
    seeds: tuple[int, ...] = (13, 42, 87)
    track: str = "query-side"
    teacher_steps: int = 150  # cross-encoder teacher for false-negative accounting (0 = off)
    # the samplers' cross-encoder teachers, smoke-sized (None: as their parameters say)
    sampler_teacher: TeacherCap | None = None
    # fields run options (``with_options``) set away from the named budget: records say so
    changed: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.sampler_teacher, dict):  # from a record or a suite's overrides
            object.__setattr__(self, "sampler_teacher", TeacherCap(**self.sampler_teacher))
        if (self.epochs is None) == (self.steps is None):
            raise NegbenchError(f"budget {self.name!r}: set exactly one of epochs and steps")
        if self.track not in TRACKS:
            raise NegbenchError(f"budget {self.name!r}: unknown track {self.track!r}; "
                                f"known: {', '.join(TRACKS)}")
        for f in ("batch_size", "train_max_length", "eval_max_length", "query_max_length",
                  "retrieve_k"):
            if getattr(self, f) < 1:
                raise NegbenchError(f"budget {self.name!r}: {f} must be >= 1")

    def num_steps(self, pairs: int) -> int:
        """Optimizer steps for ``pairs`` training pairs under this budget."""
        if self.steps is not None:
            steps = self.steps
        else:
            steps = math.ceil(self.epochs * max(1, pairs // self.batch_size))
        return min(steps, self.max_steps) if self.max_steps else steps

    def describe(self, pairs: int | None = None) -> str:
        """One line for tables and READMEs."""
        span = (f"{self.steps} steps" if self.steps is not None else
                f"{self.epochs:g} epochs" + (f" (max {self.max_steps} steps)"
                                             if self.max_steps else ""))
        if pairs is not None:
            span += (f" over {pairs} pairs" if self.steps is not None else
                     f" = {self.num_steps(pairs)} steps over {pairs} pairs")
        changed = (f" (set by run options: {', '.join(self.changed)})" if self.changed
                   else "")
        return (f"`{self.name}`: {span} x batch {self.batch_size}, lr {self.learning_rate:g}, "
                f"warmup {self.warmup_ratio:g}, query length {self.query_max_length} "
                f"(query-side) / train length {self.train_max_length} (full), eval length "
                f"{self.eval_max_length}, {self.negatives_per_example} mined negative(s) per "
                f"pair{changed}" + (f"; {self.sampler_teacher.describe()}"
                                    if self.sampler_teacher else ""))

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        if d["sampler_teacher"] is None:  # the budgets without a cap keep their config hashes
            d.pop("sampler_teacher")
        return d


BUDGETS = {
    # CI: a real but tiny run (a few minutes on 2 CPU cores): no false-negative audit (a
    # teacher trained for a smoke run's minutes ranks at chance, so its shares say nothing) and
    # smoke-sized teachers for the samplers that need one.
    "smoke": Budget("smoke", steps=3, batch_size=8, learning_rate=2e-5, warmup_ratio=0.0,
                    train_max_length=64, eval_max_length=64, query_max_length=64,
                    seeds=(13,), teacher_steps=0, sampler_teacher=TeacherCap()),
    # A budget that converges: 10 epochs, 5 seeds, query-side by default (CPU and GPU compare);
    # `--track full` is the GPU comparison.
    "standard": Budget("standard", epochs=10, max_steps=500, batch_size=64, learning_rate=2e-5,
                       warmup_ratio=0.1, train_max_length=256, eval_max_length=256,
                       query_max_length=64, seeds=(13, 42, 87, 123, 2024)),
    # The seed papers' scale; needs a GPU.
    "paper": Budget("paper", steps=10_000, batch_size=128, learning_rate=2e-5,
                    warmup_ratio=0.1, train_max_length=256, eval_max_length=512,
                    track="full", teacher_steps=2000),
}


def get_budget(name: str, overrides: dict | None = None) -> Budget:
    """A named budget with optional per-suite overrides (unknown keys are an error)."""
    if name not in BUDGETS:
        sweep = "; several at once: --multirun budget=A,B" if "," in str(name) else ""
        raise NegbenchError(f"unknown budget {name!r}; known: {', '.join(BUDGETS)}{sweep}")
    base = BUDGETS[name]
    overrides = dict(overrides or {})
    unknown = set(overrides) - {f.name for f in dataclasses.fields(Budget)}
    if unknown:
        raise NegbenchError(f"budget override has unknown key(s) {sorted(unknown)}")
    if "seeds" in overrides:
        overrides["seeds"] = tuple(overrides["seeds"])
    if "steps" in overrides and "epochs" not in overrides:
        overrides["epochs"] = None
    if "epochs" in overrides and "steps" not in overrides:
        overrides["steps"] = None
    return dataclasses.replace(base, **overrides)


# run options (``negbench run --lr ...``, experiment keys) -> the Budget field each one sets
OPTIONS = {"batch_size": "batch_size", "lr": "learning_rate", "epochs": "epochs",
           "steps": "steps", "max_steps": "max_steps", "warmup": "warmup_ratio",
           "query_length": "query_max_length", "train_length": "train_max_length",
           "eval_length": "eval_max_length", "num_negatives": "negatives_per_example"}


def _problem(option: str, value: float) -> str | None:
    """Why ``value`` is refused for ``option`` (None when it is fine)."""
    if option in ("lr", "epochs"):
        return None if math.isfinite(value) and value > 0 else "must be a number > 0"
    if option == "warmup":
        return None if 0 <= value < 1 else "is a ratio of the steps: from 0 to below 1"
    if isinstance(value, bool) or not isinstance(value, int):
        return "must be an integer"
    if option == "batch_size":
        return None if value >= 2 else "must be >= 2 (in-batch negatives need another row)"
    return None if value >= 1 else "must be >= 1"


def with_options(budget: Budget, values: dict) -> Budget:
    """``budget`` with the run options of ``values`` (keys of ``OPTIONS``; None keeps the
    budget's own), each checked (a bad value is a one-line error naming its option). Steps
    replace epochs and epochs replace steps; fields that end up different from ``budget``'s
    are listed in ``changed``."""
    given = {k: v for k, v in values.items() if v is not None}
    if "epochs" in given and "steps" in given:
        raise NegbenchError(f"--epochs {given['epochs']} and --steps {given['steps']}: give "
                            "one of them (the budget trains for epochs or for steps)")
    for option, value in given.items():
        why = _problem(option, value)
        if why:
            raise NegbenchError(f"--{option.replace('_', '-')} {value}: {why}")
    changes = {OPTIONS[k]: v for k, v in given.items()}
    if "steps" in given:
        changes["epochs"] = None
    if "epochs" in given:
        changes["steps"] = None
    # a value equal to the budget's keeps the budget's (10.0 epochs hash as 10)
    changes = {f: v for f, v in changes.items() if getattr(budget, f) != v}
    changed = tuple(sorted(set(changes) | set(budget.changed)))
    return dataclasses.replace(budget, **changes, changed=changed)


def option_values(budget: Budget) -> dict:
    """The run options that reproduce ``budget`` from its name (every one stated)."""
    return {option: getattr(budget, field) for option, field in OPTIONS.items()}
