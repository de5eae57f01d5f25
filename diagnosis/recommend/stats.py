"""Small statistics helpers: Wilson intervals, means with standard errors, month arithmetic."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence


def wilson(successes: float, n: float, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a proportion; (0, 1) when there is no data."""
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def mean_se(values: Sequence[float]) -> tuple[float | None, float]:
    """Mean and standard error of the mean (se 0 for fewer than two values)."""
    n = len(values)
    if n == 0:
        return None, 0.0
    m = sum(values) / n
    if n < 2:
        return m, 0.0
    var = sum((v - m) ** 2 for v in values) / (n - 1)
    return m, math.sqrt(var / n)


def effective_n(weights: Sequence[float]) -> float:
    """Kish effective sample size of weighted observations."""
    s = sum(weights)
    s2 = sum(w * w for w in weights)
    return (s * s / s2) if s2 > 0 else 0.0


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, clamped to the end of shorter months."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    for d in range(day.day, 27, -1):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    return dt.date(year, month, min(day.day, 28))


def months_between(start: dt.date, end: dt.date) -> float:
    """Months from ``start`` to ``end`` (average month length), negative when end is earlier."""
    return (end - start).days / 30.4375


