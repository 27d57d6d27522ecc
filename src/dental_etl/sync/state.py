"""Load state and run history, kept in the warehouse next to the data (schema `_dental`), so a
fresh machine pointed at the same warehouse resumes where the last sync stopped.

- `_dental.sync_state`: one row per table — strategy, watermark (the highest change-column value
  copied), the source clock when its last read started, the rows the raw table holds and the sum
  of its key (what the delete check compares with the source, without counting the warehouse).
  Written in the same transaction as the table's data, so neither the watermark nor the figures
  ever run ahead of the rows they describe.
- `_dental.sync_runs`: one row per run (status, totals, seconds).
- `_dental.sync_run_tables`: one row per table per run (mode, rows inserted/updated/deleted,
  bytes, seconds, error) — what `dental status` and the freshness models read.
- `_dental.vanished_keys`: one row per key that left a raw table (deleted in OpenDental, or gone
  in a reload) with the run that removed it, written in the same transaction as the removal. The
  models delete by it (macros/incremental.py) instead of comparing whole tables with their input.
"""

from __future__ import annotations

import re
from datetime import datetime

import msgspec

from dental_etl.sync.results import RunResult, TableResult
from dental_etl.sync.written.base import CONTROL, Session, TableRef

STATE = TableRef(CONTROL, "sync_state")
RUNS = TableRef(CONTROL, "sync_runs")
RUN_TABLES = TableRef(CONTROL, "sync_run_tables")
VANISHED = TableRef(CONTROL, "vanished_keys")

_DDL = {
    STATE: """
        table_name VARCHAR NOT NULL, strategy VARCHAR NOT NULL, change_column VARCHAR,
        watermark TIMESTAMP, source_read_at TIMESTAMP, row_count BIGINT,
        last_run_id BIGINT, last_success_at TIMESTAMPTZ, lookback_at TIMESTAMP, key_sum DECIMAL(38,0)""",
    RUNS: """
        run_id BIGINT NOT NULL, started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ,
        status VARCHAR NOT NULL, source VARCHAR, warehouse VARCHAR, full_reload BOOLEAN,
        tables_ok INTEGER, tables_failed INTEGER, tables_skipped INTEGER, rows_read BIGINT,
        rows_inserted BIGINT, rows_updated BIGINT, rows_deleted BIGINT, bytes_read BIGINT, seconds FLOAT8""",
    RUN_TABLES: """
        run_id BIGINT NOT NULL, table_name VARCHAR NOT NULL, mode VARCHAR, status VARCHAR NOT NULL,
        finished_at TIMESTAMPTZ, seconds FLOAT8, rows_read BIGINT, rows_inserted BIGINT,
        rows_updated BIGINT, rows_deleted BIGINT, bytes_read BIGINT, watermark TIMESTAMP,
        attempts INTEGER, error VARCHAR, notes VARCHAR""",
    VANISHED: """
        table_name VARCHAR NOT NULL, key_value BIGINT NOT NULL, run_id BIGINT NOT NULL""",
}


class TableState(msgspec.Struct, frozen=True):
    table_name: str
    strategy: str
    change_column: str | None
    watermark: datetime | None
    source_read_at: datetime | None
    row_count: int | None
    last_run_id: int | None
    last_success_at: datetime | None
    lookback_at: datetime | None = None  # source clock when the lookback window was last re-read
    # sum of the single integer key over the raw table's `row_count` rows; None for other keys and
    # for rows written by a loader that did not keep it (then `row_count` is not trusted either)
    key_sum: int | None = None


def ensure(session: Session) -> None:
    """Create the control tables, or add the columns a newer loader keeps to existing ones
    (nullable additions only: a warehouse written by an older version keeps working)."""
    session.ensure_schema(CONTROL)
    existing = session.schema_columns(CONTROL)
    for ref, columns in _DDL.items():
        if ref.name not in existing:
            session.execute(f"CREATE TABLE IF NOT EXISTS {ref.sql} ({columns})")
            continue
        for definition in re.split(r",(?![^(]*\))", columns):  # commas outside DECIMAL(p,s)
            name, sql_type = definition.split()[:2]
            if name not in existing[ref.name]:
                session.execute(f"ALTER TABLE {ref.sql} ADD COLUMN {name} {sql_type}")


def mark_interrupted(session: Session) -> int:
    """Runs still 'running' were killed (the caller holds the run lock, so none is alive)."""
    return session.execute(f"UPDATE {RUNS.sql} SET status = 'interrupted' WHERE status = 'running'")


def start_run(session: Session, *, started_at: datetime, source: str, warehouse: str, full: bool) -> int:
    (last,) = session.query(f"SELECT max(run_id) FROM {RUNS.sql}")[0]
    run_id = int(last or 0) + 1
    session.execute(
        f"INSERT INTO {RUNS.sql} (run_id, started_at, status, source, warehouse, full_reload) "
        "VALUES (%s, %s, 'running', %s, %s, %s)",
        (run_id, started_at, source, warehouse, full),
    )
    return run_id


def finish_run(session: Session, result: RunResult, finished_at: datetime) -> None:
    counts = {s: sum(1 for t in result.tables if t.status.value == s) for s in ("ok", "failed", "skipped")}
    session.execute(
        f"UPDATE {RUNS.sql} SET finished_at = %s, status = %s, tables_ok = %s, tables_failed = %s, "
        "tables_skipped = %s, rows_read = %s, rows_inserted = %s, rows_updated = %s, rows_deleted = %s, "
        "bytes_read = %s, seconds = %s WHERE run_id = %s",
        (
            finished_at,
            result.status.value,
            counts["ok"],
            counts["failed"],
            counts["skipped"],
            result.total("rows_read"),
            result.total("inserted"),
            result.total("updated"),
            result.total("deleted"),
            result.total("bytes_read"),
            result.seconds,
            result.run_id,
        ),
    )


def record_tables(session: Session, run_id: int, results: list[tuple[TableResult, datetime]]) -> None:
    """One row per table of the run (a single multi-row INSERT: hundreds of tables, one round trip)."""
    if not results:
        return
    columns = (
        "run_id, table_name, mode, status, finished_at, seconds, rows_read, rows_inserted, rows_updated, "
        "rows_deleted, bytes_read, watermark, attempts, error, notes"
    )
    values = ", ".join(["(" + ", ".join(["%s"] * 15) + ")"] * len(results))
    params: list[object] = []
    for result, finished_at in results:
        params += [
            run_id,
            result.table,
            result.mode.value,
            result.status.value,
            finished_at,
            result.seconds,
            result.rows_read,
            result.inserted,
            result.updated,
            result.deleted,
            result.bytes_read,
            result.watermark,
            result.attempts,
            result.error,
            "; ".join(result.notes) or None,
        ]
    session.execute(f"INSERT INTO {RUN_TABLES.sql} ({columns}) VALUES {values}", params)


def load_states(session: Session) -> dict[str, TableState]:
    rows = session.query(
        f"SELECT table_name, strategy, change_column, watermark, source_read_at, row_count, last_run_id, "
        f"last_success_at, lookback_at, key_sum FROM {STATE.sql}"
    )
    states = {}
    for row in rows:
        state = TableState(*row)
        if state.key_sum is not None:  # arrives as a Decimal
            state = msgspec.structs.replace(state, key_sum=int(state.key_sum))
        states[state.table_name] = state
    return states


def save_state(session: Session, state: TableState) -> None:
    """Replace the table's state row; call inside the transaction that commits its data."""
    session.execute(f"DELETE FROM {STATE.sql} WHERE table_name = %s", (state.table_name,))
    session.execute(
        f"INSERT INTO {STATE.sql} (table_name, strategy, change_column, watermark, source_read_at, "
        "row_count, last_run_id, last_success_at, lookback_at, key_sum) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            state.table_name,
            state.strategy,
            state.change_column,
            state.watermark,
            state.source_read_at,
            state.row_count,
            state.last_run_id,
            state.last_success_at,
            state.lookback_at,
            state.key_sum,
        ),
    )


def log_vanished(session: Session, table: str, run_id: int, keys: str) -> int:
    """Record in `_dental.vanished_keys` the keys `keys` selects (one integer column) as gone from
    raw table `table` in run `run_id`. Called in the transaction that removes them."""
    return session.execute(
        f"INSERT INTO {VANISHED.sql} (table_name, key_value, run_id)"
        f" SELECT %s, CAST(gone.k AS BIGINT), %s FROM ({keys}) AS gone(k)",
        (table, run_id),
    )
