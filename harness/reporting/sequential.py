"""Sequential seeds: add seeds in groups and stop each comparison once it is decided.

A grid is looked at after each group of seeds (e.g. 5, 10, 20). At look j a comparison of a
trained sampler with the baseline stops when it **separates** (its corrected p below the
look's level) or when it is **resolved**: its MDE at the look's corrected level has fallen
below the target effect, so a difference that large would have been seen. Repeated looks
would inflate the type-I error, so the looks share α by an **error-spending** function of the
information fraction t = seeds / max seeds (Lan & DeMets 1983): O'Brien-Fleming-like,
alpha(t) = 2 - 2 Phi(z_{1-α/2} / sqrt t) (strict early, nearly α at the end), or Pocock-like,
alpha(t) = α ln(1 + (e - 1) t) (even). Look j tests at the increment alpha(t_j) - alpha(t_{j-1}):
the looks' levels sum to α, so by Bonferroni over looks the error stays at most α whatever the
correlation between looks (the exact group-sequential boundary would be slightly less strict).
Within a look the family correction (Holm by default) applies as in every report.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from scipy import stats as sps

from negbench.harness.errors import NegbenchError
from negbench.harness.reporting import stats

RULES = {"obrien-fleming": "O'Brien-Fleming-like (Lan-DeMets)", "pocock": "Pocock-like"}


def spent(t: float, alpha: float, rule: str = "obrien-fleming") -> float:
    """α spent up to information fraction ``t`` in (0, 1]."""
    if not 0 < t <= 1:
        raise NegbenchError(f"information fraction must be in (0, 1], got {t}")
    if rule == "obrien-fleming":
        return float(2 * sps.norm.sf(sps.norm.ppf(1 - alpha / 2) / math.sqrt(t)))
    if rule == "pocock":
        return float(alpha * math.log(1 + (math.e - 1) * t))
    raise NegbenchError(f"unknown spending rule {rule!r}; known: {', '.join(RULES)}")


def look_levels(looks: list[int], alpha: float, rule: str = "obrien-fleming") -> list[float]:
    """The level each look tests at: the α spent since the previous look."""
    total = looks[-1]
    cum = [spent(k / total, alpha, rule) for k in looks]
    return [c - p for c, p in zip(cum, [0.0, *cum[:-1]])]


def schedule(first: int, max_seeds: int, groups: list[int] | None = None) -> list[int]:
    """Seeds per sampler at each look: ``groups`` as given, else ``first`` doubled up to
    ``max_seeds`` (the last look always at ``max_seeds``)."""
    if groups:
        looks = sorted(set(groups))
        if looks[0] < 2 or looks != list(groups):
            raise NegbenchError(f"--seed-groups {groups}: increasing seed counts >= 2")
        return looks
    if first < 2 or max_seeds < first:
        raise NegbenchError(f"sequential seeds need 2 <= first group ({first}) <= --max-seeds "
                            f"({max_seeds})")
    looks = [first]
    while looks[-1] * 2 < max_seeds:
        looks.append(looks[-1] * 2)
    if looks[-1] != max_seeds:
        looks.append(max_seeds)
    return looks


def extend_seeds(base: list[int], n: int) -> list[int]:
    """``n`` seeds: ``base`` first, then 10000, 10001, ... (skipping those in ``base``), so a
    sequential grid's first group is the budget's usual seeds and later groups are fixed."""
    out = list(base[:n])
    extra = 10_000
    while len(out) < n:
        if extra not in out:
            out.append(extra)
        extra += 1
    return out


@dataclass
class Verdict:
    """Where one comparison stands after a look."""

    a: str
    b: str
    seeds: int  # seeds of ``a`` at this look
    look: int  # 1-based
    level: float  # the look's level (before the family correction)
    diff: float
    p_adj: float  # family-corrected p (seed-aware)
    mde_corrected: float  # MDE at the look's corrected level (level / m)
    status: str  # "separated", "resolved", "continue", "stopped at max seeds"

    @property
    def done(self) -> bool:
        return self.status != "continue"

    def line(self, target: float | None) -> str:
        why = {"separated": f"separated (corrected p {self.p_adj:.2g} < look level "
                            f"{self.level:.2g})",
               "resolved": f"not separated, MDE {self.mde_corrected:.4f} <= target "
                           f"{target:g}" if target else "resolved",
               "continue": f"open (corrected p {self.p_adj:.2g}, MDE {self.mde_corrected:.4f})",
               "stopped at max seeds": f"not separated at the last look (MDE "
                                       f"{self.mde_corrected:.4f})"}[self.status]
        return (f"{self.a} vs {self.b}: {self.seeds} seeds, look {self.look}, A − B "
                f"{self.diff:+.4f}: {why}")

    def to_dict(self) -> dict:
        return asdict(self)


def decide(family: list[stats.Comparison], look: int, level: float, target: float | None,
           last: bool, correction: str = "holm") -> list[Verdict]:
    """The verdict of each comparison of one family (trained systems vs the baseline) at a
    look tested at ``level``: corrected within the family at that level."""
    m = len(family)
    adjusted = stats.correct([c.p for c in family], correction, level)
    out = []
    for c, p in zip(family, adjusted):
        mde = stats.min_detectable_effect(c.se, c.df, stats.corrected_alpha(level, m,
                                                                            correction))
        if p < level:
            status = "separated"
        elif target is not None and mde <= target:
            status = "resolved"
        elif last:
            status = "stopped at max seeds"
        else:
            status = "continue"
        out.append(Verdict(c.a, c.b, c.seeds_a, look, level, c.diff, p, mde, status))
    return out
