"""The arithmetic of the delete check: bucket widths, differing buckets, key ranges, exact sums."""

from __future__ import annotations

import random
import struct
from functools import reduce

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dental_etl.sync import keysets
from dental_etl.sync.vanished import KeyTotals, sum_of_keys


def test_first_level_buckets_are_about_the_root_of_differences_times_rows() -> None:
    width = keysets.bucket_width(1, 6_000_000, 6_000_000, 10)
    assert width is not None and width & (width - 1) == 0  # a power of two: levels nest
    assert 4_000 < 6_000_000 / width < 16_000  # ~ sqrt(10 * 6M) = 7,746 buckets


@pytest.mark.parametrize(
    ("low", "high", "rows", "differences"),
    [
        (1, 1000, 1000, 300),  # a quarter of the table differs: read the key sets
        (-(2**63), 2**63 - 1, 1000, 1),  # the span overflows a signed offset
        (1, 10, 0, 1),
    ],
)
def test_no_buckets_when_they_cannot_pay(low: int, high: int, rows: int, differences: int) -> None:
    assert keysets.bucket_width(low, high, rows, differences) is None


def test_differing_buckets_and_their_merged_key_ranges() -> None:
    source = {0: (3, 7), 1: (2, 5), 2: (4, 1), 5: (1, 9)}
    warehouse = {0: (3, 7), 1: (3, 4), 2: (4, 2), 7: (1, 8)}
    found = keysets.differing(source, warehouse)
    assert found == {1: 3, 2: 4, 5: 1, 7: 1}
    assert keysets.key_ranges(found, low=-10, width=4) == [(-6, 2), (10, 14), (18, 22)]
    assert keysets.range_predicate("k", [(-6, 2), (10, 14)]) == "(k >= -6 AND k < 2) OR (k >= 10 AND k < 14)"


def test_mysql_unsigned_xor_reads_as_the_signed_value_of_the_warehouses() -> None:
    assert keysets.signed64(2**64 - 3) == -3
    assert keysets.signed64(5) == 5


def _xor(keys: list[int]) -> int:
    return keysets.signed64(reduce(lambda a, b: a ^ b, keys, 0))


@given(st.lists(st.integers(-(2**62), 2**62), min_size=2, max_size=200, unique=True), st.randoms())
def test_removing_any_key_changes_its_bucket(keys: list[int], rng: random.Random) -> None:
    low = min(keys)
    width = keysets.bucket_width(low, max(keys), len(keys), 1) or 1

    def buckets(ks: list[int]) -> dict[int, tuple[int, int]]:
        grouped: dict[int, list[int]] = {}
        for k in ks:
            grouped.setdefault((k - low) // width, []).append(k)
        return {b: (len(v), _xor(v)) for b, v in grouped.items()}

    gone = rng.choice(keys)
    found = keysets.differing(buckets([k for k in keys if k != gone]), buckets(keys))
    assert list(found) == [(gone - low) // width]
    (first, end), *_ = keysets.key_ranges(found, low, width)
    assert first <= gone < end


def _int64_array(values: list[int]) -> pa.Array:
    return pa.Array.from_buffers(
        pa.int64(), len(values), [None, pa.py_buffer(struct.pack(f"<{len(values)}q", *values))]
    )


def test_key_sums_are_exact_beyond_64_bits() -> None:
    values = [2**63 - 1, 2**63 - 1, -(2**63), -5, 7]
    assert sum_of_keys(_int64_array(values)) == sum(values)
    assert sum_of_keys(_int64_array([])) == 0


def test_key_totals_add_and_subtract_and_stay_unknown_without_a_sum() -> None:
    assert KeyTotals(10, 55) + KeyTotals(2, 23) - KeyTotals(1, 4) == KeyTotals(11, 74)
    assert (KeyTotals(10, None) + KeyTotals(2, 23)).key_sum is None
