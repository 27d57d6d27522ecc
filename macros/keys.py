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


def _unwrapped(e: exp.Expression) -> exp.Expression:
    """`e` without the parentheses and casts around it (PostgreSQL's view text writes
    `'patient'::text`, `((a = b))`)."""
    while isinstance(e, exp.Paren | exp.Cast):
        e = e.this
    return e


def _conjuncts(condition: exp.Expression) -> list[exp.Expression]:
    condition = _unwrapped(condition)
    if isinstance(condition, exp.And):
        return _conjuncts(condition.this) + _conjuncts(condition.expression)
    return [condition]


def _from_and_joins(select: exp.Select) -> tuple[exp.Expression | None, list[exp.Join]]:
    """The FROM source and every join of `select`, PostgreSQL's nested `((a JOIN b) JOIN c)` flattened."""
    source = select.args.get("from_") or select.args.get("from")
    node = source.this if isinstance(source, exp.From) else None
    joins = list(select.args.get("joins") or [])
    while (
        isinstance(node, exp.Subquery) and not node.alias and isinstance(node.this, exp.Table | exp.Subquery)
    ):
        joins = list(node.args.get("joins") or []) + joins
        node = node.this
    if isinstance(node, exp.Table):
        joins = list(node.args.get("joins") or []) + joins
    return node, joins


def _real_table(source: exp.Table, view: exp.Table) -> exp.Table:
    return exp.table_(source.name, db=source.db or view.db, catalog=source.catalog or view.catalog)


def _select_unique(
    evaluator: t.Any, select: exp.Select, keys: list[exp.Expression], view: exp.Table, depth: int
) -> bool:
    """`keys` (projections of `select`) are unique among its rows: they are plain columns of its FROM
    table where a unique index (or a view of such tables) covers them, and each join is an inner or
    left join on a unique key of the joined table, so it never repeats a row. A WHERE only drops rows."""
    clauses = ("group", "having", "distinct", "qualify", "with_", "with", "laterals", "pivots")
    if any(select.args.get(clause) for clause in clauses):
        return False
    source, joins = _from_and_joins(select)
    if not isinstance(source, exp.Table):
        return False
    base = source.alias_or_name
    for join in joins:
        joined = join.this
        if (
            not isinstance(joined, exp.Table)
            or join.side not in ("", "LEFT")
            or join.kind not in ("", "INNER", "OUTER")
            or join.args.get("using")
            or join.args.get("on") is None
        ):
            return False
        alias = joined.alias_or_name
        matched: list[str] = []  # columns of the joined table set equal to something outside it
        for condition in _conjuncts(join.args["on"]):
            if not isinstance(condition, exp.EQ):
                continue
            for side, other in (
                (condition.this, condition.expression),
                (condition.expression, condition.this),
            ):
                side, other = _unwrapped(side), _unwrapped(other)
                if (
                    isinstance(side, exp.Column)
                    and side.table == alias
                    and all(c.table != alias for c in other.find_all(exp.Column))
                ):
                    matched.append(side.name)
        if not matched or not _unique_by_index(evaluator, _real_table(joined, view), matched, depth):
            return False
    # a constant key column is the same in every row: the other key columns must be unique
    columns = [_unwrapped(k.unalias()) for k in keys if _constant(k) is None]
    # an unqualified column is the FROM table's only when nothing is joined
    if not all(isinstance(c, exp.Column) and (c.table == base or not (c.table or joins)) for c in columns):
        return False
    names = [c.name for c in columns]
    return _unique_by_index(evaluator, _real_table(source, view), names, depth)


def _branches(query: exp.Expression) -> list[exp.Expression] | None:
    """The SELECTs of a UNION ALL, in order (None for a UNION that removes duplicates)."""
    while isinstance(query, exp.Paren | exp.Subquery) and not query.alias:  # DuckDB writes `(SELECT ..)`
        query = query.this
    if isinstance(query, exp.Union):
        if query.args.get("distinct"):
            return None
        left, right = _branches(query.this), _branches(query.expression)
        return None if left is None or right is None else left + right
    return [query]


def _constant(projection: exp.Expression) -> tuple[bool, str] | None:
    value = _unwrapped(projection.unalias())
    return (value.is_string, value.name) if isinstance(value, exp.Literal) else None


def _query_unique(
    evaluator: t.Any, query: exp.Expression, view: exp.Table, names: list[str], depth: int
) -> bool:
    """The key `names` is unique among the rows of a view's `query`: a SELECT (`_select_unique`), or a
    UNION ALL where one key column holds a different constant in each branch (`'patient'` /
    `'insurance'`), which splits the rows by branch, and the other key columns are unique within
    each branch."""
    branches = _branches(query)
    if not branches or not all(isinstance(b, exp.Select) for b in branches):
        return False
    positions = {p.alias_or_name: i for i, p in enumerate(branches[0].expressions)}
    if any(n not in positions for n in names):
        return False
    at = [positions[n] for n in names]
    if any(len(b.expressions) != len(branches[0].expressions) for b in branches):
        return False
    if len(branches) == 1:
        return _select_unique(evaluator, branches[0], [branches[0].expressions[i] for i in at], view, depth)
    for split in at:
        constants = [_constant(b.expressions[split]) for b in branches]
        if None in constants or len(set(constants)) != len(constants):
            continue
        rest = [i for i in at if i != split]
        return all(
            _select_unique(evaluator, b, [b.expressions[i] for i in rest], view, depth) for b in branches
        )
    return False


def _unique_by_index(evaluator: t.Any, table: exp.Table, names: list[str], depth: int = 3) -> bool:
    """The key `names` of `table` is unique by construction: a unique index of the table covers it,
    or the table is a view (of views, `depth` deep) whose query keeps the uniqueness of such keys
    (`_query_unique`): `fact_ledger` projects `int_ledger`; `fact_payment` is a UNION ALL of the pay
    splits and the insurance lines, each joined to lookups by their unique keys."""
    if not names:
        return False
    if _enforced(evaluator, table, names)[0]:
        return True
    query = _view_query(evaluator, table) if depth else None
    return query is not None and _query_unique(evaluator, query, table, names, depth - 1)


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
        if not unique and (query := _view_query(evaluator, _table(evaluator))) is not None:
            # a view whose rows keep the keys of indexed tables (NULLs are still looked for); the
            # table's own indexes were just asked, so start from its query
            unique = _query_unique(evaluator, query, _table(evaluator), names, 2)

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
