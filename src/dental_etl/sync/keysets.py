"""Where two key sets differ, found without reading every key: the arithmetic of bucketed checksums.

Both sides group a single integer key into buckets of `width` consecutive values
(`(key - low) DIV width`, `low` at or below every key so the operand is never negative and every
engine's integer division agrees) and report per bucket the number of keys and their XOR. XOR
cannot overflow and changes whenever one key joins or leaves a bucket. With `d` differences among
`n` evenly spread keys, about sqrt(d * n) buckets minimise what travels (the figures, plus the keys
of at most `d` buckets): a sync that lost ten rows of a six-million-row table compares some 8,000
figures and reads a few thousand keys instead of six million keys from each side. Keys are rarely
spread evenly (a dense run and a few outliers), so a differing bucket that still holds many keys is
split again, `FANOUT` ways, looking only inside it; widths are powers of two, so the buckets of
each level nest in those of the level above.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

Bucket = tuple[int, int]  # (keys in the bucket, XOR of the keys as a signed 64-bit value)
KeyRange = tuple[int, int]  # [first, end): half-open, as key >= first AND key < end

# Above this share of differing keys, reading every key costs no more than the buckets would.
FULL_COMPARE_SHARE = 0.25
# A differing bucket holding more keys than this is split again rather than read key by key.
LEAF_KEYS = 1024
FANOUT = 64
_INT64 = 1 << 63


def signed64(value: int) -> int:
    """A 64-bit pattern (MySQL's BIT_XOR is unsigned) as the signed value PostgreSQL and DuckDB give."""
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= _INT64 else value


def bucket_width(low: int, high: int, rows: int, differences: int) -> int | None:
    """Key values per first-level bucket (a power of two) for keys in [low, high], or None when
    comparing whole key sets is as cheap (many differences) or the span does not fit a signed
    64-bit offset."""
    span = high - low + 1
    if span >= _INT64 or rows <= 0:
        return None
    differences = max(1, differences)
    if differences >= FULL_COMPARE_SHARE * rows:
        return None
    buckets = max(1.0, math.sqrt(differences * rows))
    return 1 << max(0, math.ceil(math.log2(max(1.0, span / buckets))))


def differing(source: Mapping[int, Bucket], warehouse: Mapping[int, Bucket]) -> dict[int, int]:
    """The buckets whose figures differ -> the most keys either side holds in them."""
    found = {}
    for bucket in source.keys() | warehouse.keys():
        mine, theirs = source.get(bucket, (0, 0)), warehouse.get(bucket, (0, 0))
        if mine != theirs:
            found[bucket] = max(mine[0], theirs[0])
    return found


def key_ranges(buckets: Iterable[int], low: int, width: int) -> list[KeyRange]:
    """The key ranges of `buckets`, adjacent ones merged, in key order."""
    ranges: list[KeyRange] = []
    for bucket in sorted(buckets):
        first, end = low + bucket * width, low + (bucket + 1) * width
        if ranges and ranges[-1][1] == first:
            ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((first, end))
    return ranges


def range_predicate(column: str, ranges: Sequence[KeyRange]) -> str:
    """SQL both MySQL and the warehouses accept: `column` (already quoted) in any of `ranges`."""
    return " OR ".join(f"({column} >= {first} AND {column} < {end})" for first, end in ranges)


def batches(ranges: Sequence[KeyRange], size: int = 500) -> Iterable[Sequence[KeyRange]]:
    """Ranges a few hundred at a time, so no statement grows without bound."""
    for start in range(0, len(ranges), size):
        yield ranges[start : start + size]
