"""``negbench plan``: the seeds and folds a finished grid would need to detect an effect.

From each comparison's estimated variance components (``stats.Components``), the MDE is
projected to other numbers of seeds (``stats.projected_mde``), on the official split and,
cross-fitted, over all labelled queries with K folds (each fold's runs move only its
queries: the seed part shrinks by K). The level is the correction's strictest step
(``stats.corrected_alpha``), as a verdict must clear it.
"""

from __future__ import annotations

from dataclasses import dataclass

from negbench.harness.reporting import stats
from negbench.harness.reporting.report import Report, families


@dataclass(frozen=True)
class Need:
    """What one comparison needs: seeds per side for each design (None: not reachable)."""

    a: str
    b: str
    diff: float
    mde: float  # now, at alpha
    mde_corrected: float  # now, at the corrected level
    power_now: float  # power for ``effect`` now, at the corrected level
    floor: float  # MDE with infinitely many seeds, this design's queries, corrected level
    seeds: dict[str, int | None]  # design label -> seeds per side needed
    floors: dict[str, float]  # design label -> MDE floor of that design


def plan(rep: Report, effect: float, power: float = 0.8, designs: list[tuple[str, int, int]]
         | None = None, max_seeds: int = 1000) -> list[Need]:
    """One ``Need`` per comparison of the trained systems' family of the first measure.
    ``designs``: (label, number of queries, folds) to project to besides the grid's own."""
    measure = rep.measures[0]
    family, _ = families(rep, [c for c in rep.comparisons if c.measure == measure])
    if not family:
        return []
    level = stats.corrected_alpha(rep.alpha, len(family), rep.correction)
    out = []
    for c in family:
        comps = c.components
        here = [("this grid", c.n_queries, 1)] + list(designs or [])
        seeds = {label: stats.seeds_needed(comps, effect, n, level, power, k, max_seeds)
                 for label, n, k in here}
        floors = {label: stats.mde_floor(comps, n, level, power) for label, n, _ in here}
        out.append(Need(c.a, c.b, c.diff, c.mde, c.mde_corrected,
                        stats.power_at(effect, c.se, c.df, level), floors["this grid"],
                        seeds, floors))
    return out


def to_markdown(needs: list[Need], rep: Report, effect: float, power: float) -> str:
    from tabulate import tabulate

    if not needs:
        return "No comparison between trained systems to plan for.\n"
    labels = list(needs[0].seeds)
    m = len(needs)
    level = stats.corrected_alpha(rep.alpha, m, rep.correction)
    headers = ["A", "B", "A − B", f"MDE (α={rep.alpha})", f"MDE ({rep.correction})",
               f"power for {effect:g} now"] + [f"seeds: {x}" for x in labels] + [
               f"floor: {x}" for x in labels]
    rows = [[n.a, n.b, f"{n.diff:+.4f}", f"{n.mde:.4f}", f"{n.mde_corrected:.4f}",
             f"{n.power_now:.2f}"]
            + [str(n.seeds[x]) if n.seeds[x] is not None else "unreachable" for x in labels]
            + [f"{n.floors[x]:.4f}" for x in labels] for n in needs]
    head = (f"Seeds per sampler needed to detect {rep.measures[0]} differences of {effect:g} "
            f"with {power:.0%} power at the {stats.CORRECTIONS[rep.correction]}-corrected "
            f"level α/m = {level:.4g} (m = {m} comparisons: the trained systems vs "
            f"`{rep.baseline}`), from each comparison's variance components.\n\n")
    foot = ("\n\n'unreachable': the design's query component alone (its floor, the MDE with "
            "infinitely many seeds) exceeds the effect; more queries are needed, e.g. "
            "cross-fitting (`negbench run --folds K`). Projections assume the variance "
            "components stay as estimated.\n")
    return head + tabulate(rows, headers, tablefmt="github") + foot
