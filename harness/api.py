"""The Python API behind ``import negbench``: ``run``, ``mine``, ``export``,
``load_results``."""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from negbench.harness.errors import NegbenchError


@dataclass(frozen=True)
class Results:
    """A finished experiment: its output folder, the resolved config and the table."""

    output: Path
    config: dict[str, Any]
    table: str

    def records(self) -> list[dict]:
        from negbench.harness.evaluation.records import read_records

        return read_records(self.output)

    def to_frame(self, per_query: bool = False):
        """``load_results(self.output, per_query)``."""
        return load_results(self.output, per_query=per_query)


def _config_mapping(config: Any) -> tuple[dict[str, Any], str | None]:
    from negbench.harness.experiment import load_file

    if isinstance(config, (str, Path)):
        return load_file(config), str(config)
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.asdict(config), None
    if hasattr(config, "model_dump"):  # an Experiment (pydantic)
        return config.model_dump(exclude_none=True), None
    if isinstance(config, dict):
        return dict(config), None
    raise NegbenchError(f"config: expected a mapping, a path or a dataclass, not "
                        f"{type(config).__name__}")


def run(config: Any, **overrides: Any) -> Results:
    """Run an experiment: ``config`` is a mapping, a YAML path, a dataclass or an
    ``Experiment`` with the keys of ``negbench run --config``; ``overrides`` replace keys."""
    from negbench.harness.cli import build_parser
    from negbench.harness.commands.run import cmd_run
    from negbench.harness.experiment import RESOLVED_FILE, load_file
    from negbench.harness.logs import setup_logging

    data, path = _config_mapping(config)
    args = build_parser().parse_args(["run"])
    args.experiment_data, args.config = {**data, **overrides}, path
    if not logging.getLogger().handlers:
        setup_logging()
    cmd_run(args)
    out = Path(args.output)
    table = (out / "table.md").read_text() if (out / "table.md").exists() else ""
    return Results(out, load_file(out / RESOLVED_FILE), table)


def mine(suite: str, sampler: str, output: str | Path, params: dict | None = None,
         seed: int = 13, **options: Any) -> list[dict]:
    """Mine one sampler's negatives (``run`` stopped after its mine stage); returns the rows
    of ``<output>/negatives/<sampler>-seed<seed>.jsonl``."""
    run({"suite": suite, "samplers": [{"name": sampler, "params": params or {}}],
         "seeds": [seed], "output": str(output), "stop_after": "mine", **options})
    path = Path(output) / "negatives" / f"{sampler}-seed{seed}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def export(run_dir: str | Path, fmt: str, output: str | Path, sampler: str | None = None,
           seed: int | None = None, scores: str = "auto", data_root: str | Path | None = None,
           cache_dir: str | Path | None = None, device: str = "auto") -> int:
    """``negbench export``: the negatives mined in ``run_dir`` (e.g. the ``output`` of
    ``mine``) written as ``fmt`` (st, flagembedding or tevatron) to ``output``; FlagEmbedding
    lines carry ``pos_scores``/``neg_scores`` (``scores``: auto, teacher, model, none) and the
    run's query prompt. Returns the number of (query, positive) pairs."""
    from negbench.harness.pipeline.exporting import export_negatives

    return export_negatives(run_dir, fmt, output, sampler, seed, data_root, cache_dir, device,
                            scores)


# load_results: the columns of one row per run x measure, in order (per_query adds query_id)
RESULT_COLUMNS = ("suite", "split", "kind", "system", "seed", "track", "model", "budget",
                  "mode", "loss", "loss_params", "sampler_params", "device", "device_name",
                  "precision", "encoding_precision", "config_hash", "measure", "value")


def _params_json(params: Any) -> str | None:
    """Parameters as compact JSON with sorted keys (hashable: a frame can group by it)."""
    return None if params is None else json.dumps(params, sort_keys=True,
                                                  separators=(",", ":"))


def _run_columns(rec: dict) -> dict[str, Any]:
    """The per-run columns of ``load_results`` from one record (None where the record has no
    such field: zero-shot rows have no seed, loss or sampler; records written before the
    method layer have no mode or loss)."""
    from negbench.harness.reporting.comparability import encoding_precision

    method = rec.get("method") or {}
    config = rec.get("config") or {}
    device = rec.get("device") or {}
    loss = method.get("loss", config.get("loss"))
    return {"suite": rec["suite"], "split": rec["split"], "kind": rec["kind"],
            "system": rec["name"], "seed": rec.get("seed"), "track": rec.get("track"),
            "model": rec.get("model"), "budget": (rec.get("budget") or {}).get("name"),
            "mode": method.get("mode"), "loss": loss,
            "loss_params": _params_json(method.get("loss_params", config.get("loss_params"))
                                        if loss is not None else None),
            "sampler_params": _params_json((rec.get("sampler") or {}).get("params")),
            "device": device.get("device"), "device_name": device.get("name"),
            "precision": device.get("precision", config.get("precision")),
            # the vectors' precision (fp32 or bf16); <NA> for BM25, which encodes nothing
            "encoding_precision": encoding_precision(rec),
            "config_hash": rec.get("config_hash")}


def load_results(folder: str | Path, per_query: bool = False):
    """A results folder's records as a pandas DataFrame: one row per run x measure, or per
    run x measure x query with ``per_query=True``. Columns: ``RESULT_COLUMNS`` (plus
    ``query_id``); ``seed`` is a nullable integer (``Int64``, ``<NA>`` for zero-shot rows),
    ``value`` a float, every other column pandas' ``string`` dtype (``<NA>`` where the record
    has no such field); ``sampler_params``/``loss_params`` are JSON with sorted keys
    (``json.loads`` gives the dict back; as strings a frame can group by them)."""
    import pandas as pd

    from negbench.harness.evaluation.records import read_records

    if not (Path(folder) / "records").is_dir():
        raise NegbenchError(f"{folder}: no records/ folder (expected the output of a run)")
    rows = []
    for rec in read_records(folder):
        base = _run_columns(rec)
        for measure, value in rec["metrics"].items():
            if per_query:
                rows += [{**base, "measure": measure, "query_id": q, "value": v}
                         for q, v in rec["per_query"][measure].items()]
            else:
                rows.append({**base, "measure": measure, "value": value})
    columns = list(RESULT_COLUMNS)
    if per_query:
        columns.insert(columns.index("value"), "query_id")
    df = pd.DataFrame(rows, columns=columns)
    # one dtype per column whatever the records hold (pandas 2 and 3 alike)
    return df.astype({c: "Int64" if c == "seed" else float if c == "value" else "string"
                      for c in columns})
