"""One writer interface for both warehouses.

A `Writer` opens `Session`s (one per worker thread). A session does bulk I/O (`append`: COPY
or Arrow ingestion; `fetch_arrow`), plain statements, and transactions. Everything the loader
does to raw tables — create, swap in, upsert, delete by key — is written once here in SQL both
PostgreSQL and DuckDB accept; what differs is expressed as class attributes and small overrides
on the subclasses (type names, unlogged staging tables, primary-key constraints, view
dependencies), never as `if engine == ...`.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, ClassVar

import pyarrow as pa

from dental_etl import raw_schema
from dental_etl.sync import keysets
from dental_etl.sync.keysets import KeyRange

RAW = "raw"
CONTROL = "_dental"
NEW_PREFIX = "_new_"  # a full load is built as raw._new_<table>, then swapped in
STAGE_PREFIX = "stage_"  # incremental rows are staged in _dental.stage_<table>
DELETE_PREFIX = "del_"  # keys to delete are staged in _dental.del_<table>


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class TableRef:
    schema: str
    name: str

    @property
    def sql(self) -> str:
        return f"{quote(self.schema)}.{quote(self.name)}"

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


def raw_table(name: str) -> TableRef:
    return TableRef(RAW, name)


def type_family(arrow_type: pa.DataType) -> str:
    """A name both dialects' catalogue types are reduced to, for schema-drift comparison."""
    if pa.types.is_decimal(arrow_type):
        return "decimal"
    if pa.types.is_timestamp(arrow_type):
        return "timestamptz" if arrow_type.tz else "timestamp"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "text"
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        return "binary"
    if pa.types.is_duration(arrow_type):
        return "interval"
    return str(arrow_type)  # int16, int32, int64, float, double, date32[day]


class Session(ABC):
    """A worker's connection(s) to the warehouse. Not thread-safe: one per thread."""

    #: arrow type -> SQL type for CREATE TABLE (decimal handled apart)
    type_names: ClassVar[dict[pa.DataType, str]]
    #: catalogue data_type (lower-case, without precision) -> type_family
    catalogue_families: ClassVar[dict[str, str]]
    #: CREATE TABLE prefix for staging tables (PostgreSQL: UNLOGGED, no WAL)
    staging_create: ClassVar[str] = "CREATE TABLE"
    #: raw tables carry a PRIMARY KEY constraint (PostgreSQL); DuckDB's ART index would slow loads
    primary_key_constraint: ClassVar[bool] = False
    #: bulk appends can run inside a transaction of this session (DuckDB); PostgreSQL's go through
    #: their own ADBC connection, which commits by itself
    bulk_in_transaction: ClassVar[bool] = False
    #: integer division of two integers (PostgreSQL's `/` truncates; DuckDB's `/` gives a double)
    integer_division: ClassVar[str] = "/"
    #: counting and summing a whole key column is cheap (columnar DuckDB: milliseconds). PostgreSQL
    #: reads the whole heap for it, so the loader keeps those figures in `_dental.sync_state`.
    cheap_key_scan: ClassVar[bool] = False
    #: appended to a correlated "is this staged key in the target?" subquery. PostgreSQL turns a
    #: plain NOT EXISTS into a hash anti-join that reads the whole target; `OFFSET 0` keeps it a
    #: primary-key probe per staged row (6 ms instead of 70 ms for 2,000 keys against 110,000).
    probe_per_row: ClassVar[str] = ""
    #: a scan restricted to hundreds of key ranges joins them as a VALUES list (PostgreSQL: an
    #: index range scan per range; as an OR list it tested every row of the table against every
    #: range, 5 s for 500 ranges of a 470,000-row table against 43 ms) rather than filtering by
    #: an OR list (DuckDB: a vectorised scan, twice as fast as its range join)
    ranges_by_join: ClassVar[bool] = False

    # --- what each engine implements -------------------------------------------------------------
    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement (%s placeholders); return the affected row count when there is one."""

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def fetch_arrow(self, sql: str) -> pa.Table: ...

    @abstractmethod
    def append(self, ref: TableRef, data: pa.Table) -> None:
        """Bulk-append rows whose columns match the table's by name."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]: ...

    @abstractmethod
    def close(self) -> None: ...

    def dependents(self, ref: TableRef) -> list[str]:
        """Views bound to this table (which a DROP would break); none where views bind late."""
        return []

    def prepare_bulk(self) -> None:  # noqa: B027 (optional hook)
        """Bulk I/O is coming: open what it needs in the background (PostgreSQL: the ADBC driver)."""

    @property
    def has_bit_xor(self) -> bool:
        """The `bit_xor` aggregate exists (bucketed key comparison needs it)."""
        return True

    # --- shared SQL ------------------------------------------------------------------------------
    def sql_type(self, arrow_type: pa.DataType) -> str:
        if pa.types.is_decimal(arrow_type):
            return f"DECIMAL({arrow_type.precision},{arrow_type.scale})"
        for candidate in (arrow_type, _large_to_small(arrow_type)):
            if candidate in self.type_names:
                return self.type_names[candidate]
        raise ValueError(f"no warehouse type for Arrow type {arrow_type}")

    def ensure_schema(self, name: str) -> None:
        self.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(name)}")

    def table_exists(self, ref: TableRef) -> bool:
        rows = self.query(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
            (ref.schema, ref.name),
        )
        return bool(rows)

    def tables_with_prefix(self, schema: str, prefix: str) -> list[TableRef]:
        rows = self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        )
        return [TableRef(schema, name) for (name,) in rows if name.startswith(prefix)]

    def schema_columns(self, schema: str) -> dict[str, dict[str, str]]:
        """Every table of `schema`: column name -> type family, in table order (one query)."""
        rows = self.query(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s ORDER BY table_name, ordinal_position",
            (schema,),
        )
        tables: dict[str, dict[str, str]] = {}
        for table, column, data_type in rows:
            tables.setdefault(table, {})[column] = self._family(data_type)
        return tables

    def _family(self, data_type: str) -> str:
        base = re.split(r"\(", data_type.lower(), maxsplit=1)[0].strip()
        return self.catalogue_families.get(base, base)

    def create_table(
        self,
        ref: TableRef,
        schema: pa.Schema,
        *,
        staging: bool = False,
        defaults: Mapping[str, str] | None = None,
    ) -> None:
        """(Re)create `ref`; `defaults`: column -> SQL literal filling rows appended without it."""
        self.drop_table(ref)
        defaults = defaults or {}

        def column(f: pa.Field) -> str:
            default = f" DEFAULT {defaults[f.name]}" if f.name in defaults else ""
            return f"{quote(f.name)} {self.sql_type(f.type)}{default}{'' if f.nullable else ' NOT NULL'}"

        create = self.staging_create if staging else "CREATE TABLE"
        self.execute(f"{create} {ref.sql} ({', '.join(column(f) for f in schema)})")

    def drop_defaults(self, ref: TableRef, columns: Sequence[str]) -> None:
        for name in columns:
            self.execute(f"ALTER TABLE {ref.sql} ALTER COLUMN {quote(name)} DROP DEFAULT")

    def drop_table(self, ref: TableRef) -> None:
        self.execute(f"DROP TABLE IF EXISTS {ref.sql}")

    def add_column(self, ref: TableRef, field: pa.Field) -> None:
        self.execute(f"ALTER TABLE {ref.sql} ADD COLUMN {quote(field.name)} {self.sql_type(field.type)}")

    def add_primary_key(self, ref: TableRef, key: Sequence[str]) -> None:  # noqa: B027 (optional hook)
        """Index the key after a bulk load (faster than maintaining it row by row)."""

    def index_run_ids(self, ref: TableRef) -> None:  # noqa: B027 (optional hook)
        """Index `_sync_run_id`, when missing, so the models read the rows a run wrote without
        reading the whole table (PostgreSQL; DuckDB skips row groups by their min/max)."""

    def row_count(self, ref: TableRef) -> int:
        return int(self.query(f"SELECT count(*) FROM {ref.sql}")[0][0])

    def key_totals(self, ref: TableRef, sum_key: str | None) -> tuple[int, int | None]:
        """(rows, sum of `sum_key`) of a table; the sum is None without a `sum_key`."""
        total = f"sum({quote(sum_key)})" if sum_key else "NULL"
        count, summed = self.query(f"SELECT count(*), {total} FROM {ref.sql}")[0]
        return int(count), (int(summed or 0) if sum_key else None)

    def new_key_totals(
        self, stage: TableRef, target: TableRef, key: Sequence[str], sum_key: str | None
    ) -> tuple[int, int | None]:
        """Staged keys not yet in the target: how many, and the sum of `sum_key` over them."""
        matches = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in key)
        total = f"sum(s.{quote(sum_key)})" if sum_key else "NULL"
        count, summed = self.query(
            f"SELECT count(*), {total} FROM {stage.sql} s WHERE NOT EXISTS "
            f"(SELECT 1 FROM {target.sql} t WHERE {matches}{self.probe_per_row})"
        )[0]
        return int(count), (int(summed or 0) if sum_key else None)

    def key_range(self, ref: TableRef, key: str) -> tuple[int | None, int | None]:
        low, high = self.query(f"SELECT min({quote(key)}), max({quote(key)}) FROM {ref.sql}")[0]
        return (None if low is None else int(low)), (None if high is None else int(high))

    def key_buckets(
        self,
        target: TableRef,
        stage: TableRef | None,
        key: str,
        low: int,
        width: int,
        ranges: Sequence[KeyRange] = (),
    ) -> tuple[dict[int, tuple[int, int]], int, int]:
        """Per bucket of the keys the target will hold after the upsert (its own and the staged
        new ones), within `ranges` when given: (count, XOR); and the count and key sum over all
        of them."""
        k, div = quote(key), self.integer_division
        parts = [
            f"SELECT ({k} - {low}) {div} {width} AS b, {k} AS k FROM {self._keys_within(target, key, ranges)}"
        ]
        if stage is not None:
            parts.append(
                f"SELECT ({k} - {low}) {div} {width}, {k} FROM {stage.sql} s WHERE NOT EXISTS "
                f"(SELECT 1 FROM {target.sql} t WHERE t.{k} = s.{k}{self.probe_per_row})"
                + (f" AND ({keysets.range_predicate(k, ranges)})" if ranges else "")
            )
        rows = self.query(
            f"SELECT b, count(*), bit_xor(k), sum(k) FROM ({' UNION ALL '.join(parts)}) x GROUP BY b"
        )
        buckets = {int(b): (int(n), int(x)) for b, n, x, _ in rows}
        return buckets, sum(n for n, _ in buckets.values()), sum(int(t) for *_, t in rows)

    def keys_in_ranges(
        self, target: TableRef, stage: TableRef | None, key: str, ranges: Sequence[KeyRange]
    ) -> pa.Table:
        """The distinct keys of the target and the stage within `ranges`."""
        k = quote(key)
        sql = f"SELECT {k} FROM {self._keys_within(target, key, ranges)}"
        if stage is not None:
            sql += f" UNION SELECT {k} FROM {stage.sql} WHERE {keysets.range_predicate(k, ranges)}"
        return self.fetch_arrow(sql)

    def _keys_within(self, ref: TableRef, key: str, ranges: Sequence[KeyRange]) -> str:
        """A FROM item: the rows of `ref` whose `key` lies in `ranges` (all rows without ranges)."""
        if not ranges:
            return ref.sql
        k = quote(key)
        if self.ranges_by_join:
            values = ", ".join(f"({first}, {end})" for first, end in ranges)
            return (
                f"(SELECT t.{k} FROM {ref.sql} t JOIN (VALUES {values}) AS r(lo, hi)"
                f" ON t.{k} >= r.lo AND t.{k} < r.hi) AS within_ranges"
            )
        return f"(SELECT {k} FROM {ref.sql} WHERE {keysets.range_predicate(k, ranges)}) AS within_ranges"

    def swap_in(self, new: TableRef, target: TableRef, columns: Sequence[str]) -> None:
        """Replace `target` by `new` inside the caller's transaction; readers see old or new.

        When views are bound to `target` (PostgreSQL), dropping it would break them, so its rows
        are replaced instead (TRUNCATE + INSERT, still one transaction)."""
        if self.table_exists(target) and self.dependents(target):
            cols = ", ".join(quote(c) for c in columns)
            self.execute(f"TRUNCATE {target.sql}")
            self.execute(f"INSERT INTO {target.sql} ({cols}) SELECT {cols} FROM {new.sql}")
            self.drop_table(new)
            return
        self.drop_table(target)
        self.execute(f"ALTER TABLE {new.sql} RENAME TO {quote(target.name)}")
        self.after_rename(new, target)

    def analyze(self, table: TableRef) -> None:  # noqa: B027 (optional hook)
        """Gather the planner's statistics of a freshly loaded table (PostgreSQL; DuckDB keeps
        them as it writes)."""

    def after_rename(self, new: TableRef, target: TableRef) -> None:  # noqa: B027 (optional hook)
        """Rename whatever carried the staging name (PostgreSQL: the primary-key index)."""

    def upsert(
        self,
        stage: TableRef,
        target: TableRef,
        key: Sequence[str],
        columns: Sequence[str],
        compared: Sequence[str],
        staged: int,
    ) -> tuple[int, int]:
        """Write the `staged` rows into `target` by key: (inserted, updated).

        A staged row whose key the target holds replaces it only when one of the `compared`
        columns differs; an identical re-read (a lookback window, a lagged watermark) leaves the
        target row alone, with its `_sync_run_id` and `_loaded_at`, so the models see no change."""
        if staged == 0:
            return 0, 0
        updated = self.execute(
            f"DELETE FROM {target.sql} AS t USING {stage.sql} AS s WHERE {_same_key(key)}"
            f" AND ({_any_differs(compared)})"
        )
        cols = ", ".join(quote(c) for c in columns)
        written = self.execute(
            f"INSERT INTO {target.sql} ({cols}) SELECT {cols} FROM {stage.sql} AS s WHERE NOT EXISTS"
            f" (SELECT 1 FROM {target.sql} AS t WHERE {_same_key(key)}{self.probe_per_row})"
        )
        return written - updated, updated

    def keep_unchanged_run_ids(
        self, new: TableRef, target: TableRef, key: Sequence[str], compared: Sequence[str]
    ) -> None:
        """In a reload (`new` replacing `target`), rows identical to the loaded ones keep their
        `_sync_run_id` and `_loaded_at`: only what really changed looks new to the models."""
        run_id, loaded_at = quote(raw_schema.SYNC_RUN_ID), quote(raw_schema.LOADED_AT)
        self.execute(
            f"UPDATE {new.sql} AS s SET {run_id} = t.{run_id}, {loaded_at} = t.{loaded_at}"
            f" FROM {target.sql} AS t WHERE {_same_key(key)} AND NOT ({_any_differs(compared)})"
        )

    def delete_keys(self, target: TableRef, keys_ref: TableRef, key: Sequence[str]) -> int:
        keys = ", ".join(quote(k) for k in key)
        return self.execute(f"DELETE FROM {target.sql} WHERE ({keys}) IN (SELECT {keys} FROM {keys_ref.sql})")


def _same_key(key: Sequence[str]) -> str:
    return " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in key)


def _any_differs(columns: Sequence[str]) -> str:
    return " OR ".join(f"t.{quote(c)} IS DISTINCT FROM s.{quote(c)}" for c in columns) or "FALSE"


def _large_to_small(arrow_type: pa.DataType) -> pa.DataType:
    if pa.types.is_large_string(arrow_type):
        return pa.string()
    if pa.types.is_large_binary(arrow_type):
        return pa.binary()
    return arrow_type


class Writer(ABC):
    """A warehouse for one sync run: opens sessions, holds the run lock."""

    kind: ClassVar[str]

    @property
    @abstractmethod
    def display(self) -> str: ...

    @abstractmethod
    def session(self) -> Session: ...

    @abstractmethod
    def run_lock(self) -> AbstractContextManager[None]:
        """Exclusive for the whole run: two syncs never write the same warehouse at once."""

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Release what the warehouse holds (the DuckDB file)."""

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
