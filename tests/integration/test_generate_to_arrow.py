"""`Practice.to_arrow()` is exactly what the loader produces from the MariaDB copy of the same
practice (the demo and the models' tests rely on it instead of a MySQL server)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from dental_etl.raw_schema import LOADED_AT, SYNC_RUN_ID
from dental_etl.settings import DuckDBWarehouse, MySQLSource
from dental_etl.sync.runner import run_sync
from dental_etl.synthetic import GeneratorConfig, generate_practice, write_to_mariadb
from tests.integration.sync.helpers import make_settings, warehouse_table

pytestmark = pytest.mark.mariadb


def _as_raw(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """DuckDB reads back `timestamptz` as Etc/UTC and TIME-as-interval; bring both to the raw types."""
    columns = []
    for field in schema:
        column = table.column(field.name)
        if pa.types.is_timestamp(field.type):
            column = column.cast(field.type)
        elif pa.types.is_duration(field.type) and not pa.types.is_duration(column.type):
            values = [
                None if v is None else timedelta(days=v.days, microseconds=v.nanoseconds // 1000)
                for v in column.to_pylist()
            ]
            column = pa.chunked_array([pa.array(values, field.type)])
        columns.append(column)
    return pa.table(columns, schema=schema)


def test_to_arrow_equals_the_loaders_raw_tables(mysql_database: Callable[[], MySQLSource], tmp_path: Path):
    practice = generate_practice(GeneratorConfig(seed=5, patients=80, today=date(2025, 6, 30)))
    source = mysql_database()
    write_to_mariadb(practice, source)
    settings = make_settings(tmp_path, source, DuckDBWarehouse(database=str(tmp_path / "w.duckdb")))
    run = run_sync(settings, full=True)
    assert [t.table for t in run.tables if t.error] == []
    for name, mine in practice.to_arrow().items():
        mine = mine.drop_columns([LOADED_AT, SYNC_RUN_ID])
        loaded = warehouse_table(settings, name)
        metadata = [c for c in loaded.column_names if c.startswith("_")]
        loaded = _as_raw(loaded.drop_columns(metadata), mine.schema)
        key = mine.column_names[0]
        assert loaded.sort_by(key).equals(mine.sort_by(key)), name
