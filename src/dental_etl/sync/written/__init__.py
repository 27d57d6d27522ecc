"""Where rows are written: the warehouse writers (PostgreSQL, DuckDB) behind one interface."""

from __future__ import annotations

from dental_etl.settings import DuckDBWarehouse, PostgresWarehouse, SyncSettings
from dental_etl.sync.written.base import Session, TableRef, Writer, raw_table


def open_writer(
    target: DuckDBWarehouse | PostgresWarehouse, settings: SyncSettings, *, read_only: bool = False
) -> Writer:
    """Connect to the selected gateway; a bad address fails here with one clear line.

    `read_only` (verify, status) opens a DuckDB file without the write lock, and fails clearly when
    no sync has created it yet."""
    if isinstance(target, PostgresWarehouse):
        from dental_etl.sync.written.postgres import PostgresWriter

        return PostgresWriter(target)
    from dental_etl.sync.written.duckdb import DuckDBWriter

    return DuckDBWriter(target, memory_limit=settings.duckdb_memory_limit, read_only=read_only)


__all__ = ["Session", "TableRef", "Writer", "open_writer", "raw_table"]
