"""Experiments as files: the keys of ``negbench run --config experiment.yaml``, validated with
pydantic; ``KEY=VALUE`` overrides and command-line options given explicitly override the file,
then ``${...}`` interpolations are resolved (``harness.overrides``, OmegaConf)."""

from __future__ import annotations

import argparse
import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from negbench.harness.errors import NegbenchError
from negbench.harness.pipeline.entries import Entry, label_problem, repeated_rows, split_label

Scalar = str | int | float | bool | None
RESOLVED_FILE = "experiment.resolved.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Component(_Strict):
    """One part of a ``mixture``: a sampler, its weight and its own parameters."""

    sampler: str
    weight: float = Field(ge=0)
    params: dict[str, Scalar] = {}


class SamplerSpec(_Strict):
    """A sampler with its parameters; ``components`` only for ``mixture``; ``label`` names
    the entry's records and table row (default: the sampler's name)."""

    name: str
    label: str | None = None
    params: dict[str, Scalar] = {}
    components: list[Component] | None = None

    @field_validator("label")
    @classmethod
    def _label_names_files(cls, v: str | None) -> str | None:
        problem = label_problem(v) if v is not None else None
        if problem:
            raise ValueError(problem)
        return v

    @model_validator(mode="after")
    def _own_name_is_no_label(self) -> SamplerSpec:
        if self.label == self.name:
            self.label = None
        return self

    @property
    def row(self) -> str:
        """The records' and table row's name."""
        return self.label or self.name

    @model_validator(mode="after")
    def _components_only_for_mixture(self) -> SamplerSpec:
        if self.components is not None:
            if self.name != "mixture":
                raise ValueError(f"components: only a mixture has components, not {self.name!r}")
            if "components" in self.params:
                raise ValueError("give a mixture's components once: as components or in params")
        return self

    def resolved_params(self) -> dict[str, Any]:
        """The parameters ``Sampler.from_dict`` takes (a mixture's components as its spec)."""
        if self.components is None:
            return dict(self.params)
        parts = []
        for c in self.components:
            for k, v in c.params.items():
                if any(ch in f"{k}{v}" for ch in ",[]:="):
                    raise NegbenchError(f"mixture component {c.sampler}: parameter {k}={v!r} "
                                        "may not contain , [ ] : or =")
            inner = ",".join(f"{k}={v}" for k, v in c.params.items())
            parts.append(f"{c.sampler}{f'[{inner}]' if inner else ''}:{c.weight:g}")
        return {**self.params, "components": ",".join(parts)}


class Experiment(_Strict):
    """Every option of ``negbench run`` as a key (same names, ``-`` written ``_``)."""

    suite: str
    samplers: list[SamplerSpec] = Field(min_length=1)
    output: str
    model: str | None = None
    query_prompt: str | None = None
    doc_prompt: str | None = None
    budget: str = "smoke"
    track: Literal["query-side", "full"] | None = None
    seeds: list[StrictInt] | None = None  # YAML true is not seed 1
    in_batch_mask: Literal["auto", "on", "off"] = "auto"
    mode: Literal["recipe", "controlled"] = "recipe"
    loss: str | None = None
    loss_param: list[str] = []
    device: str = "auto"
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    search: str = "exact"  # mining's corpus search: exact or ivf[:NAME=VALUE,...]
    data_root: str | None = None
    cache_dir: str | None = None
    collection: str | None = None
    no_audit: bool = False
    no_zero_shot: bool = False
    keep_models: bool = False
    trust_remote_code: bool = False
    # the budget's values (harness/training/budget.py OPTIONS); None: the named budget's
    batch_size: StrictInt | None = None
    lr: float | None = None
    epochs: StrictInt | float | None = None
    steps: int | None = Field(default=None, ge=1)
    max_steps: StrictInt | None = None
    warmup: float | None = None
    query_length: StrictInt | None = None
    train_length: StrictInt | None = None
    eval_length: StrictInt | None = None
    num_negatives: StrictInt | None = None
    folds: StrictInt | None = None  # cross-fitting (docs/crossfit.md); checked by the run
    fold_seed: StrictInt = 0
    # sequential seeds (docs/statistics.md); checked by the run
    target_mde: float | None = None
    max_seeds: StrictInt | None = None
    seed_groups: list[StrictInt] | None = None
    baseline: str | None = None
    spending: Literal["obrien-fleming", "pocock"] = "obrien-fleming"
    stop_after: Literal["mine", "train", "encode", "retrieve"] | None = None
    quiet: bool = False
    plugins: list[str] = []
    # where the runs happen (README, Scale-out); not part of any run's config hash
    shard: str | None = None
    executor: Literal["local", "ray", "slurm"] = "local"
    isolate: bool = False
    workers: int | None = Field(default=None, ge=1)  # None: scale_out.default_workers
    ray_address: str | None = None
    ray_cpus: int = Field(default=1, ge=1)
    ray_gpus: float | None = Field(default=None, ge=0)
    slurm_partition: str | None = None
    slurm_gpus: int | None = Field(default=None, ge=0)
    slurm_cpus: int = Field(default=2, ge=1)
    slurm_mem: float | None = Field(default=None, gt=0)
    slurm_time: int = Field(default=240, ge=1)
    slurm_array_parallelism: int = Field(default=64, ge=1)
    slurm_account: str | None = None
    slurm_qos: str | None = None
    slurm_constraint: str | None = None
    slurm_exclude: str | None = None
    slurm_setup: list[str] = []
    slurm_additional: dict[str, str | bool] = {}  # or a list of KEY=VALUE
    no_wait: bool = False  # submit and return; never in a resolved file
    ray_memory: float | None = Field(default=None, gt=0)
    ray_resources: dict[str, float] = {}  # or a list of KEY=VALUE / JSON objects
    ray_retries: int = Field(default=0, ge=0)
    ray_runtime_env: dict[str, Any] | str | None = None  # a mapping, JSON or a file

    @field_validator("slurm_setup", mode="before")
    @classmethod
    def _one_line(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("slurm_additional", mode="before")
    @classmethod
    def _sbatch_options(cls, v: Any) -> Any:
        from negbench.harness.pipeline.slurm_executor import additional

        return additional(v) if isinstance(v, (list, str, dict)) else v

    @field_validator("ray_resources", mode="before")
    @classmethod
    def _ray_resources(cls, v: Any) -> Any:
        from negbench.harness.pipeline.tasks import key_values

        return key_values(v, "ray_resources", number=True) if isinstance(v, (list, str, dict)) \
            else v

    @field_validator("samplers", mode="before")
    @classmethod
    def _sampler_forms(cls, v: Any) -> Any:
        """``"a,label=b"``, ``[a, label=b, {name: b, label: l, params: {...}}]`` or
        ``{a: {...}, b: {...}}``."""
        if isinstance(v, str):
            v = [s.strip() for s in v.split(",") if s.strip()]
        if isinstance(v, dict):
            v = [{"name": k, **(p or {})} if isinstance(p, dict) and
                 set(p) <= {"params", "components", "label"} else {"name": k, "params": p or {}}
                 for k, p in v.items()]
        return [_entry(s) if isinstance(s, str) else s for s in v] if isinstance(v, list) else v

    @field_validator("seeds", mode="before")
    @classmethod
    def _seed_forms(cls, v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool):
            return [v]
        if isinstance(v, str):  # "13,42": decimal digits only, the rest refused as not an int
            return [int(s) if s.isascii() and s.isdecimal() else s
                    for s in (t.strip() for t in v.split(",")) if s]
        return v

    @field_validator("seeds")
    @classmethod
    def _seeds_valid(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and (not v or len(set(v)) != len(v)
                              or any(not 0 <= s < 2**32 for s in v)):
            raise ValueError("seeds must be distinct integers in 0..2^32-1")
        return v

    @model_validator(mode="after")
    def _distinct_rows(self) -> Experiment:
        problem = repeated_rows([(s.name, s.label or "") for s in self.samplers])
        if problem:
            raise ValueError(f"samplers: {problem}")
        return self

    def sampler_params(self) -> dict[str, dict[str, Any]]:
        """Each entry's parameters by its row name (label, else sampler)."""
        return {s.row: s.resolved_params() for s in self.samplers}

    def grid(self) -> list[Entry]:
        """The grid's entries: sampler, parameters, label."""
        return [Entry(s.name, s.resolved_params(), s.label or "") for s in self.samplers]


def _entry(text: str) -> dict[str, str]:
    """``SAMPLER`` or ``LABEL=SAMPLER`` as a sampler entry."""
    sampler, label = split_label(text)
    return {"name": sampler, "label": label} if label else {"name": sampler}


def _one_line(exc: ValidationError, source: str) -> NegbenchError:
    """The first validation problem as one line; unknown keys get a 'did you mean'."""
    err = exc.errors()[0]
    loc = ".".join(str(x) for x in err["loc"])
    if err["type"] == "extra_forbidden":
        key = str(err["loc"][-1])
        known = _known_keys(err["loc"][:-1])
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return NegbenchError(f"{source}: unknown key {loc!r}{hint}")
    if err["type"] == "missing":
        return NegbenchError(f"{source}: missing key {loc!r} (put it in the file or give "
                             f"--{loc.replace('_', '-')})")
    msg = err["msg"].removeprefix("Value error, ")
    return NegbenchError(f"{source}: {loc}: {msg}" if loc else f"{source}: {msg}")


def _known_keys(loc: tuple) -> list[str]:
    model: type[BaseModel] = Experiment
    if loc and loc[0] == "samplers":
        model = Component if "components" in loc else SamplerSpec
    return list(model.model_fields)


class DuplicateKey(yaml.constructor.ConstructorError):
    """A mapping key given twice (PyYAML alone keeps the last value without a word)."""


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping; merge keys
    (``<<: *base``) may still be overridden."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            key = self.construct_object(key_node)
            if key in seen:
                raise DuplicateKey(None, None, f"key {key!r} given twice (first on line "
                                   f"{seen[key]})", key_node.start_mark)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep)


def load_file(path: str | Path) -> dict[str, Any]:
    """An experiment file's mapping (YAML or JSON); unreadable, malformed or a key given twice
    is one line."""
    try:
        data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=UniqueKeyLoader)
    except OSError as exc:
        raise NegbenchError(f"--config {path}: cannot read ({exc.strerror})") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f":{line + 1}" if line is not None else ""
        what = exc.problem if isinstance(exc, DuplicateKey) else "not valid YAML"
        raise NegbenchError(f"--config {path}{where}: {what}") from None
    if not isinstance(data, dict):
        raise NegbenchError(f"--config {path}: expected a mapping of keys (see "
                            "docs/python_api.md)")
    return data


def validate(data: dict[str, Any], source: str = "experiment") -> Experiment:
    """Validate a mapping of experiment keys; the first problem is a one-line error."""
    try:
        return Experiment.model_validate(data)
    except ValidationError as exc:
        raise _one_line(exc, source) from None


def cli_overrides(args: argparse.Namespace, given: set[str]) -> dict[str, Any]:
    """The experiment keys set explicitly on the command line (``given``: their dests)."""
    out = {k: getattr(args, k) for k in given if k in Experiment.model_fields}
    if "samplers" in out:
        out["samplers"] = [s.strip() for s in out["samplers"].split(",") if s.strip()]
    if "plugin" in given:
        out["plugins"] = list(args.plugin)
    return out


def _samplers_of(data: dict[str, Any], source: str) -> list[SamplerSpec]:
    return validate({**_REQUIRED, "samplers": data.get("samplers", ["-"])}, source).samplers


def merge(file_data: dict[str, Any], cli: dict[str, Any], params: list[str]) -> dict[str, Any]:
    """File keys, then explicit CLI keys on top; ``--param ROW.K=V`` updates the parameters of
    the entry named ROW (its label, else its sampler)."""
    merged = {**budget_follows(file_data, cli), **cli}
    if "samplers" in cli and "samplers" in file_data:  # keep the file's parameters
        by_row = {s.row: s for s in _samplers_of(file_data, "--config")}
        merged["samplers"] = []
        for spec in _samplers_of(cli, "--samplers"):
            kept = by_row.get(spec.row)
            if kept is not None and spec.label is not None and kept.name != spec.name:
                kept = None  # LABEL=SAMPLER naming another sampler than the file's LABEL
            merged["samplers"].append((kept or spec).model_dump(exclude_none=True))
    if params:
        specs = [s.model_dump(exclude_none=True) for s in _samplers_of(merged, "--config")]
        for item in params:
            key, sep, value = item.partition("=")
            name, dot, param = key.partition(".")
            spec = next((s for s in specs if s.get("label", s["name"]) == name), None)
            if not sep or not dot or spec is None:
                raise NegbenchError(f"--param {item!r}: expected ROW.NAME=VALUE with ROW an "
                                    "entry of the experiment (its label, else its sampler)")
            spec.setdefault("params", {})[param] = value
        merged["samplers"] = specs
    return merged


def budget_follows(earlier: dict[str, Any], later: dict[str, Any]) -> dict[str, Any]:
    """``earlier`` without the budget values that ``later`` (overrides, options) replaces:
    steps replace epochs and epochs steps; and when ``later`` names another budget, the
    values ``earlier`` states that equal its own budget's (a resolved file states them all)
    are dropped, so the other budget's apply; values it changed are kept."""
    from negbench.harness.training.budget import OPTIONS

    out = dict(earlier)
    for key, other in (("epochs", "steps"), ("steps", "epochs")):
        if later.get(key) is not None and other not in later:
            out.pop(other, None)
    name = earlier.get("budget", "smoke")
    if "budget" in later and later["budget"] != name:
        own = _named_budget_values(str(name), earlier.get("suite"))
        for key in OPTIONS:
            if key not in later and key in out and key in own and out[key] == own[key]:
                del out[key]
    return out


def _named_budget_values(name: str, suite: Any) -> dict[str, Any]:
    """The run options of budget ``name`` on ``suite`` ({} when either is unknown)."""
    from negbench.harness.training.budget import get_budget, option_values
    from negbench.suites.registry import get_suite

    try:
        overrides = get_suite(str(suite)).budgets.get(name) if suite else None
    except NegbenchError:
        overrides = None
    try:
        return option_values(get_budget(name, overrides))
    except NegbenchError:
        return {}


def apply_overrides(data: dict[str, Any], items: list[str], cli: set[str]) -> dict[str, Any]:
    """``data`` with the ``KEY=VALUE`` overrides ``items`` (``harness.overrides``); a key not
    of the experiment, given twice, or also given as an option (``cli``) is a one-line
    error."""
    from negbench.harness import overrides

    parsed = [overrides.parse(item) for item in items]
    seen: set[str] = set()
    for item, (key, _) in zip(items, parsed, strict=True):
        top = key.split(".")[0]
        if top not in Experiment.model_fields:
            close = difflib.get_close_matches(top, list(Experiment.model_fields), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise NegbenchError(f"override {item!r}: unknown key {top!r}{hint}")
        if top in cli:
            raise NegbenchError(f"override {item!r}: {top} is also given as "
                                f"--{top.replace('_', '-')}; give it once")
        if key in seen:
            raise NegbenchError(f"override {item!r}: {key} is given twice")
        seen.add(key)
    later = {k: v for k, v in parsed if "." not in k}
    return overrides.apply(budget_follows(data, later), items, "overrides")


PATH_KEYS = ("output", "data_root", "cache_dir", "collection", "model")


def resolve_keys(data: dict[str, Any], source: str) -> dict[str, Any]:
    """``data`` with its ``${...}`` interpolations resolved against every key (a key not given
    has its default); a path still holding ``${`` (an escaped one) is refused."""
    from negbench.harness import overrides

    defaults = {k: f.default for k, f in Experiment.model_fields.items() if not f.is_required()}
    out = overrides.resolve({**defaults, **data}, source)
    for key in PATH_KEYS:
        if "${" in str(out.get(key) or ""):
            raise NegbenchError(f"{source}: {key} {out[key]!r} holds '${{': not a path")
    return out


_REQUIRED = {"suite": "-", "output": "-", "samplers": ["-"]}


def explicit_options(argv: list[str]) -> set[str]:
    """The ``run`` options (dests) that ``argv`` gives explicitly, whatever their value."""
    from negbench.harness.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for p in (parser, sub.choices["run"]):
        for action in p._actions:
            action.default, action.required = argparse.SUPPRESS, False
    return set(vars(parser.parse_args(argv))) - {"command", "func"}


def prepare_run_args(args: argparse.Namespace) -> argparse.Namespace:
    """Merge ``--config`` (or an API mapping in ``args.experiment_data``) with the
    ``KEY=VALUE`` overrides and the explicit options, resolve its interpolations, validate,
    and load ``--plugin`` files; without a config, overrides or interpolations, check the
    three required options."""
    from negbench.strategies.plugins import load_plugins

    data = getattr(args, "experiment_data", None)
    items = list(getattr(args, "overrides", None) or [])
    if data is None and getattr(args, "config", None):
        data = load_file(args.config)
    if data is None and (items or any("${" in str(getattr(args, k, None) or "")
                                      for k in Experiment.model_fields)):
        data = {}  # the options (and overrides) are the whole experiment
    if data is not None:
        argv = getattr(args, "argv", None)
        given = explicit_options(argv) if argv else set()
        params = args.param if "param" in given else []
        source = f"--config {args.config}" if getattr(args, "config", None) else "experiment"
        cli = cli_overrides(args, given)
        data = apply_overrides(data, items, set(cli))
        exp = validate(resolve_keys(merge(data, cli, params), source), source)
        to_args(exp, args)
    else:
        missing = [f"--{k}" for k in ("suite", "samplers", "output") if not getattr(args, k)]
        if missing:
            raise NegbenchError(f"run needs {', '.join(missing)} (or --config FILE)")
    load_plugins(getattr(args, "plugin", None) or [])
    return args


def to_args(exp: Experiment, args: argparse.Namespace) -> argparse.Namespace:
    """``args`` with every experiment key set from ``exp``; sampler parameters resolved."""
    values = exp.model_dump()
    for k, v in values.items():
        if k not in ("samplers", "plugins"):
            setattr(args, k, v)
    args.samplers = ",".join(f"{s.label}={s.name}" if s.label else s.name for s in exp.samplers)
    args.param = []
    args.grid = exp.grid()
    args.plugin = list(exp.plugins)
    args.experiment = exp
    return args


def resolved(args: argparse.Namespace, grid: list[Entry], track: str, seeds: list[int],
             budget, used: dict[str, Any]) -> dict[str, Any]:
    """The experiment as it ran: every key, sampler parameters with their defaults, the
    budget's seeds, track and values (``budget.option_values``), and ``used``: the model,
    data root, cache folder and prompts the run resolved; itself a valid ``--config`` file."""
    from negbench.harness.training.budget import option_values
    from negbench.strategies.registry import get_sampler

    out = {k: getattr(args, k, f.default) for k, f in Experiment.model_fields.items()
           if k not in ("samplers", "plugins")}
    out.update(track=track, seeds=list(seeds), **option_values(budget), **used,
               shard=None,  # one array task's slice, not the experiment
               no_wait=False,  # how one submission waited, not the experiment
               plugins=[str(Path(p).resolve()) for p in getattr(args, "plugin", None) or []])
    out["samplers"] = [{"name": e.sampler, "label": e.label or None,
                        "params": get_sampler(e.sampler).from_dict(e.params).params_dict()}
                       for e in grid]
    config = validate(out, "resolved experiment").model_dump(mode="json")
    for s in config["samplers"]:
        for key in ("components", "label"):
            if s[key] is None:
                del s[key]
    return config


def write_resolved(config: dict[str, Any], out: Path) -> Path:
    from negbench.harness.io.atomic import write_text_atomic

    path = Path(out) / RESOLVED_FILE
    write_text_atomic(yaml.safe_dump(config, sort_keys=False), path)
    return path
