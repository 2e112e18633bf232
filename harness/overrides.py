"""``KEY=VALUE`` overrides, ``--multirun`` sweeps and ``${...}`` interpolation of experiment
mappings, with OmegaConf: the syntax Hydra users write (``budget=standard``,
``seeds=[13,42]``, ``output: results/${slug:${suite}}-${budget}``)."""

from __future__ import annotations

import itertools
import re
from typing import Any

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from negbench.harness.errors import NegbenchError, first_line

KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*\Z")  # a.b.0.c


def slug(text: Any) -> str:
    """``text`` as one folder name: runs of other characters than letters, digits and
    ``. _ + -`` become ``-`` (``beir/scifact`` -> ``beir-scifact``)."""
    return re.sub(r"[^A-Za-z0-9._+-]+", "-", str(text)).strip("-") or "-"


_register = getattr(OmegaConf, "register_resolver", None) or OmegaConf.register_new_resolver
_register("slug", slug, replace=True)


def parse(item: str) -> tuple[str, Any]:
    """``KEY=VALUE`` as (key, value); the value is read as YAML (``[13,42]`` a list, ``3e-5``
    a number), ``${...}`` kept for ``resolve``."""
    key, sep, raw = item.partition("=")
    if not sep or not KEY.match(key):
        raise NegbenchError(f"override {item!r}: expected KEY=VALUE after the options (e.g. "
                            "budget=standard, seeds=[13,42], samplers.0.params.range_max=200)")
    try:
        value = OmegaConf.to_container(OmegaConf.from_dotlist([f"v={raw}"]), resolve=False)
    except (OmegaConfBaseException, yaml.YAMLError, ValueError) as exc:
        raise NegbenchError(f"override {item!r}: cannot read the value "
                            f"({first_line(exc)})") from None
    return key, value["v"]


def _config(data: dict, source: str):
    try:
        return OmegaConf.create(data)
    except OmegaConfBaseException as exc:
        raise NegbenchError(f"{source}: {first_line(exc)}") from None


def apply(data: dict, items: list[str], source: str) -> dict:
    """``data`` with each override set (a dotted key reaches into mappings and lists; the
    value replaces what was there); interpolations are left for ``resolve``."""
    cfg = _config(data, source)
    for item in items:
        key, value = parse(item)
        try:
            OmegaConf.update(cfg, key, value, merge=False)
        except OmegaConfBaseException as exc:
            raise NegbenchError(f"override {item!r}: {first_line(exc)}") from None
    return OmegaConf.to_container(cfg, resolve=False)


def resolve(data: dict, source: str) -> dict:
    """``data`` with every ``${...}`` resolved (``${key}``, ``${oc.env:VAR}``,
    ``${slug:${suite}}``); one that cannot be is a one-line error naming its key."""
    cfg = _config(data, source)
    try:
        return OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException as exc:
        where = getattr(exc, "full_key", None) or "?"
        raise NegbenchError(f"{source}: {where}: cannot resolve the interpolation "
                            f"({first_line(exc)})") from None


def split_values(raw: str) -> list[str]:
    """A sweep's values: ``raw`` split at commas outside brackets, braces and quotes
    (``13,42`` two values; ``[13,42]`` and ``'a,b'`` one)."""
    values, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(raw):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        elif ch == "," and depth == 0:
            values.append(raw[start:i])
            start = i + 1
    return values + [raw[start:]]


def sweep(items: list[str]) -> list[list[str]]:
    """``--multirun``: one list of overrides per combination of the swept values (``key=a,b``
    sweeps ``key``), the first key varying slowest, as Hydra's basic sweeper does."""
    axes = []
    for item in items:
        key, sep, raw = item.partition("=")
        axes.append([f"{key}={v}" for v in split_values(raw)] if sep else [item])
    return [list(combo) for combo in itertools.product(*axes)]
