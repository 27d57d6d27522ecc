"""What the loader knows about a source table (discovered facts) and how it copies it (the plan).

Facts come from `information_schema` on every run; the plan comes from the editable table config
(`dental_tables.yaml`, written by `dental discover`), or from `default_plan` for a table the file
does not mention yet.
"""

from __future__ import annotations

import enum
import re
from datetime import datetime

import msgspec

from dental_etl import raw_schema


class Strategy(enum.StrEnum):
    """How a table is kept in step with its source.

    - incremental: re-read rows whose change column moved since the last watermark (minus a lag),
      upsert them by primary key, delete what vanished from the source.
    - append: re-read rows whose primary key is above the highest one loaded, delete what vanished;
      edits to old rows are not seen (for large append-only tables without a change column, such as
      securitylog; `dental sync TABLE --full` catches up).
    - full: reload the whole table each sync and swap it in (small tables without a change column,
      and every table without a primary key).
    - skip: never copied.
    """

    INCREMENTAL = "incremental"
    APPEND = "append"
    FULL = "full"
    SKIP = "skip"


class SizeClass(enum.StrEnum):
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


_INTEGER_TYPES = {"tinyint", "smallint", "mediumint", "int", "integer", "bigint"}


class SourceColumn(msgspec.Struct, frozen=True):
    name: str
    column_type: str  # information_schema COLUMN_TYPE, e.g. "tinyint(3) unsigned"
    data_type: str  # information_schema DATA_TYPE, e.g. "tinyint"
    on_update: bool = False  # MySQL stamps it on every change (ON UPDATE CURRENT_TIMESTAMP)

    @property
    def raw_name(self) -> str:
        return raw_schema.raw_column_name(self.name)

    @property
    def is_integer(self) -> bool:
        return self.data_type in _INTEGER_TYPES

    @property
    def is_numeric(self) -> bool:
        return self.is_integer or self.data_type in {"double", "float", "real", "decimal", "numeric"}

    @property
    def is_stamp(self) -> bool:
        return self.data_type in {"timestamp", "datetime"}


class SourceTable(msgspec.Struct, frozen=True):
    """One base table as information_schema describes it right now."""

    name: str
    engine: str
    rows_estimate: int
    data_bytes: int
    update_time: datetime | None
    columns: tuple[SourceColumn, ...]
    primary_key: tuple[str, ...]

    def single_integer_key(self, key: tuple[str, ...]) -> str | None:
        """`key`'s column when it is one integer column (chunkable by ranges), else None."""
        if len(key) != 1:
            return None
        col = self.column(key[0])
        return col.name if col is not None and col.is_integer else None

    def column(self, name: str) -> SourceColumn | None:
        lowered = name.lower()
        for col in self.columns:
            if col.name.lower() == lowered:
                return col
        return None

    @property
    def avg_row_bytes(self) -> int:
        return max(1, self.data_bytes // max(1, self.rows_estimate)) if self.rows_estimate else 256

    @property
    def transactional(self) -> bool:
        return self.engine.lower() == "innodb"


class TablePlan(msgspec.Struct, frozen=True, omit_defaults=False, forbid_unknown_fields=True):
    """One table's entry in the table config. The first block is the plan (kept when `dental
    discover` runs again, so edit it freely); the second block is facts, refreshed each time."""

    strategy: Strategy
    primary_key: str | list[str] | None
    change_column: str | None = None
    lookback_column: str | None = None
    deletes: bool = True
    chunk_rows: int = 100_000
    partitions: int = 1
    engine: str = ""
    rows: int = 0
    bytes: int = 0
    size: SizeClass = SizeClass.SMALL

    @property
    def key(self) -> tuple[str, ...]:
        if self.primary_key is None:
            return ()
        if isinstance(self.primary_key, str):
            return (self.primary_key,)
        return tuple(self.primary_key)


EDITABLE_FIELDS = (
    "strategy",
    "primary_key",
    "change_column",
    "lookback_column",
    "deletes",
    "chunk_rows",
    "partitions",
)


def size_class(rows: int, data_bytes: int) -> SizeClass:
    if rows >= 2_000_000 or data_bytes >= 1 << 30:
        return SizeClass.LARGE
    if rows >= 100_000 or data_bytes >= 64 << 20:
        return SizeClass.MEDIUM
    return SizeClass.SMALL


def chunk_rows_for(avg_row_bytes: int, chunk_bytes: int) -> int:
    """Rows per extracted chunk so a chunk holds about `chunk_bytes` of source data."""
    rows = chunk_bytes // max(1, avg_row_bytes)
    return int(min(1_000_000, max(100, rows)))


def is_identifier(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9_$]+", name))
