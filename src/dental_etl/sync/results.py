"""What a sync reports: per table and per run. These are also the rows of `_dental.sync_run_tables`
and `_dental.sync_runs`, and what `dental sync --json` prints."""

from __future__ import annotations

import enum
from datetime import datetime

import msgspec


class Mode(enum.StrEnum):
    FULL = "full"  # loaded whole into a new table, swapped in
    INCREMENTAL = "incremental"  # changed rows upserted, vanished rows deleted
    APPEND = "append"  # rows above the highest key upserted, vanished rows deleted
    UNCHANGED = "unchanged"  # the source table was not written since the last read
    NONE = "none"  # never started (skipped, failed before reading)


class Status(enum.StrEnum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


class TableResult(msgspec.Struct, kw_only=True):
    table: str
    status: Status
    mode: Mode = Mode.NONE
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    bytes_read: int = 0
    seconds: float = 0.0
    watermark: datetime | None = None
    error: str | None = None
    notes: list[str] = msgspec.field(default_factory=list)
    attempts: int = 1


class RunResult(msgspec.Struct, kw_only=True):
    run_id: int
    started_at: datetime
    seconds: float
    source: str
    warehouse: str
    tables: list[TableResult]

    @property
    def failed(self) -> list[TableResult]:
        return [t for t in self.tables if t.status is Status.FAILED]

    @property
    def status(self) -> Status:
        return Status.FAILED if self.failed else Status.OK

    def total(self, field: str) -> int:
        return int(sum(getattr(t, field) for t in self.tables))
