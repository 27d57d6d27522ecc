"""Rows OpenDental hard-deleted: found by comparing primary-key sets, guarded against mass deletes.

No timestamp records a delete, so the only evidence is a key the warehouse holds and the source
no longer does. The work grows with the differences, not with the table:

1. the source's row count and key sum (one scan of its key index) against what the warehouse
   will hold after the pending upsert — the figures the loader keeps in `_dental.sync_state`
   (PostgreSQL would read its whole heap to count them) plus the staged new keys. Equal: nothing
   vanished, the usual case;
2. otherwise, for a single integer key, both sides count and XOR their keys per bucket of
   consecutive values (`keysets`), and only the buckets that differ are read key by key;
3. composite or non-integer keys, or differences too many for buckets to pay: both key columns
   are read whole (connectorx from MySQL, Arrow from the warehouse) and compared in Arrow
   (single keys) or anti-joined in polars (composite keys).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from dental_etl.errors import TableError
from dental_etl.mysql import quote_ident
from dental_etl.settings import SyncSettings
from dental_etl.sync import keysets
from dental_etl.sync.extracted import Extractor, SourceProbe
from dental_etl.sync.plan import SourceTable
from dental_etl.sync.written.base import Session, TableRef, quote

if TYPE_CHECKING:
    import polars as pl


@dataclass(frozen=True)
class DeleteGuard:
    """Refuses to remove more than `delete_guard_share` of a table (beyond `delete_guard_min_rows`
    rows) unless forced: a wrong or half-restored source must not empty the warehouse."""

    table: str
    settings: SyncSettings
    force: bool

    def check(self, vanishing: int, total: int) -> None:
        settings = self.settings
        if self.force or vanishing <= settings.delete_guard_min_rows:
            return
        if vanishing > settings.delete_guard_share * max(total, 1):
            raise TableError(
                f"{self.table}: would delete {vanishing} of {total} warehouse rows "
                f"(more than delete_guard_share={settings.delete_guard_share:g}); check that the source is "
                "the right database, then re-run with --force"
            )


@dataclass(frozen=True)
class KeyTotals:
    """Rows of a key set and the sum of its single integer key (None for other keys)."""

    rows: int
    key_sum: int | None

    def __add__(self, other: KeyTotals) -> KeyTotals:
        key_sum = None if self.key_sum is None or other.key_sum is None else self.key_sum + other.key_sum
        return KeyTotals(self.rows + other.rows, key_sum)

    def __sub__(self, other: KeyTotals) -> KeyTotals:
        key_sum = None if self.key_sum is None or other.key_sum is None else self.key_sum - other.key_sum
        return KeyTotals(self.rows - other.rows, key_sum)


@dataclass(frozen=True)
class Vanished:
    """What the comparison found: the keys to delete (raw names) and their totals, and the totals
    of the warehouse after the upsert — re-measured when the comparison read them, so figures kept
    in `sync_state` that drifted are corrected."""

    keys: pa.Table | None
    totals: KeyTotals
    expected: KeyTotals


@dataclass(frozen=True)
class KeySets:
    """One table's two key sets: the source's, and the warehouse's after the pending upsert."""

    table: SourceTable
    key: tuple[str, ...]  # source names
    schema: pa.Schema  # the raw table's
    target: TableRef
    stage: TableRef | None  # the staged rows, None when nothing was staged
    staged_keys: Sequence[pa.Table]  # their key columns (raw names)
    session: Session
    probe: SourceProbe
    extractor: Extractor

    @property
    def raw_key(self) -> list[str]:
        return [k.lower() for k in self.key]

    def vanished(self, expected: KeyTotals | None, guard: DeleteGuard) -> Vanished:
        """The warehouse keys gone from the source. `expected`: the warehouse's totals after the
        upsert (its rows plus the staged new keys), None when not known (composite keys)."""
        single = self.table.single_integer_key(self.key)
        if single is not None and expected is not None and expected.key_sum is not None:
            rows, total, low, high = self.probe.key_summary(self.table.name, single)
            if (rows, total) == (expected.rows, expected.key_sum):
                return Vanished(None, KeyTotals(0, 0), expected)
            plan = self._bucket_plan(rows, expected, low, high)
            if plan is not None:
                found = self._by_buckets(single, plan, guard)
                if found is not None:
                    return found
        return self._by_key_sets(single, guard)

    def _bucket_plan(
        self, rows: int, expected: KeyTotals, low: int | None, high: int | None
    ) -> tuple[int, int] | None:
        """(lowest key over both sides, bucket width), or None when buckets do not pay."""
        raw = self.raw_key[0]
        if low is None or high is None or not pa.types.is_signed_integer(self._key_type(raw)):
            return None
        if not self.session.has_bit_xor:
            return None
        held_low, held_high = self.session.key_range(self.target, raw)
        staged = [t.column(raw) for t in self.staged_keys if t.num_rows]
        lows = [low, held_low, *(pc.min(c).as_py() for c in staged)]
        highs = [high, held_high, *(pc.max(c).as_py() for c in staged)]
        lowest = min(v for v in lows if v is not None)
        highest = max(v for v in highs if v is not None)
        width = keysets.bucket_width(lowest, highest, max(rows, expected.rows), abs(rows - expected.rows))
        return None if width is None else (lowest, width)

    def _key_type(self, raw: str) -> pa.DataType:
        return self.schema.field(raw).type

    def _by_buckets(self, single: str, plan: tuple[int, int], guard: DeleteGuard) -> Vanished | None:
        """Compare bucket figures, split the crowded differing buckets until they are small, then
        read the keys of the differing ones; None when no bucket differs although the totals did
        (XOR collisions: the whole key sets decide)."""
        low, width = plan
        raw = self.raw_key[0]
        source = self.extractor.key_buckets(self.table, single, low, width)
        held, rows, held_sum = self.session.key_buckets(self.target, self.stage, raw, low, width)
        leaves: list[keysets.KeyRange] = []
        while True:
            found = keysets.differing(source, held)
            crowded = {b for b, keys in found.items() if keys > keysets.LEAF_KEYS and width > 1}
            leaves += keysets.key_ranges((b for b in found if b not in crowded), low, width)
            if not crowded:
                break
            ranges = keysets.key_ranges(crowded, low, width)
            width = max(1, width // keysets.FANOUT)
            source, held = {}, {}
            for part in keysets.batches(ranges):
                source |= self.extractor.key_buckets(
                    self.table, single, low, width, keysets.range_predicate(quote_ident(single), part)
                )
                held |= self.session.key_buckets(self.target, self.stage, raw, low, width, part)[0]
        if not leaves:
            return None
        leaves.sort()
        source_keys: list[pa.Array] = []
        candidates: list[pa.Array] = []
        for part in keysets.batches(leaves):
            where = keysets.range_predicate(quote_ident(single), part)
            source_keys.append(self.extractor.keys(self.table, (single,), where).column(0).combine_chunks())
            found_keys = self.session.keys_in_ranges(self.target, self.stage, raw, part)
            candidates.append(found_keys.column(0).combine_chunks())
        key_type = self._key_type(raw)
        kept = pa.concat_arrays([a.cast(key_type) for a in source_keys])
        candidate = pa.concat_arrays([a.cast(key_type) for a in candidates])
        gone = candidate.filter(pc.invert(pc.is_in(candidate, value_set=kept)))
        guard.check(len(gone), rows)
        keys = pa.Table.from_arrays([gone], names=[raw]) if len(gone) else None
        return Vanished(keys, KeyTotals(len(gone), sum_of_keys(gone)), KeyTotals(rows, held_sum))

    def _by_key_sets(self, single: str | None, guard: DeleteGuard) -> Vanished:
        """Read both key columns whole: Arrow for a single key, polars for composite keys."""
        raw_key = self.raw_key
        source_keys = self.extractor.keys(self.table, self.key)
        columns = ", ".join(quote(k) for k in raw_key)
        held = self.session.fetch_arrow(f"SELECT {columns} FROM {self.target.sql}")
        staged = [t for t in self.staged_keys if t.num_rows]
        key_type = self._key_type(raw_key[0])
        if single is None or not pa.types.is_integer(key_type):  # unsigned bigint: numeric in PostgreSQL
            return self._composite(source_keys, held, staged, guard)
        parts = [t.column(0).cast(key_type) for t in (held, *staged)]
        candidates = pc.unique(pa.chunked_array([c for part in parts for c in part.chunks], key_type))
        kept = source_keys.column(0).cast(key_type)
        gone = candidates.filter(pc.invert(pc.is_in(candidates, value_set=kept)))
        guard.check(len(gone), held.num_rows)
        expected = KeyTotals(len(candidates), sum_of_keys(candidates))
        keys = pa.Table.from_arrays([gone], names=[raw_key[0]]) if len(gone) else None
        return Vanished(keys, KeyTotals(len(gone), sum_of_keys(gone)), expected)

    def _composite(
        self, source_keys: pa.Table, held: pa.Table, staged: list[pa.Table], guard: DeleteGuard
    ) -> Vanished:
        import polars as pl  # composite keys only: most syncs never load it

        raw_key = self.raw_key
        held_frame = _frame(held)
        frames = [held_frame, *(_frame(t) for t in staged)]
        candidates = pl.concat(frames, how="vertical_relaxed").unique() if staged else held_frame
        source = _frame(source_keys).cast({c: candidates.schema[c] for c in raw_key})
        vanished = candidates.join(source, on=raw_key, how="anti")
        guard.check(vanished.height, held_frame.height)
        expected = KeyTotals(candidates.height, None)
        keys = vanished.to_arrow() if vanished.height else None
        return Vanished(keys, KeyTotals(vanished.height, None), expected)


def sum_of_keys(column: pa.Array | pa.ChunkedArray) -> int:
    """The exact sum of an integer (or integral decimal) column, whatever its size: 64-bit keys
    are summed as their high and low 32-bit halves, which cannot overflow."""
    if len(column) == 0 or column.null_count == len(column):
        return 0
    if pa.types.is_decimal(column.type):
        return int(pc.sum(column).as_py())
    values = column.cast(pa.int64())
    high = pc.sum(pc.shift_right(values, _int64(32))).as_py() or 0
    low = pc.sum(pc.bit_wise_and(values, _int64(0xFFFFFFFF))).as_py() or 0
    return int(high) * (1 << 32) + int(low)


def _int64(value: int) -> pa.Int64Scalar:
    """An Arrow scalar built from bytes: from a Python int, pyarrow would import pandas (~1 s)."""
    return pa.Array.from_buffers(pa.int64(), 1, [None, pa.py_buffer(value.to_bytes(8, sys.byteorder))])[0]


def _frame(table: pa.Table) -> pl.DataFrame:
    import polars as pl

    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame
