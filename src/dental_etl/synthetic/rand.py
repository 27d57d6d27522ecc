"""Seeded randomness and day arithmetic shared by the generator's modules.

Every part of the practice draws from its own generator, derived from the seed and a name, so a
change in one table's simulation does not reshuffle every other table. Dates are handled as
integer day numbers (days since 1970-01-01) and datetimes as integer seconds, vectorised with
numpy, and turned into polars Date/Datetime columns at the end.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import date, datetime

import numpy as np
import polars as pl

EPOCH = date(1970, 1, 1)
NO_DATE = date(1, 1, 1)
NO_DAY = (NO_DATE - EPOCH).days  # OpenDental's '0001-01-01' "no date" as a day number
DAY = 86_400


def rng_for(seed: int, name: str) -> np.random.Generator:
    """An independent generator for one purpose (stable across Python runs: crc32, not hash())."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def day_number(d: date) -> int:
    return (d - EPOCH).days


def weekday(days: np.ndarray) -> np.ndarray:
    """Monday=0 .. Sunday=6 (1970-01-01 was a Thursday)."""
    return (days + 3) % 7


def to_workday(days: np.ndarray) -> np.ndarray:
    """Saturday moves back to Friday, Sunday forward to Monday: the office is closed at weekends."""
    wd = weekday(days)
    return days + np.where(wd == 5, -1, 0) + np.where(wd == 6, 1, 0)


def dates(days: np.ndarray | pl.Series) -> pl.Series:
    """Day numbers -> polars Date."""
    return pl.Series(np.asarray(days, dtype=np.int32)).cast(pl.Date)


def datetimes(seconds: np.ndarray | pl.Series) -> pl.Series:
    """Seconds since 1970 -> polars Datetime (microseconds, naive; UTC by convention)."""
    return (pl.Series(np.asarray(seconds, dtype=np.int64)) * 1_000_000).cast(pl.Datetime("us"))


def day_start(d: date) -> int:
    return int((datetime(d.year, d.month, d.day) - datetime(1970, 1, 1)).total_seconds())


def pick(
    rng: np.random.Generator, values: Sequence | np.ndarray, weights: Sequence[float], size: int
) -> np.ndarray:
    """`size` draws from `values` with relative `weights`."""
    p = np.asarray(weights, dtype=float)
    idx = rng.choice(len(values), size=size, p=p / p.sum())
    return np.asarray(values)[idx]


def explode_counts(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For per-parent child counts: (parent index of each child, child's 0-based rank in its parent)."""
    counts = np.asarray(counts, dtype=np.int64)
    parent = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    rank = np.arange(len(parent)) - np.repeat(starts, counts)
    return parent, rank


def office_seconds(
    rng: np.random.Generator, days: np.ndarray, first_hour: int = 8, last_hour: int = 16
) -> np.ndarray:
    """A time on the quarter hour during office hours on each day, as seconds since 1970."""
    slots = (last_hour - first_hour) * 4
    quarter = rng.integers(0, slots, size=len(days))
    return days.astype(np.int64) * DAY + first_hour * 3600 + quarter * 900


def money(values: np.ndarray) -> np.ndarray:
    """Round to cents: OpenDental stores money as double, always entered to the cent."""
    return np.round(np.asarray(values, dtype=float), 2)
