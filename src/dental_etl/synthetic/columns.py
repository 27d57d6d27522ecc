"""Schema-driven table shapes: the polars type of every OpenDental column and its "none" value.

The simulation modules only build the columns they have something to say about; `complete()` adds
every other column of `schema_core.json` with OpenDental's default (0, '', '0001-01-01', ...),
puts the columns in schema order and casts each to the polars type matching its MySQL type.
Convention: a NULL in a date/datetime column is MySQL's zero date '0000-00-00' (every OpenDental
column is NOT NULL otherwise); columns named with a leading underscore are simulation helpers and
are dropped.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta

import polars as pl

from dental_etl.opendental.schema import Column, Table, load_schema

_INTEGER_TYPES = {
    ("tinyint", False): pl.Int8,
    ("tinyint", True): pl.UInt8,
    ("smallint", False): pl.Int16,
    ("smallint", True): pl.UInt16,
    ("mediumint", False): pl.Int32,
    ("mediumint", True): pl.UInt32,
    ("int", False): pl.Int32,
    ("int", True): pl.UInt32,
    ("bigint", False): pl.Int64,
    ("bigint", True): pl.UInt64,
}
_TEXT_TYPES = {"char", "varchar", "text", "mediumtext", "longtext", "tinytext"}


def polars_type(col: Column) -> pl.DataType:
    """The polars dtype that holds every value the MySQL column can hold."""
    base = col.base_type
    unsigned = "unsigned" in col.mysql_type.lower()
    if (base, unsigned) in _INTEGER_TYPES:
        return _INTEGER_TYPES[(base, unsigned)]()
    if base == "double":
        return pl.Float64()
    if base == "float":
        return pl.Float32()
    if base == "date":
        return pl.Date()
    if base in {"datetime", "timestamp"}:
        return pl.Datetime("us")
    if base == "time":
        return pl.Duration("us")
    if base in _TEXT_TYPES:
        return pl.String()
    raise ValueError(f"no polars type for {col.name} {col.mysql_type}")


def default_value(col: Column) -> object:
    """OpenDental's "none" value for a column (what MySQL fills in when an INSERT omits it)."""
    base = col.base_type
    spelled = (col.default or "").strip("'")
    if base in _TEXT_TYPES:
        return spelled if col.default is not None and not col.is_text else ""
    if base == "date":
        return date.fromisoformat(spelled) if spelled else date(1, 1, 1)
    if base == "datetime":
        return datetime.fromisoformat(spelled) if spelled else datetime(1, 1, 1)
    if base == "time":
        h, m, s = (int(x) for x in (spelled or "00:00:00").split(":"))
        return timedelta(hours=h, minutes=m, seconds=s)
    if base == "timestamp":
        raise ValueError(f"{col.name}: timestamps have no static default; the generator stamps them")
    if base in {"double", "float"}:
        return float(spelled or 0)
    return int(spelled or 0)


@functools.cache
def table(name: str) -> Table:
    return load_schema()[name]


def empty(name: str) -> pl.DataFrame:
    """A zero-row frame with every column of the table."""
    return pl.DataFrame(schema={c.name: polars_type(c) for c in table(name).columns})


def complete(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Every column of `name` in schema order, typed; missing columns get their default.

    Timestamp columns must already be present (see timestamps.stamp); unknown columns other than
    `_helpers` are a programming error and raise. NULLs outside date columns (left by diagonal
    concatenation of partial frames) become the column's default.
    """
    spec = table(name)
    known = set(spec.column_names)
    unknown = [c for c in frame.columns if c not in known and not c.startswith("_")]
    if unknown:
        raise KeyError(f"{name} has no columns {unknown}")
    exprs = []
    for col in spec.columns:
        dtype = polars_type(col)
        if col.name in frame.columns:
            expr = pl.col(col.name).cast(dtype)
            if dtype not in (pl.Date, pl.Datetime("us")):  # NULL is reserved for zero dates
                expr = (
                    expr.fill_null(pl.lit(default_value(col), dtype=dtype)) if not col.is_timestamp else expr
                )
            exprs.append(expr)
        else:
            exprs.append(pl.lit(default_value(col), dtype=dtype).alias(col.name))
    if frame.width == 0:
        raise ValueError(f"{name}: cannot complete a frame without columns")
    return frame.select(exprs)
