"""What the warehouse says about past syncs: per table the last run, its outcome, the watermark and
how old the copy is; plus the last runs. Read from `_dental` only (no source connection)."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from dental_etl.errors import WarehouseUnreachable
from dental_etl.settings import Settings
from dental_etl.sync.state import RUN_TABLES, RUNS, STATE
from dental_etl.sync.written import open_writer


class TableStatus(msgspec.Struct, kw_only=True):
    table: str
    strategy: str | None
    last_run_id: int | None
    last_status: str | None
    last_mode: str | None
    last_finished_at: datetime | None
    last_success_at: datetime | None
    age_seconds: float | None  # now - last successful copy: how stale the warehouse copy is
    watermark: datetime | None
    rows: int | None
    error: str | None


class RunSummary(msgspec.Struct, kw_only=True):
    run_id: int
    started_at: datetime
    status: str
    seconds: float | None
    tables_ok: int | None
    tables_failed: int | None


class StatusReport(msgspec.Struct):
    warehouse: str
    runs: list[RunSummary]
    tables: list[TableStatus]


_LAST_PER_TABLE = f"""
SELECT t.table_name, t.run_id, t.status, t.mode, t.finished_at, t.error
FROM {RUN_TABLES.sql} t
JOIN (SELECT table_name, max(run_id) AS run_id FROM {RUN_TABLES.sql} GROUP BY table_name) m
  ON m.table_name = t.table_name AND m.run_id = t.run_id
"""


def status(settings: Settings, runs: int = 5) -> StatusReport:
    now = datetime.now(UTC)
    with open_writer(settings.warehouse, settings.sync, read_only=True) as writer:
        session = writer.session()
        try:
            if not session.table_exists(RUNS):
                raise WarehouseUnreachable(f"no sync has run against {writer.display} yet: run dental sync")
            recent = session.query(
                f"SELECT run_id, started_at, status, seconds, tables_ok, tables_failed FROM {RUNS.sql} "
                f"ORDER BY run_id DESC LIMIT {int(runs)}"
            )
            states = {
                row[0]: row
                for row in session.query(
                    f"SELECT table_name, strategy, watermark, row_count, last_success_at FROM {STATE.sql}"
                )
            }
            last = {row[0]: row for row in session.query(_LAST_PER_TABLE)}
        finally:
            session.close()
    tables = []
    for name in sorted(set(states) | set(last)):
        _, strategy, watermark, rows, success = states.get(name, (name, None, None, None, None))
        _, run_id, status_, mode, finished, error = last.get(name, (name, None, None, None, None, None))
        tables.append(
            TableStatus(
                table=name,
                strategy=strategy,
                last_run_id=run_id,
                last_status=status_,
                last_mode=mode,
                last_finished_at=finished,
                last_success_at=success,
                age_seconds=(now - success).total_seconds() if success else None,
                watermark=watermark,
                rows=rows,
                error=error,
            )
        )
    return StatusReport(
        warehouse=writer.display,
        runs=[
            RunSummary(
                run_id=r[0], started_at=r[1], status=r[2], seconds=r[3], tables_ok=r[4], tables_failed=r[5]
            )
            for r in recent
        ],
        tables=tables,
    )
