"""What a sampler is: declared parameters, a ``mine`` method, and the context it mines in."""

from __future__ import annotations

import abc
import dataclasses
import math
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from negbench.harness.data.collection import Corpus, Split
from negbench.harness.errors import NegbenchError
from negbench.harness.io import parse
from negbench.harness.io.negatives import NegativeRow
from negbench.harness.training.method import Recipe


@dataclass
class MiningContext:
    """Everything a sampler may use. Heavy resources are built lazily and shared across runs.

    ``exclude`` holds every judged-relevant doc of each query (all splits): never a negative.
    ``dense`` returns the base encoder wrapped in the embedding cache; ``bm25`` the BM25 searcher.
    ``device`` is where model-based samplers (the cross-encoder teacher) run; ``teacher_cap``
    is the budget's smoke-sized teacher (``harness.training.budget.TeacherCap``; None: the
    sampler's own parameters); ``progress`` shows the teacher's progress bars. ``search`` is
    how base-model rankings search the corpus: ``exact`` or an IVF spec (``--search``,
    ``harness.retrieval.ann_search``).
    """

    corpus: Corpus
    train: Split
    exclude: dict[str, set[str]]
    seed: int
    max_length: int
    dense: Callable[[], Any]
    bm25: Callable[[], Any]
    extra: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    teacher_cap: Any = None
    progress: bool = False
    search: str = "exact"


def _coerce(sampler: str, name: str, value: Any, hint: Any) -> Any:
    """Convert a (string) value to a field's declared type: int, float, bool, str, Optional;
    numbers follow the strict grammar of ``harness.parse`` (no ``1_0``, ``nan`` or ``inf``)."""
    if not isinstance(value, str) or hint is None:
        return value
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        if value.lower() in ("none", "null", "") and type(None) in args:
            return None
        hint = next(a for a in args if a is not type(None))
    loc = f"sampler {sampler!r}: parameter {name}"
    if hint is bool:
        if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise NegbenchError(f"{loc}={value!r} is not a bool")
        return value.lower() in ("true", "1", "yes")
    try:
        if hint is int:
            return parse.integer(value, "value", loc)
        if hint is float:
            return parse.score(value, loc)
    except NegbenchError:
        what = "an integer" if hint is int else "a finite number"
        raise NegbenchError(f"{loc}={value!r} is not {what}") from None
    return value


def check_params(sampler: str, params: Any) -> None:
    """Refuse values no sampler can use (a non-finite number, a bool where a number is
    declared), then run the parameters' own ``check()`` (ranges, counts, files) if any."""
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise NegbenchError(f"sampler {sampler!r}: parameter {f.name}={value} is not a "
                                "finite number")
    check = getattr(params, "check", None)
    if callable(check):
        try:
            check()
        except NegbenchError as exc:
            msg = str(exc)
            raise NegbenchError(msg if msg.startswith(("sampler ", f"{sampler}:"))
                                else f"sampler {sampler!r}: {msg}") from None


@dataclass
class NoParams:
    """A sampler without parameters."""


class Sampler(abc.ABC):
    """Base class: subclasses set ``name``, ``Params`` (a dataclass) and implement ``mine``.

    A sampler maps the training pairs of a suite to negatives: exactly one row per pair of
    ``training_pairs`` with exactly ``num_negatives`` negatives (none for in-batch), so every
    sampler trains on the same pairs. ``uses_negatives = False`` (in-batch) means training sees
    (query, positive) pairs only. ``paper`` names the method's source; ``simplified`` says in
    one line what negbench simplifies (empty: implemented as published).
    """

    name: ClassVar[str] = ""
    Params: ClassVar[type] = NoParams
    uses_negatives: ClassVar[bool] = True
    paper: ClassVar[str] = ""
    simplified: ClassVar[str] = ""
    # Mask, in each query's in-batch negatives, the other rows' documents judged relevant to it
    # (STAR's rel_pair_mask); a plugin's default recipe reads it.
    in_batch_mask: ClassVar[bool] = False
    # The method as published besides its negatives (loss, mask, schedule, window control);
    # None: MNRL with ``in_batch_mask``. See ``harness.training.method``.
    recipe: ClassVar[Recipe | None] = None
    # What the training plan hands a loss beyond the batch: "candidates" (a retrieved top-k
    # per query at every step), "teacher" (teacher scores of each row's documents).
    provides: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def get_recipe(cls) -> Recipe:
        return cls.recipe if cls.recipe is not None else Recipe(mask=cls.in_batch_mask)

    def __init__(self, params: Any | None = None) -> None:
        self.params = params if params is not None else self.Params()

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Sampler:
        """Build with parameters from a dict (CLI strings are coerced to the declared types);
        unknown names are a one-line error."""
        fields = {f.name for f in dataclasses.fields(cls.Params)}
        unknown = sorted(set(values) - fields)
        if unknown:
            raise NegbenchError(f"sampler {cls.name!r} has no parameter(s) {unknown}; "
                                f"known: {sorted(fields)}")
        hints = typing.get_type_hints(cls.Params)
        coerced = {k: _coerce(cls.name, k, v, hints.get(k)) for k, v in values.items()}
        params = cls.Params(**coerced)
        check_params(cls.name, params)
        sampler = cls(params)
        sampler.check()
        return sampler

    def check(self) -> None:
        """Validate parameters beyond ``Params.check`` (before anything runs); default none."""

    def check_suite(self, data: Any) -> None:
        """Refuse a suite this sampler cannot mine (e.g. no taxonomy), before anything runs;
        ``data`` is the suite's ``SuiteData``. Default: every suite."""

    @classmethod
    def description(cls) -> str:
        """The docstring's first paragraph on one line."""
        first = (cls.__doc__ or "").strip().split("\n\n")[0]
        return " ".join(first.split())

    def params_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.params)

    @abc.abstractmethod
    def mine(self, ctx: MiningContext) -> list[NegativeRow]:
        """Return one row per training pair (see ``training_pairs``)."""

    # Tracks the sampler can train on; ``check_track`` refuses the others (one line).
    tracks: ClassVar[tuple[str, ...]] = ("query-side", "full")

    @classmethod
    def check_track(cls, track: str) -> None:
        if track not in cls.tracks:
            raise NegbenchError(f"sampler {cls.name!r} does not run on the {track!r} track "
                                f"(only {', '.join(cls.tracks)})")

    def training_plan(self, ctx: MiningContext, budget: Any, track: str) -> Any:
        """A ``harness.training.dynamic.TrainingPlan`` (batch composition, refreshes with the
        model being trained), or None for static negatives in duplicate-free random batches."""
        return None


def training_pairs(split: Split) -> list[tuple[str, str]]:
    """(query id, positive id) pairs of a split, sorted: the rows every sampler fills."""
    return [(q, p) for q, pos in sorted(split.positives().items()) for p in pos]
