"""The contract between the loader and the models: how a MySQL column looks in the warehouse.

Raw tables live in schema `raw`, named like the source table, with **lower-case column names**
(`ProcNum` -> `procnum`) so PostgreSQL needs no quoting, plus two metadata columns. Every batch
is cast to `arrow_schema(table)` before it is written; both warehouses get the same types.

Normalisations (documented in the README, relied on by the staging models):
- zero dates and zero-in-date values ('0000-00-00', '2020-00-15', '0000-05-10': a zero year, month
  or day) -> NULL;
  OpenDental's '0001-01-01' "no date" sentinel is kept as a value (staging turns it into NULL);
- TIME -> duration (MySQL TIME spans -838:59:59..838:59:59, more than a time of day);
- TIMESTAMP -> UTC timestamp with time zone (read with the session time zone at +00:00);
- tinyint/smallint (signed or unsigned) -> int16/int32 wide enough for the unsigned range;
  booleans stay integers here (staging decodes them), enums keep their codes;
- NUL characters are stripped from text (PostgreSQL text cannot hold them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pyarrow as pa

RAW_SCHEMA = "raw"
LOADED_AT = "_loaded_at"
SYNC_RUN_ID = "_sync_run_id"

METADATA_FIELDS = (
    pa.field(LOADED_AT, pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field(SYNC_RUN_ID, pa.int64(), nullable=False),
)

_INTEGERS = {
    # mysql type -> (signed arrow type, unsigned arrow type)
    "tinyint": (pa.int16(), pa.int16()),
    "smallint": (pa.int16(), pa.int32()),
    "mediumint": (pa.int32(), pa.int32()),
    "int": (pa.int32(), pa.int64()),
    "integer": (pa.int32(), pa.int64()),
    "bigint": (pa.int64(), pa.decimal128(20, 0)),
}
_TEXT = {"char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set", "json"}
_BINARY = {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"}


def raw_column_name(mysql_name: str) -> str:
    return mysql_name.lower()


def arrow_type(mysql_type: str) -> pa.DataType:
    """Map a column type as `information_schema.COLUMNS.COLUMN_TYPE` spells it to its Arrow type."""
    spelled = mysql_type.lower().strip()
    base = re.split(r"[(\s]", spelled, maxsplit=1)[0]
    unsigned = "unsigned" in spelled
    if base in _INTEGERS:
        signed_type, unsigned_type = _INTEGERS[base]
        return unsigned_type if unsigned else signed_type
    if base in {"double", "real"}:
        return pa.float64()
    if base == "float":
        return pa.float32()
    if base in {"decimal", "numeric"}:
        match = re.search(r"\((\d+)\s*,\s*(\d+)\)", spelled)
        precision, scale = (int(match.group(1)), int(match.group(2))) if match else (10, 0)
        return pa.decimal128(min(precision, 38), min(scale, 38))
    if base == "date":
        return pa.date32()
    if base == "datetime":
        return pa.timestamp("us")
    if base == "timestamp":
        return pa.timestamp("us", tz="UTC")
    if base == "time":
        return pa.duration("us")
    if base == "year":
        return pa.int16()
    if base == "bit":
        return pa.int64()
    if base in _TEXT:
        return pa.string()
    if base in _BINARY:
        return pa.binary()
    raise ValueError(f"no warehouse type for MySQL type {mysql_type!r}")


def arrow_field(mysql_name: str, mysql_type: str) -> pa.Field:
    """One source column as a raw-table field (always nullable: zero dates become NULL)."""
    return pa.field(raw_column_name(mysql_name), arrow_type(mysql_type), nullable=True)


def arrow_schema(columns: Iterable[tuple[str, str]]) -> pa.Schema:
    """The raw table's schema: the source columns `(name, COLUMN_TYPE)` in source order, then metadata."""
    return pa.schema([*(arrow_field(name, mysql_type) for name, mysql_type in columns), *METADATA_FIELDS])
