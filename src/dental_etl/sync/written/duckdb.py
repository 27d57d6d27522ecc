"""DuckDB: Arrow batches are ingested zero-copy (`register` + `INSERT ... BY NAME`); one
process-wide connection, one cursor per worker thread. DuckDB views bind late, so a full load is
always swapped in by DROP + RENAME. Raw tables carry no PRIMARY KEY: DuckDB's ART index would
slow loading, and the loader's upsert (delete staged keys, insert staged rows) needs none.
"""

from __future__ import annotations

import decimal
import itertools
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import pyarrow as pa

from dental_etl.errors import WarehouseUnreachable
from dental_etl.settings import DuckDBWarehouse
from dental_etl.sync.written.base import Session, TableRef, Writer

_views = itertools.count()


def open_database(
    target: DuckDBWarehouse, *, memory_limit: str | None = None, read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    path = Path(target.database)
    if read_only and not path.is_file():
        raise WarehouseUnreachable(f"no DuckDB warehouse at {path} yet: run dental sync first")
    config: dict[str, str | bool | int | float | list[str]] = {}
    if memory_limit:
        config["memory_limit"] = memory_limit
    try:
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            holder = re.search(r"PID (\d+)", text)
            who = f" (PID {holder.group(1)})" if holder else ""
            raise WarehouseUnreachable(
                f"the DuckDB file {path} is in use by another process{who}: stop it "
                "(a running sync or the API?) and retry"
            ) from None
        raise WarehouseUnreachable(f"cannot open the DuckDB file {path}: {text.splitlines()[0]}") from None
    except (OSError, duckdb.Error) as exc:
        raise WarehouseUnreachable(f"cannot open the DuckDB file {path}: {exc}") from None


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float | decimal.Decimal):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, datetime):
        return f"TIMESTAMPTZ '{value.isoformat()}'" if value.tzinfo else f"TIMESTAMP '{value.isoformat()}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def _render(sql: str, params: Sequence[Any]) -> str:
    """`%s` placeholders filled with SQL literals. DuckDB's own parameter binding imports pandas
    (1-3 s per process) to check each value's type; these values are the loader's own (table
    names, counts, timestamps, messages), quoted by the rules of SQL string literals."""
    if not params:
        return sql
    parts = sql.split("%s")
    if len(parts) != len(params) + 1:
        raise ValueError(f"{len(parts) - 1} placeholders for {len(params)} values")
    out = [parts[0]]
    for value, part in zip(params, parts[1:], strict=True):
        out += [_literal(value), part]
    return "".join(out)


class DuckDBSession(Session):
    type_names: ClassVar[dict[pa.DataType, str]] = {
        pa.int16(): "SMALLINT",
        pa.int32(): "INTEGER",
        pa.int64(): "BIGINT",
        pa.float32(): "FLOAT",
        pa.float64(): "DOUBLE",
        pa.date32(): "DATE",
        pa.timestamp("us"): "TIMESTAMP",
        pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ",
        pa.duration("us"): "INTERVAL",
        pa.string(): "VARCHAR",
        pa.binary(): "BLOB",
        pa.bool_(): "BOOLEAN",
    }
    catalogue_families: ClassVar[dict[str, str]] = {
        "smallint": "int16",
        "integer": "int32",
        "bigint": "int64",
        "float": "float",
        "double": "double",
        "decimal": "decimal",
        "date": "date32[day]",
        "timestamp": "timestamp",
        "timestamp with time zone": "timestamptz",
        "interval": "interval",
        "varchar": "text",
        "blob": "binary",
        "boolean": "bool",
    }
    bulk_in_transaction = True
    integer_division = "//"
    cheap_key_scan = True

    def __init__(self, cursor: duckdb.DuckDBPyConnection, call_lock: threading.Lock) -> None:
        self._cur = cursor
        # Two cursors of one DuckDB database deadlocked inside DuckDB when their calls overlapped
        # (seen in CI: one cursor's COMMIT against another's Arrow INSERT, both threads parked).
        # The writer's lock makes every call into DuckDB — statement, Arrow view, fetch — one at
        # a time, and no call waits for another cursor's open transaction (DuckDB reports write
        # conflicts instead of waiting; the automatic checkpoint at COMMIT only tries its lock).
        # Transactions interleave: one table's extraction and casting (connectorx, pyarrow)
        # overlap another table's DuckDB writes.
        self._lock = call_lock

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self._lock:
            result = self._cur.execute(_render(sql, params))
            if not sql.lstrip().upper().startswith(("INSERT", "DELETE", "UPDATE")):
                return 0
            row = result.fetchone()
        return int(row[0]) if row else 0

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._cur.execute(_render(sql, params)).fetchall()

    def fetch_arrow(self, sql: str) -> pa.Table:
        with self._lock:
            return self._cur.execute(sql).to_arrow_table()

    def append(self, ref: TableRef, data: pa.Table) -> None:
        if data.num_rows == 0:
            return
        view = f"_dental_batch_{next(_views)}"
        with self._lock:
            # through the Arrow C stream interface: `register(name, table)` makes DuckDB import pandas
            self._cur.from_arrow(data.__arrow_c_stream__()).create_view(view)
            try:
                self._cur.execute(f"INSERT INTO {ref.sql} BY NAME SELECT * FROM {view}")
            finally:
                self._cur.execute(f"DROP VIEW IF EXISTS {view}")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._call("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self._call("ROLLBACK")
            raise
        self._call("COMMIT")

    def _call(self, sql: str) -> None:
        with self._lock:
            self._cur.execute(sql)

    def close(self) -> None:
        with self._lock:
            self._cur.close()


class DuckDBWriter(Writer):
    """The DuckDB file, open for the run; the file lock keeps other processes out."""

    kind = "duckdb"

    def __init__(
        self, target: DuckDBWarehouse, *, memory_limit: str | None = None, read_only: bool = False
    ) -> None:
        self.target = target
        self._conn = open_database(target, memory_limit=memory_limit, read_only=read_only)
        self._call_lock = threading.Lock()

    @property
    def display(self) -> str:
        return self.target.display

    def session(self) -> DuckDBSession:
        with self._call_lock:
            cursor = self._conn.cursor()
        return DuckDBSession(cursor, self._call_lock)

    @contextmanager
    def run_lock(self) -> Iterator[None]:
        yield  # the open file is already exclusive to this process

    def close(self) -> None:
        self._conn.close()
