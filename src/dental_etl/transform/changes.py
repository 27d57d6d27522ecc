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

Most of them need not be asked either: the loader records per run and table how many rows it
inserted, updated and deleted (`_dental.sync_run_tables`), and for an incremental or append copy
those are exactly the changes (an identical re-read is not counted). Counting a six-million-row
table in PostgreSQL reads its whole heap, so the counting query is kept for the tables those
figures cannot settle: reloaded whole (`full`: identical rows are rewritten), or touched by a run
that was killed before it recorded its figures.
"""

from __future__ import annotations

import typing as t

from dental_etl.opendental.schema import Schema, load_schema
from dental_etl.raw_schema import RAW_SCHEMA, SYNC_RUN_ID
from dental_etl.sync.state import VANISHED
from dental_etl.transform.project_state import FAMILY_CHANGES, GROUP_CHANGES, KEY_CHANGES


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


def oldest_unfinished_run(adapter: t.Any) -> int | None:
    """The oldest loader run still marked running (a sync now, or one killed that the next sync
    will mark interrupted), or None."""
    try:
        rows = adapter.fetchall("SELECT MIN(run_id) FROM _dental.sync_runs WHERE status = 'running'")
    except Exception:  # no loader state in this warehouse
        return None
    return int(rows[0][0]) if rows and rows[0][0] is not None else None


def applied_through(progress: dict[str, int] | None, unfinished: int | None) -> int | None:
    """The loader run a transform may record as fully read: the newest run that committed a table,
    but before any run still unfinished. A sync commits table by table, so a run in progress may
    commit more tables (and delete more keys) after the transform read raw; those must count as
    new next time."""
    newest = max(progress.values(), default=None) if progress else None
    if newest is None or unfinished is None:
        return newest
    return min(newest, unfinished - 1)


# modes whose row figures are the table's real changes (results.Mode)
_COUNTED_MODES = ("incremental", "append", "unchanged", "none")


def loader_verdicts(adapter: t.Any, tables: t.Iterable[str], since_run: int) -> tuple[set[str], set[str]]:
    """(changed, unchanged) among `tables`, from the figures the loader recorded for its runs after
    `since_run`; a table in neither set must be asked with `detection_sql`."""
    wanted = set(tables)
    if not wanted:
        return set(), set()
    runs = adapter.fetchall(
        f"SELECT COUNT(*) FROM _dental.sync_runs WHERE run_id > {int(since_run)}"
        " AND status NOT IN ('ok', 'failed')"
    )
    if runs[0][0]:  # a run killed before it recorded its tables' figures (or still running)
        return set(), set()
    modes = ", ".join(f"'{m}'" for m in _COUNTED_MODES)
    rows = adapter.fetchall(
        "SELECT table_name,"
        f" MIN(CASE WHEN mode IN ({modes}) THEN 1 ELSE 0 END),"
        " SUM(COALESCE(rows_inserted, 0) + COALESCE(rows_updated, 0) + COALESCE(rows_deleted, 0))"
        f" FROM _dental.sync_run_tables WHERE run_id > {int(since_run)} GROUP BY table_name"
    )
    changed: set[str] = set()
    unchanged: set[str] = set()
    for name, counted, rows_changed in rows:
        if name not in wanted or not counted:
            continue
        (changed if rows_changed else unchanged).add(str(name))
    return changed, unchanged


def changed_tables(
    ctx: t.Any, candidates: t.Iterable[str] | None = None, since_run: int | None = None
) -> set[str]:
    """The raw tables whose staging model is out of date, asked of the context's warehouse; only
    `candidates` are looked at when given, and those the loader's figures for its runs after
    `since_run` settle are not counted (counting whole tables is not free in PostgreSQL)."""
    names = None if candidates is None else sorted(candidates)
    if names == []:
        return set()
    known: set[str] = set()
    if names is not None and since_run is not None:
        changed, unchanged = loader_verdicts(ctx.engine_adapter, names, since_run)
        known = changed | unchanged
        names = [n for n in names if n not in known]
        if not names:
            return changed
    else:
        changed = set()
    sql = detection_sql(names)
    return changed | {str(name) for name, is_changed in ctx.engine_adapter.fetchall(sql) if is_changed}


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


def run_selection(
    tables_changed: t.Iterable[str], date_dependent: t.Iterable[str], views: t.Iterable[str] = ()
) -> list[str]:
    """Selection expressions for `Context.run(select_models=..., no_auto_upstream=True)`: the
    changed raw tables (their audits), their staging models and everything downstream, and the
    date-dependent models with their downstream; without the `views`, which read their models'
    current rows whenever they are queried (evaluating one re-renders it, reruns its audits and
    records an interval, and changes nothing). A date-dependent view stays: its query holds the
    run date."""
    selection = []
    for name in sorted(tables_changed):
        selection += [f"{RAW_SCHEMA}.{name}", f"staging.stg_{name}+"]
    dated = sorted(date_dependent)
    selection += [f"{name}+" for name in dated]
    skipped = sorted(set(views) - set(dated))
    if not selection or not skipped:
        return selection
    return [f"({' | '.join(selection)}) & ^({' | '.join(skipped)})"]


def short_name(name: str) -> str:
    """`"db"."marts"."dim_date"` or `marts.dim_date` -> `marts.dim_date`."""
    return ".".join(part.strip('"') for part in name.split(".")[-2:])


def view_models(environment: t.Any) -> list[str]:
    """The names of the VIEW models in a SQLMesh environment (from its state, no project load)."""
    from sqlmesh.core.model.kind import ModelKindName

    return sorted(short_name(s.name) for s in environment.snapshots if s.kind_name == ModelKindName.VIEW)


def forget_applied_deletes(adapter: t.Any, through_run: int) -> None:
    """Drop from the loader's `_dental.vanished_keys` the keys removed by runs up to `through_run`,
    once a transform has succeeded over them: every model downstream of a table that lost rows ran
    (`@delete_vanished`, macros/incremental.py), and a rebuild from scratch needs no log. Keeps the
    log to the deletes not yet applied instead of every delete ever made."""
    if adapter.table_exists(str(VANISHED)):
        adapter.execute(f"DELETE FROM {VANISHED} WHERE run_id <= {int(through_run)}", quote_identifiers=False)


def forget_applied_changes(adapter: t.Any) -> None:
    """Empty `_dental.family_changes`, `_dental.key_changes` and `_dental.group_changes` once a
    transform has succeeded: the aging ran over every family the first names (macros/aging.py),
    `int_appointments` over every key the second names, `production_income_daily` over every group
    the third names (macros/incremental.py). A failed transform leaves them for the next one."""
    for log in (FAMILY_CHANGES, KEY_CHANGES, GROUP_CHANGES):
        if adapter.table_exists(log):
            adapter.execute(f"DELETE FROM {log}", quote_identifiers=False)
