"""Bulk I/O with adbc-driver-postgresql through ADBC's low-level API (`AdbcStatement`).

The DB-API layer (`adbc_driver_manager.dbapi`) imports `pyarrow.dataset`, which imports pandas:
about a second of every sync process, for nothing we use. The statement API below is the same
driver doing the same binary COPY, with autocommit on (each append commits by itself).

Opening the driver's database handle loads PostgreSQL's type catalogue (~0.1 s); a connection on
an open handle takes ~5 ms. So one handle serves every worker of a run (`SharedDatabase`), opened
in the background as soon as a table knows it will move rows.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor

import adbc_driver_manager
import adbc_driver_postgresql
import pyarrow as pa

_OPTIONS = adbc_driver_manager.StatementOptions


class SharedDatabase:
    """One ADBC database handle for a run, opened once (in a background thread) and shared."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._lock = threading.Lock()
        self._opened: Future[adbc_driver_manager.AdbcDatabase] | None = None

    def warm(self) -> None:
        """Start opening the handle unless it is open or opening; returns at once."""
        with self._lock:
            if self._opened is None:
                pool = ThreadPoolExecutor(1, thread_name_prefix="dental-adbc")
                self._opened = pool.submit(adbc_driver_postgresql.connect, self._url)
                pool.shutdown(wait=False)  # its one thread ends with the task

    def connection(self) -> adbc_driver_manager.AdbcConnection:
        """A new connection on the shared handle (waits for the handle to open)."""
        self.warm()
        opened = self._opened
        assert opened is not None
        try:
            database = opened.result()
        except BaseException:
            with self._lock:
                if self._opened is opened:
                    self._opened = None  # the next caller tries again (a retry after a transient error)
            raise
        with self._lock:
            return adbc_driver_manager.AdbcConnection(database)

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, None
        if opened is not None and opened.exception() is None:
            opened.result().close()


class AdbcBulk:
    """One ADBC connection to PostgreSQL: `append` (binary COPY) and `fetch` (COPY TO)."""

    def __init__(self, database: SharedDatabase) -> None:
        self._connection = database.connection()

    def append(self, schema: str, table: str, data: pa.Table) -> int:
        statement = adbc_driver_manager.AdbcStatement(self._connection)
        try:
            statement.set_options(
                **{
                    _OPTIONS.INGEST_TARGET_TABLE.value: table,
                    _OPTIONS.INGEST_TARGET_DB_SCHEMA.value: schema,
                    _OPTIONS.INGEST_MODE.value: "adbc.ingest.mode.append",
                }
            )
            statement.bind_stream(data)
            return statement.execute_update()
        finally:
            statement.close()

    def fetch(self, sql: str) -> pa.Table:
        statement = adbc_driver_manager.AdbcStatement(self._connection)
        try:
            statement.set_sql_query(sql)
            stream, _ = statement.execute_query()
            return pa.RecordBatchReader.from_stream(stream).read_all()
        finally:
            statement.close()

    def close(self) -> None:
        self._connection.close()
