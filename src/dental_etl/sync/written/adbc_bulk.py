"""Bulk I/O with adbc-driver-postgresql through ADBC's low-level API (`AdbcStatement`).

The DB-API layer (`adbc_driver_manager.dbapi`) imports `pyarrow.dataset`, which imports pandas:
about a second of every sync process, for nothing we use. The statement API below is the same
driver doing the same binary COPY, with autocommit on (each append commits by itself).
"""

from __future__ import annotations

import adbc_driver_manager
import adbc_driver_postgresql
import pyarrow as pa

_OPTIONS = adbc_driver_manager.StatementOptions


class AdbcBulk:
    """One ADBC connection to PostgreSQL: `append` (binary COPY) and `fetch` (COPY TO)."""

    def __init__(self, url: str) -> None:
        self._database = adbc_driver_postgresql.connect(url)
        try:
            self._connection = adbc_driver_manager.AdbcConnection(self._database)
        except BaseException:
            self._database.close()
            raise

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
        try:
            self._connection.close()
        finally:
            self._database.close()
