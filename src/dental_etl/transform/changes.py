"""Which staging models have new input since they were last built, so a run refreshes only the
models downstream of a change (plus the models that depend on the date).

SQLMesh re-evaluates every model on every run, at a fixed cost of a fraction of a second per
model even when nothing changed. After a sync most tables are untouched, so `run_transform`
asks this module which raw tables changed and runs only `staging.stg_<table>+` (the staging
model and everything downstream), the raw table's audits, and the date-dependent models.

A raw table changed when its row count differs from its staging model's (hard deletes, new rows),
or when a raw row written by a newer sync run than any staged row (`_sync_run_id`) has a key or a
content hash (`_row_hash`) that staging does not hold. The loader re-reads a lookback window and
reloads small tables whole on every sync; the hash keeps those unchanged rows from counting.

The question is one query, written in DuckDB's dialect and transpiled for the warehouse.
"""

from __future__ import annotations

import typing as t

import sqlglot

from dental_etl.opendental.schema import Schema, load_schema
from dental_etl.raw_schema import RAW_SCHEMA, SYNC_RUN_ID, raw_column_name
from dental_etl.transform.codegen import ROW_HASH, row_hash_sql
from dental_etl.transform.naming import staging_name


def detection_sql(schema: Schema | None = None) -> str:
    """One row per core table: (table_name, changed)."""
    schema = schema or load_schema()
    parts = []
    for table in schema:
        raw, staged = f"{RAW_SCHEMA}.{table.name}", f"staging.stg_{table.name}"
        pk = raw_column_name(table.primary_key)
        key = staging_name(table, table.column(table.primary_key))
        newer = f"r.{SYNC_RUN_ID} > (SELECT COALESCE(MAX(w.{SYNC_RUN_ID}), -1) FROM {staged} AS w)"
        known = f"SELECT 1 FROM {staged} AS s WHERE s.{key} = r.{pk} AND s.{ROW_HASH} = {row_hash_sql(table)}"
        changed = (
            f"(SELECT COUNT(*) FROM {raw}) <> (SELECT COUNT(*) FROM {staged})"
            f" OR EXISTS (SELECT 1 FROM {raw} AS r WHERE {newer} AND NOT EXISTS ({known}))"
        )
        parts.append(f"SELECT '{table.name}' AS table_name, {changed} AS changed")
    return "\nUNION ALL\n".join(parts)


def changed_tables(ctx: t.Any) -> set[str]:
    """The raw tables whose staging model is out of date, asked of the context's warehouse."""
    adapter = ctx.engine_adapter
    sql = sqlglot.transpile(detection_sql(), read="duckdb", write=adapter.dialect)[0]
    return {str(name) for name, changed in adapter.fetchall(sql) if changed}


def date_dependent_models(ctx: t.Any) -> list[str]:
    """Models whose result depends on the run date (`@execution_ds`: aging as of today, recall
    due, claim age ...): they refresh on every run even when no data changed."""
    from sqlmesh.core.dialect import MacroVar

    # Walk the unrendered query rather than printing it: whether a dialect's generator knows
    # SQLMesh's MacroVar depends on import order (it raised "Unsupported expression type" in CI).
    return sorted(
        m.name
        for m in ctx.models.values()
        if not m.kind.is_external
        and any(var.name.lower() == "execution_ds" for var in m.query.find_all(MacroVar))
    )


def run_selection(tables_changed: t.Iterable[str], date_dependent: t.Iterable[str]) -> list[str]:
    """Selection expressions for `Context.run(select_models=..., no_auto_upstream=True)`: the
    changed raw tables (their audits), their staging models and everything downstream, and the
    date-dependent models with their downstream."""
    selection = []
    for name in sorted(tables_changed):
        selection += [f"{RAW_SCHEMA}.{name}", f"staging.stg_{name}+"]
    selection += [f"{name}+" for name in sorted(date_dependent)]
    return selection
