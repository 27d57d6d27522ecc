"""Which families, and from which date, `int_ar_aging` ages again in a run.

A family's aging as of a date depends only on its ledger entries and claim lines dated on or
before it. So a change to an entry dated D (or moved away from D) changes the family's aging as
of D and later, never before: a run ages a family again only from the earliest such date, and
keeps its older month ends. The evidence, per family (`_dental.family_changes`: guarantor,
from_date, NULL = the whole history):

- what an entry or claim line was before a run rewrote or deleted it: `int_ledger` and
  `int_claimprocs` keep the family and date of their rows about to change (`@remember_families`, a
  pre-statement: the merge and the deletes overwrite them), `int_families` the family a patient
  leaves;
- what the entries and claim lines written since the last transform are now
  (`@aging_evidence`, the aging's own pre-statement, from their `_changed_run`);
- a new run date: every family from the last one (no longer the current aging).

The transform empties the log once it has succeeded (transform/changes.py), so what it holds is
what the aging has still to apply, including a failed run's.
"""

from __future__ import annotations

import typing as t

from sqlglot import exp
from sqlmesh import macro

from dental_etl.transform.project_state import FAMILY_CHANGES, FAMILY_CHANGES_COLUMNS, last_applied_run

LEDGER = "intermediate.int_ledger"
CLAIM_LINES = "intermediate.int_claimprocs"
WHOLE_HISTORY = "DATE '0001-01-01'"


def _evaluating(evaluator: t.Any) -> bool:
    """A real run over an existing table (not the first build, loading, or a yaml unit test)."""
    return evaluator.runtime_stage == "evaluating" and evaluator.engine_adapter.table_exists(
        evaluator.this_model
    )


def _one(evaluator: t.Any, sql: str) -> t.Any:
    row = evaluator.engine_adapter.fetchone(sql)
    return None if not row else row[0]


def _stored_run_date(evaluator: t.Any) -> str | None:
    """The newest as-of date the aging holds (the last run date), as YYYY-MM-DD."""
    value = _one(evaluator, f"SELECT CAST(MAX(as_of_date) AS VARCHAR) FROM {evaluator.this_model}")
    return str(value)[:10] if value else None


@macro()
def family_changes_table(evaluator: t.Any) -> exp.Expression:
    """`CREATE TABLE IF NOT EXISTS _dental.family_changes` (config.yaml's `before_all`)."""
    return exp.maybe_parse(
        f"CREATE TABLE IF NOT EXISTS {FAMILY_CHANGES} ({FAMILY_CHANGES_COLUMNS})", dialect="duckdb"
    )


@macro()
def remember_families(
    evaluator: t.Any, guarantor: exp.Expression, day: exp.Expression, where: exp.Expression
) -> exp.Expression | None:
    """Pre-statement: log the family (`guarantor`) and date (`day`; NULL: the whole history) of the
    model's rows (alias `m`) that meet `where`: the rows the run is about to rewrite or delete."""
    if not _evaluating(evaluator):
        return None
    columns = ", ".join(e.sql(dialect="duckdb") for e in (guarantor, day))
    return exp.maybe_parse(
        f"INSERT INTO {FAMILY_CHANGES} (guarantor_id, from_date)"
        f" SELECT DISTINCT {columns} FROM {evaluator.this_model} AS m WHERE {where.sql(dialect='duckdb')}",
        dialect="duckdb",
    )


@macro()
def aging_evidence(evaluator: t.Any, today: exp.Expression) -> exp.Expression | None:
    """Pre-statement of `int_ar_aging`: log the families and dates of the entries and claim lines
    written since the last transform (all of them when none is recorded), and, when the run date
    moved on, every family from the last run date (the whole history when it moved back)."""
    if not _evaluating(evaluator):
        return None
    through = last_applied_run(evaluator.engine_adapter)
    since = "TRUE" if through is None else f"_changed_run > {int(through)}"
    parts = [
        f"SELECT guarantor_id, entry_date FROM {LEDGER} WHERE {since}",
        f"SELECT guarantor_id, proc_date FROM {CLAIM_LINES} WHERE {since}",
    ]
    stored, run_date = _stored_run_date(evaluator), today.name[:10]
    if stored is not None and stored != run_date:
        # from the last run date itself: kept when a month end, it is no longer the current aging
        start = f"CAST('{stored}' AS DATE)" if stored < run_date else "CAST(NULL AS DATE)"
        parts += [
            f"SELECT guarantor_id, {start} FROM {LEDGER}",
            f"SELECT guarantor_id, {start} FROM {CLAIM_LINES}",
        ]
    return exp.maybe_parse(
        f"INSERT INTO {FAMILY_CHANGES} (guarantor_id, from_date)"
        f" SELECT DISTINCT guarantor_id, from_date"
        f" FROM ({' UNION ALL '.join(parts)}) AS changed(guarantor_id, from_date)",
        dialect="duckdb",
    )


def _scope_sql(evaluator: t.Any) -> str:
    if not _evaluating(evaluator):
        return (
            f"SELECT guarantor_id, {WHOLE_HISTORY} AS from_date"
            f" FROM (SELECT guarantor_id FROM {LEDGER} UNION SELECT guarantor_id FROM {CLAIM_LINES}) AS f"
        )
    return (
        f"SELECT guarantor_id, MIN(COALESCE(from_date, {WHOLE_HISTORY})) AS from_date"
        f" FROM {FAMILY_CHANGES} GROUP BY guarantor_id"
    )


@macro()
def aging_scope(evaluator: t.Any) -> exp.Expression:
    """(guarantor_id, from_date): the families to age in this run and the first as-of date to age
    each from. Every family from the start on the first build (and in yaml unit tests); after, the
    families in the log (`@aging_evidence` has added this run's)."""
    return exp.maybe_parse(f"({_scope_sql(evaluator)})", dialect="duckdb")


@macro()
def aging_kept(evaluator: t.Any) -> exp.Expression:
    """The aging rows the table holds (`guarantor_id`, `as_of_date` and the totals to that date),
    for the run to start a family's running totals from its newest row before the family's
    from_date (those rows stay: nothing dated on or before them changed). None on the first build
    and in yaml unit tests, where every family is aged from its first entry."""
    columns = "guarantor_id, as_of_date, charges_to_date, credits_to_date"
    if _evaluating(evaluator):
        return exp.maybe_parse(f"(SELECT {columns} FROM {evaluator.this_model})", dialect="duckdb")
    return exp.maybe_parse(
        "(SELECT CAST(NULL AS BIGINT) AS guarantor_id,"
        " CAST(NULL AS DATE) AS as_of_date, CAST(NULL AS DOUBLE) AS charges_to_date,"
        " CAST(NULL AS DOUBLE) AS credits_to_date WHERE FALSE)",
        dialect="duckdb",
    )


@macro()
def aging_clear(evaluator: t.Any) -> exp.Expression | None:
    """Pre-statement of `int_ar_aging`, after `@aging_evidence`: delete the rows the run ages again,
    those of a family in scope as of its from_date or later (the run inserts the ones not zero). The
    family's equality lets DuckDB hash-join (a range alone made it 10 s); the key (guarantor x
    100000 + days since 1970) orders a family's rows by date: a range of it, which PostgreSQL can
    read from the key's index."""
    if not _evaluating(evaluator):
        return None
    return exp.maybe_parse(
        f"DELETE FROM {evaluator.this_model} AS m WHERE EXISTS (SELECT 1 FROM ({_scope_sql(evaluator)}) AS s"
        " WHERE s.guarantor_id = m.guarantor_id"
        " AND m.aging_id BETWEEN s.guarantor_id * 100000 + GREATEST(s.from_date - DATE '1970-01-01', 0)"
        " AND s.guarantor_id * 100000 + 99999)",
        dialect="duckdb",
    )


@macro()
def aging_clear_stale(evaluator: t.Any, today: exp.Expression) -> exp.Expression | None:
    """Pre-statement of `int_ar_aging`: when the run date moved on, delete the last run date's aging
    unless that date is a month end (month ends stay); when it moved back, the dates after it."""
    if not _evaluating(evaluator):
        return None
    stored, run_date = _stored_run_date(evaluator), today.name[:10]
    if stored is None or stored == run_date:
        return None
    if stored > run_date:
        where = f"m.as_of_date > CAST('{run_date}' AS DATE)"
    else:
        where = f"m.as_of_date = CAST('{stored}' AS DATE) AND m.as_of_date <> LAST_DAY(m.as_of_date)"
    return exp.maybe_parse(f"DELETE FROM {evaluator.this_model} AS m WHERE {where}", dialect="duckdb")
