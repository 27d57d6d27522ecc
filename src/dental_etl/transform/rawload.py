"""Write Arrow tables into a warehouse's `raw` schema exactly as the loader's contract says.

The loader (`dental sync`) is the production path from MySQL. This module is the short path the
model tests, the demo and the model benchmark take from in-memory frames (the synthetic
generator's `Practice.to_arrow()`): same schema, same table and column names, same types
(`raw_schema.arrow_type`), same metadata columns. Replacing a table is DROP + CREATE + bulk copy;
`upsert_rows` / `delete_rows` imitate an incremental sync (new `_sync_run_id` on changed rows,
vanished keys deleted).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import pyarrow as pa
import sqlglot

from dental_etl.errors import WarehouseUnreachable
from dental_etl.opendental.schema import Table, load_schema
from dental_etl.raw_schema import (
    LOADED_AT,
    METADATA_FIELDS,
    RAW_SCHEMA,
    SYNC_RUN_ID,
    arrow_type,
    raw_column_name,
)
from dental_etl.settings import DuckDBWarehouse, PostgresWarehouse
from dental_etl.transform.codegen import sql_type

Warehouse = DuckDBWarehouse | PostgresWarehouse


def raw_arrow_schema(table: Table) -> pa.Schema:
    fields = [pa.field(raw_column_name(c.name), arrow_type(c.mysql_type)) for c in table.columns]
    return pa.schema([*fields, *METADATA_FIELDS])


def conform(table: Table, data: pa.Table, sync_run_id: int | None = None) -> pa.Table:
    """Cast a raw-format table (`Practice.to_arrow()`) to the contract's schema; with `sync_run_id`,
    stamp it as written by that run (now)."""
    schema = raw_arrow_schema(table)
    data = data.select(schema.names)
    if sync_run_id is not None:
        n = data.num_rows
        stamp = dt.datetime.now(dt.UTC)
        stamps = pa.array([stamp] * n, pa.timestamp("us", tz="UTC"))
        data = data.set_column(data.schema.get_field_index(LOADED_AT), LOADED_AT, stamps)
        runs = pa.array([sync_run_id] * n, pa.int64())
        data = data.set_column(data.schema.get_field_index(SYNC_RUN_ID), SYNC_RUN_ID, runs)
    return data.cast(schema)


def _create_sql(table: Table, dialect: str) -> str:
    schema = raw_arrow_schema(table)
    cols = ", ".join(f"{f.name} {sql_type(f.type)}" for f in schema)
    pk = raw_column_name(table.primary_key)
    ddl = f"CREATE TABLE {RAW_SCHEMA}.{table.name} ({cols}, PRIMARY KEY ({pk}))"
    return sqlglot.transpile(ddl, read="duckdb", write=dialect)[0]


class RawWriter:
    """One connection to a warehouse's raw schema (DuckDB file or PostgreSQL database)."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self._is_pg = isinstance(warehouse, PostgresWarehouse)
        try:
            if self._is_pg:
                import adbc_driver_postgresql.dbapi as adbc

                self._conn = adbc.connect(warehouse.url)
            else:
                import duckdb

                self._conn = duckdb.connect(warehouse.database)
        except Exception as exc:
            raise WarehouseUnreachable(f"cannot open warehouse {warehouse.display}: {exc}") from exc
        self._execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")

    def _execute(self, sql: str) -> None:
        if self._is_pg:
            with self._conn.cursor() as cur:
                cur.execute(sql)
            self._conn.commit()
        else:
            self._conn.execute(sql)

    def _append(self, name: str, data: pa.Table) -> None:
        if self._is_pg:
            with self._conn.cursor() as cur:
                cur.adbc_ingest(name, data, mode="append", db_schema_name=RAW_SCHEMA)
            self._conn.commit()
        else:
            self._conn.register("_incoming", data)
            self._conn.execute(f"INSERT INTO {RAW_SCHEMA}.{name} SELECT * FROM _incoming")
            self._conn.unregister("_incoming")

    def replace(self, tables: Mapping[str, pa.Table], sync_run_id: int | None = None) -> None:
        """Full load: every given raw-format table dropped, recreated and filled."""
        schema = load_schema()
        for name, data in tables.items():
            table = schema[name]
            self._execute(f"DROP TABLE IF EXISTS {RAW_SCHEMA}.{name}")
            self._execute(_create_sql(table, "postgres" if self._is_pg else "duckdb"))
            self._append(name, conform(table, data, sync_run_id))

    def upsert_rows(self, name: str, data: pa.Table, sync_run_id: int) -> None:
        """Incremental sync of changed or new raw-format rows: their keys deleted, then inserted
        stamped with `sync_run_id`."""
        table = schema_table(name)
        conformed = conform(table, data, sync_run_id)
        self.delete_rows(name, conformed.column(raw_column_name(table.primary_key)).to_pylist())
        self._append(name, conformed)

    def delete_rows(self, name: str, keys: Iterable[int]) -> None:
        """Hard deletes mirrored from the source."""
        keys = list(keys)
        if not keys:
            return
        pk = raw_column_name(schema_table(name).primary_key)
        for start in range(0, len(keys), 5000):
            chunk = ", ".join(str(int(k)) for k in keys[start : start + 5000])
            self._execute(f"DELETE FROM {RAW_SCHEMA}.{name} WHERE {pk} IN ({chunk})")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> RawWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def schema_table(name: str) -> Table:
    return load_schema()[name]
