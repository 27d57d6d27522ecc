"""One loader suite, run against both warehouses (like Ibis' backend conftest): every test that
takes `warehouse` runs once on DuckDB and once on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dental_etl.settings import DuckDBWarehouse, MySQLSource, PostgresWarehouse


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> DuckDBWarehouse | PostgresWarehouse:
    if request.param == "duckdb":
        return DuckDBWarehouse(database=str(tmp_path / "warehouse.duckdb"))
    make: Callable[[], PostgresWarehouse] = request.getfixturevalue("pg_database")
    return make()


@pytest.fixture
def source(mysql_database: Callable[[], MySQLSource]) -> MySQLSource:
    return mysql_database()
