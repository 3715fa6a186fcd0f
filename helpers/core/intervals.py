"""Every notebook: Intervals and verdicts, the one toolkit every benchmark uses: bootstrap intervals over
evaluation windows, the order-statistic interval of a median, a speed-up ratio's interval, and a bar verdict that says
"tie within noise" when the interval contains the bar. ``scipy.stats.bootstrap`` does the resampling; seeds are fixed.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np


class Interval(NamedTuple):
    """A point estimate and its interval; ``confidence`` is the nominal (or, for :func:`median_ci`, achieved) level."""

    value: float
    lo: float
    hi: float
    confidence: float = 0.95


def bootstrap_ci(
    values_per_window: np.ndarray | tuple[np.ndarray, ...],
    statistic: Callable[..., float],
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Interval:
    """``statistic`` over all windows and its bootstrap interval (BCa, ``scipy.stats.bootstrap``), resampling windows.

    ``values_per_window`` is an array whose first axis is the window ([W] or [W, positions]), or a tuple of such
    arrays resampled together (paired, e.g. candidate and fp32 NLL); ``statistic`` receives the resampled arrays.
    Falls back to the percentile method when BCa is undefined; fewer than 2 windows give NaN bounds.
    """
    from scipy import stats

    paired = values_per_window if isinstance(values_per_window, tuple) else (values_per_window,)
    arrays = tuple(np.asarray(a) for a in paired)
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError("paired arrays need the same number of windows")
    value = float(statistic(*arrays))
    if n < 2:
        return Interval(value, math.nan, math.nan, confidence)
    if all(np.array_equal(a, np.broadcast_to(a[:1], a.shape)) for a in arrays):
        return Interval(value, value, value, confidence)  # identical windows: every resample gives the same value

    def on_windows(idx: np.ndarray) -> float:
        return float(statistic(*(a[idx] for a in arrays)))

    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():  # BCa is undefined when every resample gives the same value: NaN, then retry
            warnings.simplefilter("ignore", stats.DegenerateDataWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            rng = np.random.default_rng(seed)
            kwargs = {"n_resamples": n_boot, "confidence_level": confidence, "method": method, "random_state": rng}
            result = stats.bootstrap((np.arange(n),), on_windows, vectorized=False, **kwargs)
        lo, hi = (float(x) for x in result.confidence_interval)
        if math.isfinite(lo) and math.isfinite(hi):
            return Interval(value, lo, hi, confidence)
    return Interval(value, math.nan, math.nan, confidence)


def median_ci(samples: Sequence[float], confidence: float = 0.95) -> Interval:
    """Median and its distribution-free order-statistic interval [x_(r), x_(n+1-r)] (binomial(n, 1/2)).

    The widest interval is (min, max) with coverage 1 - 2 / 2**n (93.75 % for 5 runs): ``confidence`` of the
    result is the coverage achieved, which is below the one asked for when there are too few samples.
    """
    from scipy.stats import binom

    x = np.sort(np.asarray(samples, dtype=np.float64))
    n = len(x)
    if n == 0:
        raise ValueError("samples is empty")
    r = 1  # coverage of [x_(r), x_(n+1-r)] is 1 - 2 P(B <= r-1)
    while r + 1 <= (n + 1) // 2 and 1 - 2 * binom.cdf(r, n, 0.5) >= confidence:
        r += 1
    return Interval(float(np.median(x)), float(x[r - 1]), float(x[n - r]), float(1 - 2 * binom.cdf(r - 1, n, 0.5)))


def ratio_ci(
    baseline_samples: Sequence[float],
    samples: Sequence[float],
    n_boot: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Interval:
    """Speed-up ``median(baseline) / median(samples)`` of two sets of run times (> 1: faster than the baseline).

    The runs are independent, so each set is resampled on its own (``scipy.stats.bootstrap``, percentile method,
    fixed seed). Fewer than 2 runs on either side give NaN bounds.
    """
    from scipy import stats

    base, cand = np.asarray(baseline_samples, dtype=np.float64), np.asarray(samples, dtype=np.float64)
    if len(base) == 0 or len(cand) == 0:
        raise ValueError("both sample sets need at least one run")
    value = float(np.median(base) / np.median(cand))
    if len(base) < 2 or len(cand) < 2:
        return Interval(value, math.nan, math.nan, confidence)

    def speedup(b: np.ndarray, c: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.median(b, axis=axis) / np.median(c, axis=axis)

    rng = np.random.default_rng(seed)
    kwargs = {"n_resamples": n_boot, "confidence_level": confidence, "method": "percentile", "random_state": rng}
    result = stats.bootstrap((base, cand), speedup, vectorized=True, **kwargs)
    lo, hi = result.confidence_interval
    return Interval(value, float(lo), float(hi), confidence)


def bar_verdict(interval: Interval | Sequence[float], bar: float, higher_is_better: bool) -> str:
    """``"met"`` when the whole interval is on the good side of ``bar``, ``"missed"`` when it is wholly on the bad
    side, ``"tie within noise"`` when it contains the bar. ``interval`` is an :class:`Interval` or ``(lo, hi)``."""
    lo, hi = (interval.lo, interval.hi) if isinstance(interval, Interval) else (float(interval[0]), float(interval[1]))
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise ValueError(f"interval ({lo}, {hi}) has no finite ordered bounds: no verdict")
    if lo <= bar <= hi:
        return "tie within noise"
    above = lo > bar
    return "met" if above == higher_is_better else "missed"
