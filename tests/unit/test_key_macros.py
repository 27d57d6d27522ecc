"""macros/keys.py: which views a key audit may answer from the unique indexes of the tables they read."""

from __future__ import annotations

import importlib.util
import typing as t
from pathlib import Path

import duckdb
import pytest
from sqlglot import exp
from sqlmesh import macro

_spec = importlib.util.spec_from_file_location(
    "dental_keys", Path(__file__).parents[2] / "macros" / "keys.py"
)
assert _spec and _spec.loader
keys = importlib.util.module_from_spec(_spec)
# loading the file registers its macros in SQLMesh's process-wide registry, under a module SQLMesh
# cannot find again when it loads the project later in this process: put the registry back
_registered = macro.get_registry()
_spec.loader.exec_module(keys)
macro.set_registry(_registered)


class _Adapter:
    """The two calls the macros make on SQLMesh's engine adapter, on a DuckDB connection."""

    dialect = "duckdb"

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn

    def fetchone(self, sql: str) -> t.Any:
        return self.conn.execute(sql).fetchone()

    def fetchall(self, sql: str) -> list[t.Any]:
        return self.conn.execute(sql).fetchall()


class _Evaluator:
    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.engine_adapter = _Adapter(conn)


@pytest.fixture
def evaluator() -> _Evaluator:
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA s")
    conn.execute("CREATE TABLE s.t (k BIGINT, kind TEXT, amount DOUBLE)")
    conn.execute("CREATE UNIQUE INDEX t_key ON s.t (kind, k)")
    conn.execute("CREATE TABLE s.other (k BIGINT)")
    conn.execute("CREATE TABLE s.lookup (k BIGINT, label TEXT)")
    conn.execute("CREATE UNIQUE INDEX lookup_key ON s.lookup (k)")
    conn.execute("CREATE TABLE s.lines (line BIGINT, k BIGINT)")
    conn.execute("CREATE UNIQUE INDEX lines_key ON s.lines (line)")
    conn.execute(
        "CREATE VIEW s.projection AS SELECT kind AS entry_type, k AS source_id, amount * 2 AS twice FROM s.t"
    )
    conn.execute("CREATE VIEW s.of_view AS SELECT entry_type, source_id FROM s.projection")
    conn.execute("CREATE VIEW s.filtered AS SELECT kind, k FROM s.t WHERE amount > 0")
    conn.execute("CREATE VIEW s.joined AS SELECT t.kind, t.k FROM s.t JOIN s.other AS o ON o.k = t.k")
    conn.execute(
        "CREATE VIEW s.looked_up AS SELECT t.kind, t.k, l.label FROM s.t"
        " LEFT JOIN s.lookup AS l ON l.k = t.k AND l.label <> 'x' WHERE t.amount > 0"
    )
    conn.execute("CREATE VIEW s.unioned AS SELECT kind, k FROM s.t UNION ALL SELECT kind, k FROM s.t")
    conn.execute(
        "CREATE VIEW s.split AS SELECT 'a' AS src, kind, k FROM s.t"
        " UNION ALL SELECT 'b', 'line', lines.line FROM s.lines LEFT JOIN s.lookup AS l ON l.k = lines.k"
    )
    conn.execute(
        "CREATE VIEW s.same_constant AS SELECT 'a' AS src, k FROM s.lookup UNION ALL SELECT 'a', line FROM s.lines"
    )
    conn.execute("CREATE VIEW s.computed AS SELECT kind, k + 1 AS k FROM s.t")
    return _Evaluator(conn)


def _table(name: str) -> exp.Table:
    return exp.to_table(f"memory.s.{name}")


@pytest.mark.parametrize(
    ("view", "key"),
    [
        ("projection", ["entry_type", "source_id"]),
        ("of_view", ["entry_type", "source_id"]),  # a view of a view
        ("filtered", ["kind", "k"]),  # a WHERE only drops rows
        ("looked_up", ["kind", "k"]),  # a left join on the lookup's unique key repeats no row
        ("split", ["src", "kind", "k"]),  # a constant per branch, each branch's key unique
        ("t", ["kind", "k"]),  # the table's own index
    ],
)
def test_views_that_keep_an_indexed_tables_rows_have_its_key(
    evaluator: _Evaluator, view: str, key: list[str]
) -> None:
    assert keys._unique_by_index(evaluator, _table(view), key)


@pytest.mark.parametrize(
    ("view", "key"),
    [
        ("joined", ["kind", "k"]),  # other.k has no unique index: a key may repeat
        ("unioned", ["kind", "k"]),  # both branches may hold the same key
        ("same_constant", ["src", "k"]),  # the constant does not tell the branches apart
        ("split", ["k"]),  # without the constant, 'a' and 'b' rows may share a k
        ("computed", ["kind", "k"]),
        ("t", ["k"]),  # the index is on (kind, k)
        ("other", ["k"]),
    ],
)
def test_views_that_may_repeat_a_key_are_scanned(evaluator: _Evaluator, view: str, key: list[str]) -> None:
    assert not keys._unique_by_index(evaluator, _table(view), key)


def test_distinct_and_cte_views_are_scanned_a_limit_keeps_the_key(evaluator: _Evaluator) -> None:
    conn = evaluator.engine_adapter.conn
    conn.execute("CREATE VIEW s.distinct_rows AS SELECT DISTINCT kind, k FROM s.t")
    conn.execute("CREATE VIEW s.with_cte AS WITH x AS (SELECT * FROM s.t) SELECT kind, k FROM s.t")
    conn.execute("CREATE VIEW s.limited AS SELECT kind, k FROM s.t LIMIT 5")
    for view in ("distinct_rows", "with_cte"):
        assert not keys._unique_by_index(evaluator, _table(view), ["kind", "k"]), view
    assert keys._unique_by_index(evaluator, _table("limited"), ["kind", "k"])


def test_postgresqls_view_text_with_nested_joins_and_casts_is_understood(evaluator: _Evaluator) -> None:
    """How pg_get_viewdef writes fact_payment's insurance branch: joins nested in parentheses,
    `::text` casts, doubled parentheses around conditions."""
    text = (
        "SELECT 'insurance'::text AS payer, c.line AS source_id FROM ((s.lines c"
        " LEFT JOIN s.lookup cp ON ((c.k = cp.k)))"
        " LEFT JOIN s.lookup d ON (((cp.k = d.k) AND (d.label = 'x'::text)))) WHERE (NOT (c.line IS NULL))"
    )
    query = exp.maybe_parse(text, dialect="postgres")
    assert keys._query_unique(evaluator, query, _table("v"), ["payer", "source_id"], 2)
    unkeyed = text.replace("cp.k = d.k", "cp.k = d.label")  # d joined on a column without a unique index
    assert not keys._query_unique(
        evaluator, exp.maybe_parse(unkeyed, dialect="postgres"), _table("v"), ["payer", "source_id"], 2
    )


def test_key_columns_are_read_from_names_tuples_and_one_parenthesised_column() -> None:
    col = exp.column
    assert keys._names([col("a"), col("b")]) == ["a", "b"]
    assert keys._names([exp.Tuple(expressions=[col("a"), col("b")])]) == ["a", "b"]
    assert keys._names([exp.Paren(this=col("entry_id"))]) == ["entry_id"]
    with pytest.raises(ValueError, match="column names"):
        keys._names([exp.Literal.number(1)])
