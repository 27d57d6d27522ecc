"""Test oracles: read the source with pymysql and the warehouse with its own driver, and bring both
to plain Python values, independently of the loader's code paths."""

from __future__ import annotations

import decimal
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from dental_etl.mysql import connect, quote_ident
from dental_etl.settings import DuckDBWarehouse, MySQLSource, PostgresWarehouse, Settings, SyncSettings
from dental_etl.sync.written import open_writer

METADATA = ("_loaded_at", "_sync_run_id")


def make_settings(
    project_dir: Path,
    source: MySQLSource,
    warehouse: DuckDBWarehouse | PostgresWarehouse,
    **sync: Any,
) -> Settings:
    gateway = "duckdb" if isinstance(warehouse, DuckDBWarehouse) else "postgres"
    return Settings(
        project_dir=project_dir,
        source=source,
        gateway=gateway,
        warehouse=warehouse,
        sync=SyncSettings(**sync),
    )


def mysql_execute(source: MySQLSource, *statements: str, params: list[tuple[Any, ...]] | None = None) -> None:
    """Run statements in OpenDental's non-strict mode, with the session clock in UTC."""
    conn = connect(source)
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION sql_mode = ''")
            cur.execute("SET time_zone = '+00:00'")
            for statement in statements:
                if params is not None:
                    cur.executemany(statement, params)
                else:
                    cur.execute(statement)
    finally:
        conn.close()


def source_rows(source: MySQLSource, table: str, columns: list[str], key: str) -> list[tuple[Any, ...]]:
    conn = connect(source)
    try:
        with conn.cursor() as cur:
            cur.execute("SET time_zone = '+00:00'")
            cols = ", ".join(quote_ident(c) for c in columns)
            cur.execute(f"SELECT {cols} FROM {quote_ident(table)} ORDER BY {quote_ident(key)}")
            return [tuple(_zero_date_to_none(normalise(v)) for v in row) for row in cur.fetchall()]
    finally:
        conn.close()


def warehouse_table(settings: Settings, table: str, schema: str = "raw") -> pa.Table:
    return warehouse_tables(settings, [table], schema)[table]


def warehouse_tables(settings: Settings, tables: list[str], schema: str = "raw") -> dict[str, pa.Table]:
    with open_writer(settings.warehouse, settings.sync, read_only=True) as writer:
        session = writer.session()
        try:
            return {t: session.fetch_arrow(f'SELECT * FROM "{schema}"."{t}"') for t in tables}
        finally:
            session.close()


def warehouse_query(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    with open_writer(settings.warehouse, settings.sync, read_only=True) as writer:
        session = writer.session()
        try:
            return session.query(sql)
        finally:
            session.close()


def warehouse_rows(settings: Settings, table: str, columns: list[str], key: str) -> list[tuple[Any, ...]]:
    data = warehouse_table(settings, table)
    # PostgreSQL numeric arrives through ADBC as an opaque extension type holding text
    numeric = {f.name for f in data.schema if isinstance(f.type, pa.BaseExtensionType)}

    def value(row: dict[str, Any], name: str) -> Any:
        raw = row[name]
        return decimal.Decimal(raw) if name in numeric and raw is not None else raw

    rows = [tuple(normalise(value(r, c.lower())) for c in columns) for r in data.to_pylist()]
    index = [c.lower() for c in columns].index(key.lower())
    return sorted(rows, key=lambda r: r[index])


def _zero_date_to_none(value: Any) -> Any:
    """pymysql hands back dates it cannot parse ('0000-00-00', '2020-00-15') as text."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2}(\.\d+)?)?", value):
        return None
    return value


def normalise(value: Any) -> Any:
    """One Python spelling per value, whichever driver produced it."""
    if isinstance(value, pa.MonthDayNano):
        assert value.months == 0
        return timedelta(days=value.days, microseconds=value.nanoseconds // 1000)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, decimal.Decimal):
        return value.normalize() if value != 0 else decimal.Decimal(0)
    if isinstance(value, bytearray):
        return bytes(value)
    return value


def edit_table_config(settings: Settings, table: str, **changes: Any) -> None:
    """Write the table config (running discover when there is none) with `changes` for one table,
    as a person editing dental_tables.yaml would."""
    import yaml

    from dental_etl.sync.table_config import discover

    path = settings.table_config_path
    if not path.is_file():
        discover(settings.source, settings.sync, path)
    data = yaml.safe_load(path.read_text())
    data["tables"][table].update(changes)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def write_project(
    project_dir: Path, source: MySQLSource, warehouse: DuckDBWarehouse | PostgresWarehouse, **sync: Any
) -> None:
    """A config.yaml for running the `dental` CLI in a subprocess against these databases."""
    import yaml

    if isinstance(warehouse, DuckDBWarehouse):
        gateway = "duckdb"
        connection: dict[str, Any] = {"type": "duckdb", "database": warehouse.database}
    else:
        gateway = "postgres"
        connection = {
            "type": "postgres",
            "host": warehouse.host,
            "port": warehouse.port,
            "user": warehouse.user,
            "password": warehouse.password,
            "database": warehouse.database,
        }
    config = {
        "gateways": {gateway: {"connection": connection}},
        "default_gateway": gateway,
        "variables": {"dental": {"source_url": source.url, "sync": sync}},
    }
    (project_dir / "config.yaml").write_text(yaml.safe_dump(config))


def run_cli(project_dir: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dental_etl", "--project-dir", str(project_dir), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=cli_environment(),
        check=False,
    )


def cli_environment() -> dict[str, str]:
    """The test's environment, with this checkout's sources first on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DENTAL_")}
    src = str(Path(__file__).resolve().parents[3] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    env["COLUMNS"] = "200"
    return env
