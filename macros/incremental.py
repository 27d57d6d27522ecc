"""Macros for models that merge only what changed since their last run.

An incremental intermediate or mart model keeps, on every row, `_changed_run`: the newest loader
run (`_sync_run_id`) among the rows it was computed from. Its next run recomputes only the rows
with an input written by a newer run, merges them by key, and deletes keys gone from its driving
input (a post-statement). Loader run ids only grow, and the loader rewrites a row only when its
content changed, so `_sync_run_id > last _changed_run` is exactly "changed since".
"""

from __future__ import annotations

import typing as t

from sqlglot import exp
from sqlmesh import macro

from dental_etl.sync.state import VANISHED
from dental_etl.transform.project_state import (
    GROUP_CHANGES,
    GROUP_CHANGES_COLUMNS,
    KEY_CHANGES,
    KEY_CHANGES_COLUMNS,
)


def _newest_run(evaluator: t.Any, column: str) -> int | None:
    """The newest run id in `column` of the model's table during a real evaluation; None before the
    first build and outside one (loading, table creation, yaml unit tests)."""
    if evaluator.runtime_stage != "evaluating":
        return None
    # asked once per render: a model's query calls it for each input it reads changes of
    known = evaluator.locals.setdefault("_dental_newest_runs", {})
    if column not in known:
        row = evaluator.engine_adapter.fetchone(f"SELECT MAX({column}) FROM {evaluator.this_model}")
        known[column] = None if not row or row[0] is None else int(row[0])
    return known[column]


@macro()
def changed_since_last_run(evaluator: t.Any, *run_ids: exp.Expression) -> exp.Expression:
    """`run_id > N OR ...` for the given input run-id columns, N being the newest `_changed_run`
    the model holds; TRUE (every row) before the first build, and outside a real evaluation
    (loading, table creation, yaml unit tests), where there is no previous state to compare with."""
    done = _newest_run(evaluator, "_changed_run")
    if done is None:
        return exp.true()
    last = exp.Literal.number(done)
    return exp.paren(exp.or_(*(exp.GT(this=run_id, expression=last.copy()) for run_id in run_ids)))


@macro()
def input_changed(evaluator: t.Any, model: exp.Expression, run: exp.Expression) -> exp.Expression:
    """TRUE when the input `model` (a small lookup: definitions, appointment types, procedure
    codes) holds a row whose `run` column is newer than this model's newest `_changed_run`, FALSE
    when it does not: asked while rendering and written as a constant. A branch of the rows to
    recompute that joins such an input to a large table (`@input_changed(...) AND
    @changed_since_last_run(...)`) then leaves PostgreSQL's plan when nothing changed in it, where
    it was estimated as a fifth of the large table (one definition's share of it) and every join
    after it planned for as many rows. TRUE before the first build and outside a real evaluation."""
    done = _newest_run(evaluator, "_changed_run")
    if done is None:
        return exp.true()
    table = evaluator.resolve_table(exp.to_table(model.sql(dialect="duckdb"), dialect="duckdb"))
    newer = f"SELECT 1 FROM {table} WHERE {run.sql(dialect='duckdb')} > {done} LIMIT 1"
    row = evaluator.engine_adapter.fetchone(f"SELECT COUNT(*) FROM ({newer}) AS newer")
    return exp.true() if row and row[0] else exp.false()


@macro()
def when_incremental(evaluator: t.Any, condition: exp.Expression) -> exp.Expression:
    """`condition` once the model holds rows from an earlier run; TRUE before (the first build takes
    every row, without computing which rows changed) and outside a real evaluation."""
    return exp.true() if _newest_run(evaluator, "_changed_run") is None else condition


@macro()
def synced_since_last_run(evaluator: t.Any, run_id: exp.Expression) -> exp.Expression:
    """`run_id > N`, N being the newest loader run (`_sync_run_id`) the staging model holds, as a
    literal: PostgreSQL then estimates the few new rows from its statistics and merges them by the
    key index, where a subquery's unknown value made it plan for a third of the table. TRUE before
    the first build and outside a real evaluation."""
    done = _newest_run(evaluator, "_sync_run_id")
    return exp.true() if done is None else exp.GT(this=run_id, expression=exp.Literal.number(done))


VANISHED_LOG = str(VANISHED)  # the loader's log of removed keys (src/dental_etl/sync/state.py)


@macro()
def vanished_log(evaluator: t.Any) -> exp.Expression:
    """The loader's log of the keys removed from raw tables (table_name, key_value, run_id)."""
    return exp.to_table(VANISHED_LOG, dialect="duckdb")


@macro()
def vanished_since_last_run(evaluator: t.Any, raw_table: exp.Expression) -> exp.Expression:
    """Whether the loader logged a key of `raw_table` (its name) removed since the model's newest
    `_changed_run` (`_dental.vanished_keys`), asked while rendering and written as TRUE or FALSE:
    PostgreSQL then drops a branch that reads nothing from its plan, where an `EXISTS` gating a
    scan was estimated as the whole scan (and every join after it planned for as many rows).
    FALSE before the first build and outside a real evaluation (yaml unit tests have no log)."""
    done = _newest_run(evaluator, "_changed_run")
    if done is None:
        return exp.false()
    row = evaluator.engine_adapter.fetchone(
        f"SELECT COUNT(*) FROM {VANISHED_LOG} WHERE table_name = '{raw_table.name}' AND run_id > {done}"
    )
    return exp.true() if row and row[0] else exp.false()


@macro()
def delete_vanished(
    evaluator: t.Any,
    key: exp.Expression,
    raw_table: exp.Expression,
    run: exp.Expression,
    scope: exp.Expression | None = None,
    logged_as: exp.Expression | None = None,
) -> exp.Expression | None:
    """Post-statement of an incremental model: delete its rows (those within `scope`, when given)
    whose `key` the loader logged as gone from `raw_table` (`_dental.vanished_keys`: deleted in
    OpenDental, or missing from a reload) after the row was computed, i.e. by a run newer than the
    row's own `run` column (`_sync_run_id` in staging, `_changed_run` downstream). A key deleted and then
    written again carries the newer run and stays. The log replaces comparing the whole model with
    its input (an anti-join: 10 s for six million rows in PostgreSQL, and counting both sides
    every run to know whether to run it). `logged_as`, written on the log's `v.key_value`, maps a
    logged key to the model's `key` when that differs (int_ledger's entry id: source key x 4 +
    type), so the key's index finds the rows."""
    if evaluator.runtime_stage != "evaluating":
        return None
    if not evaluator.engine_adapter.table_exists(VANISHED_LOG):
        raise ValueError(
            f"{VANISHED_LOG} is missing: the warehouse was last synced by an older loader; run `dental sync`"
        )
    this = evaluator.this_model
    raw = exp.to_table(raw_table.sql(dialect="duckdb"), dialect="duckdb")
    if raw.db != "raw":
        raise ValueError(f"@delete_vanished names a raw table (raw.<table>), got {raw.sql()}")
    column, run_column = key.sql(dialect="duckdb"), run.sql(dialect="duckdb")
    within = scope.sql(dialect="duckdb") if scope is not None else "TRUE"
    value = logged_as.sql(dialect="duckdb") if logged_as is not None else "v.key_value"
    logged = f"SELECT {value} FROM {VANISHED_LOG} AS v WHERE v.table_name = '{raw.name}'"
    return exp.maybe_parse(
        f"DELETE FROM {this} AS m WHERE {within} AND m.{column} IN ({logged})"
        f" AND EXISTS ({logged} AND {value} = m.{column} AND v.run_id > m.{run_column})",
        dialect="duckdb",
    )


@macro()
def delete_rows(evaluator: t.Any, where: exp.Expression) -> exp.Expression | None:
    """Pre-statement: delete the model's rows (alias `m`) that meet `where`, before the run merges
    what changed: the rows whose source row changed since and no longer passes the model's filter
    (a procedure marked deleted, a split now unearned, a claim line no longer received). `where`
    names them from the inputs' rows changed since the last run (`@changed_since_last_run`,
    rendered while the model still holds its last run's rows), so a run reads only what changed,
    where comparing the model with its whole input counted both sides every run. Keys gone from
    the source altogether are `@delete_vanished`'s. Only over an existing table during a real
    evaluation (the first build has nothing to delete)."""
    if not _rewriting(evaluator):
        return None
    return exp.maybe_parse(
        f"DELETE FROM {evaluator.this_model} AS m WHERE {where.sql(dialect='duckdb')}", dialect="duckdb"
    )


@macro()
def transform_state_table(evaluator: t.Any) -> exp.Expression:
    """`CREATE TABLE IF NOT EXISTS _dental.transform_state` (config.yaml's `before_all`): the raw
    tables' `raw_contract` audit reads from it the loader run the last transform went up to, so it
    exists before the first plan, whether `dental transform` or `sqlmesh plan` runs it."""
    from dental_etl.transform.project_state import STATE_COLUMNS, STATE_TABLE

    return exp.maybe_parse(f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} ({STATE_COLUMNS})", dialect="duckdb")


@macro()
def change_logs(evaluator: t.Any) -> list[exp.Expression]:
    """`CREATE TABLE IF NOT EXISTS` `_dental.key_changes` and `_dental.group_changes` (config.yaml's
    `before_all`)."""
    return [
        exp.maybe_parse(f"CREATE TABLE IF NOT EXISTS {name} ({columns})", dialect="duckdb")
        for name, columns in ((KEY_CHANGES, KEY_CHANGES_COLUMNS), (GROUP_CHANGES, GROUP_CHANGES_COLUMNS))
    ]


def _rewriting(evaluator: t.Any) -> bool:
    """A real evaluation over an existing table: a run that may rewrite rows (not the first build)."""
    return evaluator.runtime_stage == "evaluating" and evaluator.engine_adapter.table_exists(
        evaluator.this_model
    )


@macro()
def remember_keys(
    evaluator: t.Any,
    topic: exp.Expression,
    key: exp.Expression,
    where: exp.Expression,
    day: exp.Expression | None = None,
) -> exp.Expression | None:
    """Pre-statement: log under `topic` the `key` (written on `m`, the model's rows) of the rows
    that meet `where`, the rows the run is about to rewrite or delete, as they are before it, with
    their `day` when given: a downstream model that aggregates by that key (and date) recomputes it
    (`@remembered_keys`), where the merge leaves only the row's new key (a procedure moved to
    another appointment, a payment moved to another date or family, or deleted). Only over an
    existing table during a real evaluation (the first build rewrites nothing)."""
    if not _rewriting(evaluator):
        return None
    on_day = day.sql(dialect="duckdb") if day is not None else "CAST(NULL AS DATE)"
    return exp.maybe_parse(
        f"INSERT INTO {KEY_CHANGES} (topic, key_value, day)"
        f" SELECT DISTINCT '{topic.name}', {key.sql(dialect='duckdb')}, {on_day}"
        f" FROM {evaluator.this_model} AS m WHERE {where.sql(dialect='duckdb')}",
        dialect="duckdb",
    )


@macro()
def remembered_keys(evaluator: t.Any, topic: exp.Expression) -> exp.Expression:
    """A query of the keys logged under `topic` (`@remember_keys`) and not yet applied: `key_value`
    and `day`. Empty outside a real evaluation (yaml unit tests have no log)."""
    if evaluator.runtime_stage != "evaluating":
        return exp.maybe_parse(
            "SELECT CAST(NULL AS BIGINT) AS key_value, CAST(NULL AS DATE) AS day WHERE FALSE",
            dialect="duckdb",
        )
    return exp.maybe_parse(
        f"SELECT key_value, day FROM {KEY_CHANGES} WHERE topic = '{topic.name}'", dialect="duckdb"
    )


@macro()
def remember_groups(
    evaluator: t.Any,
    topic: exp.Expression,
    days: exp.Expression,
    provider: exp.Expression,
    clinic: exp.Expression,
    where: exp.Expression,
) -> exp.Expression | None:
    """Pre-statement: as `@remember_keys`, for a mart kept by (day, provider, clinic): log under
    `topic` the group (written on `m`) each row that meets `where` counts in before the run
    rewrites or deletes it (`@remembered_groups`); `days` is a day column or a tuple of them (a
    claim line counts on up to three dates)."""
    if not _rewriting(evaluator):
        return None
    days_list = days.expressions if isinstance(days, exp.Tuple) else [days]
    rest = f"{provider.sql(dialect='duckdb')}, {clinic.sql(dialect='duckdb')}"
    rows = " UNION ".join(
        f"SELECT '{topic.name}', {day.sql(dialect='duckdb')}, {rest} FROM {evaluator.this_model} AS m"
        f" WHERE ({where.sql(dialect='duckdb')}) AND {day.sql(dialect='duckdb')} IS NOT NULL"
        for day in days_list
    )
    return exp.maybe_parse(
        f"INSERT INTO {GROUP_CHANGES} (topic, day, provider_id, clinic_id) {rows}", dialect="duckdb"
    )


@macro()
def remember_days(evaluator: t.Any, topic: exp.Expression, days: exp.Expression) -> exp.Expression | None:
    """Pre-statement of a mart kept by day (`daily_payments`): log under `topic` the days of `days`
    (a subquery of one column, `day`) for the run to recompute whole (`@remembered_groups`), the
    days a row written since counts on and those a changed row counted on before. Logged before the
    model changes, while `@changed_since_last_run` still compares with its last run. Only over an
    existing table during a real evaluation (the first build takes every day)."""
    if not _rewriting(evaluator):
        return None
    query = days.this if isinstance(days, exp.Subquery) else days
    return exp.maybe_parse(
        f"INSERT INTO {GROUP_CHANGES} (topic, day, provider_id, clinic_id)"
        f" SELECT DISTINCT '{topic.name}', d.day, 0, 0 FROM ({query.sql(dialect='duckdb')}) AS d WHERE d.day IS NOT NULL",
        dialect="duckdb",
    )


@macro()
def remembered_groups(evaluator: t.Any, topic: exp.Expression) -> exp.Expression:
    """A query of the groups logged under `topic` (`@remember_groups`): day, provider_id,
    clinic_id. Empty outside a real evaluation (yaml unit tests have no log)."""
    if evaluator.runtime_stage != "evaluating":
        return exp.maybe_parse(
            "SELECT CAST(NULL AS DATE) AS day, CAST(NULL AS BIGINT) AS provider_id, CAST(NULL AS BIGINT) AS clinic_id"
            " WHERE FALSE",
            dialect="duckdb",
        )
    return exp.maybe_parse(
        f"SELECT day, provider_id, clinic_id FROM {GROUP_CHANGES} WHERE topic = '{topic.name}'",
        dialect="duckdb",
    )


@macro()
def in_touched_group(
    evaluator: t.Any, day: exp.Expression, provider: exp.Expression, clinic: exp.Expression
) -> exp.Expression:
    """`EXISTS` a row of the model's `touched` CTE (date_day, provider_id, clinic_id) for the
    given columns of an input row: the rows of the groups an incremental run recomputes. TRUE on
    the first build (every row) and outside a real evaluation."""
    if _newest_run(evaluator, "_changed_run") is None:
        return exp.true()
    columns = (day, provider, clinic)
    on = " AND ".join(
        f"t.{name} = {col.sql(dialect='duckdb')}"
        for name, col in zip(("date_day", "provider_id", "clinic_id"), columns)
    )
    return exp.maybe_parse(f"EXISTS (SELECT 1 FROM touched AS t WHERE {on})", dialect="duckdb")


@macro()
def delete_emptied_groups(evaluator: t.Any) -> exp.Expression | None:
    """Post-statement of a mart kept by groups (`production_income_daily`): delete the groups the
    run recomputed and found no row left in (`_rows` 0: every row deleted or moved to another
    group), which a rebuild would not have."""
    if evaluator.runtime_stage != "evaluating":
        return None
    return exp.maybe_parse(f"DELETE FROM {evaluator.this_model} WHERE _rows = 0", dialect="duckdb")
