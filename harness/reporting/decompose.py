"""The decomposition table: what a method's negatives bring and what its loss and schedule
bring, from a recipe-mode grid and a controlled-mode grid of the same suite.

For method M with baseline B (static ``dense``) and window-matched control W (e.g.
``dense[range_max=200]`` for ADORE):

- total = recipe[M] - B: the method as published against static hard negatives;
- negatives = controlled[M] - B: its negatives alone, under the shared loss and mask;
  split into window = controlled[W] - B (the depth of its window) and
  dynamic = controlled[M] - controlled[W] (what refreshing or re-retrieving adds);
- loss + schedule = recipe[M] - controlled[M].

Every component is a seed-aware comparison (``stats.compare``: seed and query variance) with
its 95% interval and minimum detectable effect at the Holm-corrected level of the table's
family; a component whose interval holds 0 is reported as "not separated". Where both sides
ran the same seeds (across grids too: a seed fixes data order and draws) the seeds are paired
(``stats.paired_seeds``). The baseline is a run of the same config in either folder (a controlled
grid's MNRL baseline without mask is the recipe grid's: one config hash, one function).
"""

from __future__ import annotations

from dataclasses import dataclass

from negbench.harness.errors import NegbenchError
from negbench.harness.evaluation.measures import select_measures
from negbench.harness.reporting import stats


@dataclass(frozen=True)
class Component:
    method: str
    part: str  # total, negatives, window, dynamic, loss + schedule
    a: str  # "recipe:adore", "controlled:adore", ...
    b: str
    cmp: stats.Comparison

    @property
    def separated(self) -> bool:
        return self.cmp.significant

    @property
    def mde_corrected(self) -> float:
        """The MDE at Holm's first (strictest) step: what a verdict must clear."""
        return self.cmp.mde_corrected


def _trained(records: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in records:
        if r.get("kind") == "trained":
            out.setdefault(r["name"], []).append(r)
    return {k: sorted(v, key=lambda r: r["seed"]) for k, v in out.items()}


def _mode(recs: list[dict]) -> str | None:
    return (recs[0].get("method") or {}).get("mode")


def _scores(recs: list[dict], measure: str) -> list[dict[str, float]]:
    return [r["per_query"][measure] for r in recs]


def decompose(recipe: list[dict], controlled: list[dict], measure: str,
              baseline: str = "dense", alpha: float = 0.05,
              resamples: int = 2000) -> list[Component]:
    """The decomposition of every method present in both grids (the baseline and the
    controlled grid's window controls excepted); one Holm family over all components."""
    measure = select_measures([measure], (m for r in recipe + controlled
                                          for m in r["metrics"]))[0]  # any spelling
    rec, con = _trained(recipe), _trained(controlled)
    for name, recs in rec.items():
        if _mode(recs) == "controlled":
            raise NegbenchError(f"the recipe folder's {name!r} records were run in controlled "
                                "mode: give the recipe-mode grid first")
    for name, recs in con.items():
        if _mode(recs) not in ("controlled", None) and name != baseline:
            raise NegbenchError(f"the controlled folder's {name!r} records were run in "
                                f"{_mode(recs)} mode: give the controlled-mode grid second")
    base = rec.get(baseline) or con.get(baseline)
    if not base:
        raise NegbenchError(f"baseline {baseline!r}: no records in either folder")
    if baseline in rec and baseline in con and {r["config_hash"] for r in rec[baseline]} != {
            r["config_hash"] for r in con[baseline]}:
        raise NegbenchError(f"baseline {baseline!r} differs between the folders (config "
                            "hashes): the controlled grid's shared loss or mask is not the "
                            "recipe baseline's; give --baseline a system of one of them")
    controls = {r.get("label") for recs in con.values() for r in recs if r.get("label")}
    methods = [m for m in rec if m in con and m != baseline and m not in controls]
    if not methods:
        raise NegbenchError("no method is in both folders (besides the baseline)")
    bname = f"{baseline}"
    out: list[Component] = []

    def add(method: str, part: str, a_name: str, a: list[dict], b_name: str, b: list[dict]):
        c = stats.compare(a_name, _scores(a, measure), b_name, _scores(b, measure), measure,
                          n_resamples=resamples, paired=stats.paired_seeds(
                              [r["seed"] for r in a], [r["seed"] for r in b]))
        out.append(Component(method, part, a_name, b_name, c))

    for m in methods:
        add(m, "total", f"recipe:{m}", rec[m], bname, base)
        add(m, "negatives", f"controlled:{m}", con[m], bname, base)
        control = _control_of(con[m])
        if control and control in con:
            add(m, "window", f"controlled:{control}", con[control], bname, base)
            add(m, "dynamic", f"controlled:{m}", con[m], f"controlled:{control}", con[control])
        add(m, "loss + schedule", f"recipe:{m}", rec[m], f"controlled:{m}", con[m])
    stats.correct_family([c.cmp for c in out], "holm", alpha)
    return out


def _control_of(recs: list[dict]) -> str | None:
    """The label of the method's window-matched control (its sampler's recipe)."""
    from negbench.strategies.registry import get_sampler

    name = (recs[0].get("sampler") or {}).get("name")
    try:
        return get_sampler(name).get_recipe().control_label
    except NegbenchError:
        return None


def to_markdown(rows: list[Component], measure: str, baseline: str) -> str:
    head = (f"Decomposition of {measure} against `{baseline}` (seed-aware 95% intervals; "
            f"Holm over the {len(rows)} components; MDE at 80% power, at α and at the "
            f"corrected level {stats.CORRECTED_ALPHA})\n\n")
    lines = [("| method | component | A | B | A − B | 95% interval | MDE | MDE (Holm) | "
              "verdict |"), "|---|---|---|---|---|---|---|---|---|"]
    for c in rows:
        k = c.cmp
        verdict = ("A > B" if k.diff > 0 else "A < B") if c.separated else "not separated"
        lines.append(f"| {c.method} | {c.part} | {c.a} ({k.seeds_a} seeds) | {c.b} "
                     f"({k.seeds_b} seeds) | {k.diff:+.4f} | [{k.ci_low:+.4f}, "
                     f"{k.ci_high:+.4f}] | {k.mde:.4f} | {c.mde_corrected:.4f} | {verdict} |")
    return head + "\n".join(lines) + "\n"
