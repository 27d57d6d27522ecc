"""Cast an extracted chunk to the raw table's explicit Arrow schema (`raw_schema.arrow_schema`).

Both warehouses receive exactly these types, so the models see one contract: widened unsigned
integers, parsed decimals, TIME as a duration, TIMESTAMP as UTC, NUL characters stripped from
text, and the `_loaded_at` / `_sync_run_id` metadata columns. A value that cannot be converted
fails the table with a message naming the column and the row's primary key — never the value
itself (it may be patient data).
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from dental_etl import raw_schema
from dental_etl.errors import TableError
from dental_etl.sync.plan import SourceTable


def target_schema(table: SourceTable) -> pa.Schema:
    try:
        return raw_schema.arrow_schema((c.name, c.column_type) for c in table.columns)
    except ValueError as exc:
        raise TableError(f"{table.name}: {exc}; set `strategy: skip` for it in the table config") from None


def _strip_nuls(array: pa.ChunkedArray) -> pa.ChunkedArray:
    if array.null_count == len(array) or not pc.any(pc.match_substring(array, "\x00")).as_py():
        return array
    return pc.replace_substring(array, "\x00", "")


def _first_failure(array: pa.ChunkedArray, target: pa.DataType) -> int:
    """The index of the first value that does not convert (only called once a cast has failed)."""
    flat = array.combine_chunks()
    for index in range(len(flat)):
        try:
            _cast_column(pa.chunked_array([flat.slice(index, 1)]), target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError):
            return index
    return 0


def _cast_column(array: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    if pa.types.is_string(target) or pa.types.is_large_string(target):
        if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
            array = pc.cast(array, pa.string())
        array = _strip_nuls(array)
    elif pa.types.is_duration(target) and pa.types.is_integer(array.type):
        array = pc.cast(array, pa.int64())
    elif pa.types.is_decimal(target) and (
        pa.types.is_string(array.type) or pa.types.is_large_string(array.type)
    ):
        # pyarrow parses text with more digits than decimal128 holds into a silently wrapped value;
        # through decimal256 an out-of-range value raises instead (MySQL DECIMAL has up to 65 digits)
        array = pc.cast(array, pa.decimal256(76, target.scale))
    if array.type == target:
        return array
    return pc.cast(array, target)


def cast_chunk(
    chunk: pa.Table,
    schema: pa.Schema,
    *,
    table: str,
    key: tuple[str, ...],
    loaded_at: datetime,
    run_id: int,
) -> pa.Table:
    """The chunk with exactly `schema`'s columns and types, metadata filled in."""
    rows = chunk.num_rows
    arrays: list[pa.ChunkedArray | pa.Array] = []
    for field in schema:
        if field.name == raw_schema.LOADED_AT:
            arrays.append(pa.repeat(pa.scalar(loaded_at, field.type), rows))
            continue
        if field.name == raw_schema.SYNC_RUN_ID:
            arrays.append(pa.repeat(pa.scalar(run_id, field.type), rows))
            continue
        try:
            source = chunk.column(field.name)
        except KeyError:
            raise TableError(f"{table}: column {field.name} missing from the extracted data") from None
        try:
            arrays.append(_cast_column(source, field.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError):
            index = _first_failure(source, field.type)
            where = ", ".join(f"{k}={chunk.column(k.lower())[index].as_py()}" for k in key) or f"row {index}"
            raise TableError(
                f"{table}.{field.name}: a value cannot become {field.type} (row {where}); "
                "fix the row in the source or set `strategy: skip` for the table"
            ) from None
    return pa.Table.from_arrays(arrays, schema=schema)
