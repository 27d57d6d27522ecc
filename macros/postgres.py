"""PostgreSQL session settings and statistics for the models; both are no-ops on DuckDB, which
compiles nothing ahead and keeps its statistics as it writes.

On the postgres gateway every model runs `@session_settings()` before and `@analyze_when_stale()`
after itself (config.yaml, that gateway's `model_defaults`). DuckDB models do not carry them: SQLMesh
renders each statement of a model on every evaluation, a no-op there but not a free one."""

from __future__ import annotations

import typing as t

from sqlglot import exp
from sqlmesh import macro

from dental_etl.transform.pg_session import set_statements

# autovacuum's default rule: analyze once this share of a table's rows was written since the last time
STALE_SHARE = 0.1
STALE_ROWS = 50


def _on_postgres(evaluator: t.Any) -> bool:
    return evaluator.runtime_stage == "evaluating" and evaluator.engine_adapter.dialect == "postgres"


@macro()
def session_settings(evaluator: t.Any) -> list[exp.Expression] | None:
    """The session settings of src/dental_etl/transform/pg_session.py (no JIT, a warehouse's
    work_mem) on PostgreSQL, for the model's own statements."""
    if not _on_postgres(evaluator):
        return None
    return [exp.maybe_parse(sql, dialect="postgres") for sql in set_statements()]


@macro()
def analyze_when_stale(evaluator: t.Any) -> exp.Expression | None:
    """`ANALYZE` the model's table on PostgreSQL when autovacuum would (never analysed, or more
    than a tenth of its rows written since), but now rather than minutes later (or never, where
    autovacuum is off): without statistics the next run's merges plan for a third of each input
    and hash-join whole tables instead of reading the few changed rows by index.

    A FULL model rewrites every row on every run, so autovacuum's rule would analyse it every
    time (up to a second per mart), though its rows are the same ones give or take the day's
    change: it is analysed when it never was, or when its row count moved by more than that share
    since the last time."""
    if not _on_postgres(evaluator):
        return None
    name = evaluator.this_model.replace("'", "''")
    row = evaluator.engine_adapter.fetchone(
        "SELECT c.relkind, c.reltuples, COALESCE(s.n_mod_since_analyze, 0),"
        " COALESCE(s.last_analyze, s.last_autoanalyze) IS NOT NULL, COALESCE(s.n_live_tup, 0)"
        " FROM pg_class AS c LEFT JOIN pg_stat_user_tables AS s ON s.relid = c.oid"
        f" WHERE c.oid = to_regclass('{name}')"
    )
    if not row or row[0] != "r":  # a view, or not created yet
        return None
    _, rows, written, analyzed, live = row
    if str(evaluator.locals.get("model_kind_name", "")).upper() == "FULL":
        written = abs(float(live) - float(rows))  # rows gained or lost, not rows rewritten
    if analyzed and written <= STALE_SHARE * max(float(rows), 0.0) + STALE_ROWS:
        return None
    return exp.maybe_parse(f"ANALYZE {evaluator.this_model}", dialect="postgres")
