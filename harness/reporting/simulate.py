"""Simulated grids built from real per-query scores, to calibrate the seed-aware test.

A simulated system is ``k`` synthetic seeds x queries: per-query means + a seed main effect
N(0, sd^2) shared by the seed's queries + seed-by-query noise resampled from real residuals.
``null_pair`` keeps the *query component*: two real samplers' systematic per-query
differences, centred so the population difference is exactly ``effect``, over queries drawn
with replacement from the real ones, so the test sees a per-query difference variance as in
a real comparison (on a fixed query set a centred difference would sum to zero).
``crossfit_pair`` does the same over cross-fitting folds: each fold's runs have their own seed
effects (queries nested in folds).
"""

from __future__ import annotations

import math

import numpy as np

from negbench.harness.errors import NegbenchError
from negbench.harness.reporting.stats import two_way


def _parts(real: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(per-query means, seed-by-query residuals rescaled to their unbiased variance, seed main
    effect sd) of a real seeds x queries matrix (>= 2 seeds)."""
    real = np.asarray(real, float)
    r, n = real.shape
    if r < 2:
        raise NegbenchError("simulated seeds need >= 2 real seeds")
    seed_means, query_means = real.mean(axis=1), real.mean(axis=0)
    raw = real - seed_means[:, None] - query_means[None, :] + real.mean()
    vm, inter = two_way(real)
    resid = raw * math.sqrt(r / (r - 1) * (n / (n - 1)))
    seed_sd = math.sqrt(max(0.0, vm - inter / n))
    return query_means, resid, seed_sd


def _noise(resid: np.ndarray, cols: np.ndarray, pick: np.ndarray, sign: np.ndarray
           ) -> np.ndarray:
    return resid[pick, cols[None, :]] * sign


def _systematic(dc: np.ndarray, real_a: np.ndarray, real_b: np.ndarray) -> np.ndarray:
    """The centred per-query differences shrunk to their systematic part: the seed-averaged
    differences also carry the real seeds' seed-by-query noise (MS_inter / r, of the per-seed
    differences where both sides are the same r seeds), which the simulated seeds add again."""
    if real_a.shape == real_b.shape:
        noise = _mean_square(real_a - real_b) / real_a.shape[0]
    else:
        noise = _mean_square(real_a) / real_a.shape[0] + _mean_square(real_b) / real_b.shape[0]
    total = float(dc.var(ddof=1))
    return dc * math.sqrt(max(0.0, total - noise) / total) if total > 0 else dc


def _mean_square(y: np.ndarray) -> float:
    """Seed-by-query mean square of a seeds x queries matrix."""
    return two_way(y)[1]


def synthetic_seeds(real: np.ndarray, k: int, rng: np.random.Generator,
                    seed_sd: float | None = None) -> np.ndarray:
    """``k`` synthetic seeds (k x queries) of the method whose real seeds are the rows of
    ``real`` (>= 2 rows), on the real queries: each query's mean over the real seeds + a seed
    effect N(0, seed_sd^2) + seed-by-query noise (per query: a random real seed's residual,
    random sign). ``seed_sd`` None = the sd estimated from the real seeds. Two calls give two
    "samplers" that are the same method on the same queries: a null without query component."""
    means, resid, sd = _parts(real)
    n = means.size
    cols = np.arange(n)
    pick = rng.integers(0, resid.shape[0], size=(k, n))
    sign = rng.choice([-1.0, 1.0], size=(k, n))
    sd = sd if seed_sd is None else seed_sd
    return means[None, :] + rng.normal(0.0, sd, size=(k, 1)) + _noise(resid, cols, pick, sign)


def null_pair(real_a: np.ndarray, real_b: np.ndarray, k: int, rng: np.random.Generator,
              effect: float = 0.0, seed_sd: float | None = None, paired: bool = False,
              queries: np.ndarray | None = None, seed_corr: float = 0.5
              ) -> tuple[np.ndarray, np.ndarray]:
    """Two simulated systems (k x queries each) whose population difference is ``effect``,
    with the real systematic per-query differences of ``real_a`` - ``real_b`` (centred) over
    ``queries`` (column indices into the real queries; default: n drawn with replacement).

    Each side: its per-query means, its own seed effects (sd estimated from its real seeds,
    or ``seed_sd``) and its own real residuals. ``paired``: common random numbers, as when
    both sides ran the same seeds: the seed effects correlate (``seed_corr``) and seed j of
    both sides takes its residuals from the same real seed row (the rows of ``real_a`` and
    ``real_b`` must be the same seeds), with the same signs."""
    ma, ra, sda = _parts(real_a)
    mb, rb, sdb = _parts(real_b)
    if ma.size != mb.size:
        raise NegbenchError("the two real systems are not on the same queries")
    n = ma.size
    cols = rng.integers(0, n, size=n) if queries is None else np.asarray(queries, int)
    d = ma - mb
    centre = (ma + mb) / 2
    dc = _systematic(d - d.mean(), np.asarray(real_a, float), np.asarray(real_b, float))
    mean_a = centre[cols] + dc[cols] / 2 + effect
    mean_b = centre[cols] - dc[cols] / 2
    sda, sdb = (sda, sdb) if seed_sd is None else (seed_sd, seed_sd)
    m = cols.size
    if paired:
        if ra.shape[0] != rb.shape[0]:
            raise NegbenchError("paired simulation needs the same real seeds on both sides")
        pick = rng.integers(0, ra.shape[0], size=(k, m))
        sign = rng.choice([-1.0, 1.0], size=(k, m))
        z = rng.normal(size=(k, 2))
        za = z[:, :1]
        zb = seed_corr * z[:, :1] + math.sqrt(1 - seed_corr ** 2) * z[:, 1:]
        a = mean_a[None, :] + sda * za + _noise(ra, cols, pick, sign)
        b = mean_b[None, :] + sdb * zb + _noise(rb, cols, pick, sign)
        return a, b
    a = (mean_a[None, :] + rng.normal(0.0, sda, size=(k, 1))
         + _noise(ra, cols, rng.integers(0, ra.shape[0], size=(k, m)),
                  rng.choice([-1.0, 1.0], size=(k, m))))
    b = (mean_b[None, :] + rng.normal(0.0, sdb, size=(k, 1))
         + _noise(rb, cols, rng.integers(0, rb.shape[0], size=(k, m)),
                  rng.choice([-1.0, 1.0], size=(k, m))))
    return a, b


def crossfit_pair(real_a: np.ndarray, real_b: np.ndarray, k: int, folds: int, n_queries: int,
                  rng: np.random.Generator, effect: float = 0.0, paired: bool = False
                  ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """A cross-fitted simulated grid: ``n_queries`` queries drawn with replacement from the
    real ones, split into ``folds`` blocks; each block's k seeds have their own seed effects
    (one run per fold and seed). Returns (A, B, the blocks' column indices)."""
    cols = rng.integers(0, np.asarray(real_a).shape[1], size=n_queries)
    blocks = np.array_split(np.arange(n_queries), folds)
    parts = [null_pair(real_a, real_b, k, rng, effect, paired=paired, queries=cols[b])
             for b in blocks]
    return (np.concatenate([p[0] for p in parts], axis=1),
            np.concatenate([p[1] for p in parts], axis=1), blocks)
