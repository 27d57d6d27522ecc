"""Keys the warehouse enforces, so that checking them costs nothing.

A key audit (set and unique) is a GROUP BY over the whole table: 6-14 s per six-million-row table
in PostgreSQL, about a third of an incremental run; in DuckDB 0.3-1 s, a quarter of one. So the
incremental models carry a unique index on their key (`@key_index`, a post-statement, on both
engines: the database refuses a duplicate key at write time, and PostgreSQL's MERGE finds rows
through it), and the key audits (`@key_violations`) first ask the catalogue: when a unique index
covers the key columns, and every key column is declared NOT NULL (the loader's raw tables:
primary key) or is checked for NULLs, no GROUP BY is needed. A view that only projects one table
(`fact_ledger` over `int_ledger`) has that table's key, so that table's index answers for it.
Without such an index (FULL models, views that filter, join or union) the audit scans as before.

(The raw tables' `raw_contract` audit cannot use this: SQLMesh gives external models no Python
macros. It groups only the keys of the rows written since the last transform instead.)
"""

from __future__ import annotations

import hashlib
import typing as t

from sqlglot import exp
from sqlmesh import macro


def _engine(evaluator: t.Any) -> str | None:
    """'postgres' or 'duckdb' when the macro runs against that warehouse, else None."""
    adapter = evaluator.engine_adapter
    dialect = adapter.dialect if adapter is not None else None
    return dialect if dialect in ("postgres", "duckdb") else None


def _names(columns: t.Sequence[exp.Expression]) -> list[str]:
    """Column names from the macro's arguments: columns, or one tuple/array of columns."""
    if len(columns) == 1 and isinstance(columns[0], exp.Paren):  # `(a)` is one column, not a tuple
        columns = [columns[0].this]
    if len(columns) == 1 and isinstance(columns[0], exp.Tuple | exp.Array):
        columns = columns[0].expressions
    names = [c.name for c in columns if isinstance(c, exp.Column | exp.Identifier)]
    if len(names) != len(columns) or not all(names):
        raise ValueError(f"key columns must be column names, got {[c.sql() for c in columns]}")
    return names


def _table(evaluator: t.Any) -> exp.Table:
    return exp.to_table(evaluator.this_model, dialect=evaluator.dialect)


def _index(
    evaluator: t.Any,
    columns: t.Sequence[exp.Expression],
    *,
    unique: bool,
    engines: tuple[str, ...],
    suffix: str | None = None,
) -> exp.Expression | None:
    """CREATE [UNIQUE] INDEX IF NOT EXISTS on the model's table, on the given engines.

    The first build renders post-statements in SQLMesh's 'creating' stage (after the table was
    filled), later runs in 'evaluating'; any other moment, or a table not there yet, gets none."""
    if evaluator.runtime_stage not in ("creating", "evaluating") or _engine(evaluator) not in engines:
        return None
    table = _table(evaluator)
    if not evaluator.engine_adapter.table_exists(table):
        return None
    names = _names(columns)
    # short suffixes: SQLMesh also fills `<table>_schema_tmp` tables, and 63 characters is the limit
    index = exp.to_identifier(f"{table.name}_{suffix or ('key' if unique else 'run')}")
    cols = ", ".join(exp.to_identifier(n).sql(dialect="postgres") for n in names)
    return exp.maybe_parse(
        f"CREATE {'UNIQUE ' if unique else ''}INDEX IF NOT EXISTS {index.sql(dialect='postgres')}"
        f" ON {table.sql(dialect='postgres')} ({cols})",
        dialect="postgres",
    )


@macro()
def key_index(evaluator: t.Any, *columns: exp.Expression) -> exp.Expression | None:
    """Post-statement: a unique index on the key of the model's table (PostgreSQL and DuckDB): the
    warehouse refuses a duplicate key, and the key audits need not look for one."""
    return _index(evaluator, columns, unique=True, engines=("postgres", "duckdb"))


@macro()
def run_index(evaluator: t.Any, column: exp.Expression) -> exp.Expression | None:
    """Post-statement: an index on the run column an incremental model is read by (PostgreSQL
    only): `_sync_run_id` of a staging model, `_changed_run` of a row-level intermediate. The
    newest run a model holds, and the rows a downstream model must recompute (`_changed_run > N`),
    are then read from the index, not by scanning the table. DuckDB reads a column's maximum from
    its block statistics and filters a column scan fast without one."""
    return _index(evaluator, [column], unique=False, engines=("postgres",))


@macro()
def lookup_index(evaluator: t.Any, *columns: exp.Expression) -> exp.Expression | None:
    """Post-statement: an index on the columns a downstream model looks a few rows up by
    (PostgreSQL only), where it would otherwise scan the whole table: `int_billing` reads the
    payments of the families and dates a change reached through `int_payments`' (guarantor_id,
    date_pay), `production_income_daily` the rows of the (day, provider, clinic) groups it
    recomputes. Named after its columns (a table may have several)."""
    names = ",".join(_names(columns))
    # five characters, as short as `key`/`run` allow: `<table>_schema_tmp_<suffix>` must fit in 63
    suffix = "b" + hashlib.md5(names.encode()).hexdigest()[:4]
    return _index(evaluator, columns, unique=False, engines=("postgres",), suffix=suffix)


def _enforced(evaluator: t.Any, table: exp.Table, names: list[str]) -> tuple[bool, set[str]]:
    """(a unique index on `table` covers `names`, the columns among them declared NOT NULL)."""
    if _engine(evaluator) == "postgres":
        name = table.sql(dialect="postgres").replace("'", "''")
        rows = evaluator.engine_adapter.fetchall(
            "SELECT i.indexrelid, a.attname, a.attnotnull, i.indisunique AND i.indisvalid"
            " AND i.indpred IS NULL AND i.indexprs IS NULL"
            " FROM pg_index AS i JOIN pg_attribute AS a"
            " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
            f" WHERE i.indrelid = to_regclass('{name}')"
        )
    else:
        rows = _duckdb_index_columns(evaluator, table)
    indexes: dict[t.Any, set[str]] = {}
    not_null: set[str] = set()
    for index_id, column, is_not_null, usable in rows:
        if is_not_null:
            not_null.add(column)
        if usable:
            indexes.setdefault(index_id, set()).add(column)
    unique = any(cols <= set(names) for cols in indexes.values())
    return unique, not_null & set(names)


def _duckdb_index_columns(evaluator: t.Any, table: exp.Table) -> list[tuple[t.Any, str, bool, bool]]:
    """(index, column, column declared NOT NULL, unique index on plain columns) rows, as PostgreSQL's
    catalogue query gives them. DuckDB lists an index's columns as one text, e.g. '[a, "b c"]';
    a primary key shows up as a NOT NULL column plus a unique constraint."""
    where = (
        f"database_name = '{table.catalog}' AND schema_name = '{table.db}' AND table_name = '{table.name}'"
        if table.catalog
        else f"schema_name = '{table.db}' AND table_name = '{table.name}'"
    )
    # pragma_table_info reads one table's entry (duckdb_columns() lists every column of every table)
    quoted = table.sql(dialect="duckdb").replace("'", "''")
    columns = {
        name: bool(not_null)
        for name, not_null in evaluator.engine_adapter.fetchall(
            f"SELECT name, \"notnull\" FROM pragma_table_info('{quoted}')"
        )
    }
    rows: list[tuple[t.Any, str, bool, bool]] = []
    for index_name, is_unique, expressions in evaluator.engine_adapter.fetchall(
        f"SELECT index_name, is_unique, expressions FROM duckdb_indexes() WHERE {where}"
    ):
        listed = [e.strip().strip('"') for e in str(expressions).strip("[]").split(",")]
        plain = all(e in columns for e in listed)
        rows += [(index_name, e, columns.get(e, False), bool(is_unique) and plain) for e in listed]
    for constraint_index, column in evaluator.engine_adapter.fetchall(
        "SELECT constraint_index, UNNEST(constraint_column_names) FROM duckdb_constraints()"
        f" WHERE {where} AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')"
    ):
        rows.append((f"constraint {constraint_index}", column, columns.get(column, False), True))
    return rows


def _view_query(evaluator: t.Any, table: exp.Table) -> exp.Expression | None:
    """The query of `table` when it is a view, else None."""
    if _engine(evaluator) == "postgres":
        name = table.sql(dialect="postgres").replace("'", "''")
        row = evaluator.engine_adapter.fetchone(
            f"SELECT pg_get_viewdef(c.oid) FROM pg_class AS c WHERE c.oid = to_regclass('{name}') AND c.relkind = 'v'"
        )
        return exp.maybe_parse(row[0], dialect="postgres") if row and row[0] else None
    catalog = f"database_name = '{table.catalog}' AND " if table.catalog else ""
    row = evaluator.engine_adapter.fetchone(
        f"SELECT sql FROM duckdb_views() WHERE {catalog}schema_name = '{table.db}' AND view_name = '{table.name}'"
    )
    if not row or not row[0]:
        return None
    create = exp.maybe_parse(row[0], dialect="duckdb")
    return create.expression if isinstance(create, exp.Create) else None


def _projected_from(
    evaluator: t.Any, table: exp.Table, names: list[str], depth: int = 3
) -> tuple[exp.Table, list[str]] | None:
    """When `table` is a view that only renames and computes columns of one table (no filter, join,
    grouping or union) and every key column is a plain column of it, that table and the key's
    column names there (following views of views): the view's rows are that table's rows, so the
    key is unique in the view exactly when it is unique there."""
    query = _view_query(evaluator, table) if depth else None
    if not isinstance(query, exp.Select):
        return None
    clauses = ("joins", "where", "group", "having", "distinct", "limit", "qualify", "with_", "with")
    if any(query.args.get(clause) for clause in clauses):
        return None
    source = query.find(exp.From)
    source = source.this if source is not None and source.parent is query else None
    if not isinstance(source, exp.Table):
        return None
    projected = {p.alias_or_name: p.unalias() for p in query.expressions}
    columns = [projected.get(n) for n in names]
    if not all(isinstance(c, exp.Column) for c in columns):
        return None
    underlying = exp.table_(source.name, db=source.db or table.db, catalog=source.catalog or table.catalog)
    mapped = [c.name for c in columns]  # type: ignore[union-attr]
    return _projected_from(evaluator, underlying, mapped, depth - 1) or (underlying, mapped)


@macro()
def key_violations(
    evaluator: t.Any, columns: exp.Expression, not_null: exp.Expression | None = None
) -> exp.Subquery:
    """Rows breaking the key: a NULL in a key column (or in a `not_null` column), or a key held by
    more than one row. What the table's index and constraints already guarantee is not scanned
    for."""
    names = _names([columns])
    extra = [n for n in (_names([not_null]) if not_null is not None else []) if n not in names]
    unique, declared = False, set[str]()
    if evaluator.runtime_stage == "auditing" and _engine(evaluator):
        unique, declared = _enforced(evaluator, _table(evaluator), names + extra)
        if not unique and (found := _projected_from(evaluator, _table(evaluator), names)):
            # a view projecting one table: its key is that table's key (NULLs are still looked for)
            unique = _enforced(evaluator, found[0], found[1])[0]

    def q(name: str) -> str:
        return exp.to_identifier(name).sql(dialect=evaluator.dialect)

    keys = ", ".join(q(n) for n in names)
    this = evaluator.this_model
    if unique:
        # the index holds every key once: a NULL is the only way left to break the key
        nulls = [f"{q(n)} IS NULL" for n in names + extra if n not in declared] or ["FALSE"]
        sql = f"SELECT {keys} FROM {this} WHERE {' OR '.join(nulls)}"
    else:
        broken = [
            "COUNT(*) > 1",
            *(f"{q(n)} IS NULL" for n in names),
            *(f"COUNT({q(n)}) < COUNT(*)" for n in extra),
        ]
        sql = f"SELECT {keys}, COUNT(*) AS row_count FROM {this} GROUP BY {keys} HAVING {' OR '.join(broken)}"
    return t.cast(exp.Query, exp.maybe_parse(sql, dialect=evaluator.dialect)).subquery()
