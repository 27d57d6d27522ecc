"""Which staging models have new input since they were last built, so a run refreshes only the
models downstream of a change (plus the models that depend on the date).

SQLMesh re-evaluates every selected model on every run, at a fixed cost of a fraction of a second
per model even when nothing changed. After a sync most tables are untouched, so `run_transform`
asks this module which raw tables changed and runs only `staging.stg_<table>+` (the staging
model and everything downstream), the raw table's audits, and the date-dependent models.

A raw table changed when its row count differs from its staging model's (hard deletes, new rows)
or when it holds a row written by a newer sync run (`_sync_run_id`) than any staged row. The
loader writes a re-read row only when its content changed (lookback windows and reloads of small
tables leave identical rows, and their run id, alone), so a newer run id means a real change.

The question is one portable query (PostgreSQL and DuckDB alike), one row per table asked about.
Only the tables a loader run committed since the last transform are asked about: the loader's
`_dental.sync_state` records, in the same transaction as a table's rows, the run that last wrote
it, and a table no run touched cannot have changed.
"""

from __future__ import annotations

import typing as t

from dental_etl.opendental.schema import Schema, load_schema
from dental_etl.raw_schema import RAW_SCHEMA, SYNC_RUN_ID


def detection_sql(tables: t.Iterable[str] | None = None, schema: Schema | None = None) -> str:
    """One row per core table (or per named one): (table_name, changed)."""
    schema = schema or load_schema()
    wanted = None if tables is None else set(tables)
    parts = []
    for table in schema:
        if wanted is not None and table.name not in wanted:
            continue
        raw, staged = f"{RAW_SCHEMA}.{table.name}", f"staging.stg_{table.name}"
        changed = (
            f"(SELECT COUNT(*) FROM {raw}) <> (SELECT COUNT(*) FROM {staged})"
            f" OR (SELECT MAX({SYNC_RUN_ID}) FROM {raw})"
            f" > (SELECT COALESCE(MAX({SYNC_RUN_ID}), -1) FROM {staged})"
        )
        parts.append(f"SELECT '{table.name}' AS table_name, {changed} AS changed")
    return "\nUNION ALL\n".join(parts)


def loader_progress(adapter: t.Any) -> dict[str, int] | None:
    """Table -> the last loader run that committed it (`_dental.sync_state.last_run_id`), or None
    when the raw tables were not written by `dental sync` (the demo writes them directly)."""
    try:
        rows = adapter.fetchall("SELECT table_name, last_run_id FROM _dental.sync_state")
    except Exception:  # no loader state in this warehouse
        return None
    return {str(name): int(run) for name, run in rows if run is not None}


def changed_tables(ctx: t.Any, candidates: t.Iterable[str] | None = None) -> set[str]:
    """The raw tables whose staging model is out of date, asked of the context's warehouse; only
    `candidates` are looked at when given (counting whole tables is not free in PostgreSQL)."""
    names = None if candidates is None else sorted(candidates)
    if names == []:
        return set()
    sql = detection_sql(names)
    return {str(name) for name, changed in ctx.engine_adapter.fetchall(sql) if changed}


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
