"""Which driver errors are worth retrying, and how to describe any of them without row contents.

Drivers put row values in their error details (PostgreSQL's "Failing row contains (...)", Arrow's
"The string 'Smith' is not a valid ..."): only the first line is kept, truncated, so a message
never carries patient data into logs or `_dental.sync_run_tables`.

The drivers are looked up in `sys.modules`, not imported: an exception from a driver means the
driver is loaded, and a DuckDB sync then never pays for importing psycopg (nor the reverse).
"""

from __future__ import annotations

import sys

# MySQL: server gone, connection lost, lock wait timeout, deadlock, too many connections
_MYSQL_TRANSIENT = {1040, 1205, 1213, 2003, 2006, 2013}
_TEXT_TRANSIENT = (
    "connection refused",
    "broken pipe",
    "lost connection",
    "connection reset",
    "timed out",
    "server has gone away",
    "too many connections",
    "deadlock",
    "could not connect",
)


def is_transient(exc: BaseException) -> bool:
    pymysql, psycopg = sys.modules.get("pymysql"), sys.modules.get("psycopg")
    adbc, duckdb = sys.modules.get("adbc_driver_manager"), sys.modules.get("duckdb")
    if pymysql is not None and isinstance(exc, pymysql.err.OperationalError):
        return bool(exc.args) and exc.args[0] in _MYSQL_TRANSIENT
    if psycopg is not None and isinstance(
        exc, psycopg.errors.SerializationFailure | psycopg.errors.DeadlockDetected | psycopg.OperationalError
    ):
        return True
    if adbc is not None and isinstance(exc, adbc.OperationalError):
        return True
    if duckdb is not None and isinstance(exc, duckdb.TransactionException):
        return True  # write-write conflict between two workers: retrying resolves it
    text = str(exc).lower()
    return isinstance(exc, RuntimeError | OSError) and any(marker in text for marker in _TEXT_TRANSIENT)


def describe(exc: BaseException, limit: int = 300) -> str:
    lines = str(exc).strip().splitlines()
    first = lines[0] if lines else ""
    if len(first) > limit:
        first = first[:limit] + "..."
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
