"""macros/keys.py: which views a key audit may answer from the table they project."""

from __future__ import annotations

import importlib.util
import typing as t
from pathlib import Path

import duckdb
import pytest
from sqlglot import exp
from sqlmesh import macro

_spec = importlib.util.spec_from_file_location("dental_keys", Path(__file__).parents[2] / "macros" / "keys.py")
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
    conn.execute("CREATE VIEW s.projection AS SELECT kind AS entry_type, k AS source_id, amount * 2 AS twice FROM s.t")
    conn.execute("CREATE VIEW s.of_view AS SELECT entry_type, source_id FROM s.projection")
    conn.execute("CREATE VIEW s.filtered AS SELECT kind, k FROM s.t WHERE amount > 0")
    conn.execute("CREATE VIEW s.joined AS SELECT t.kind, t.k FROM s.t JOIN s.other AS o ON o.k = t.k")
    conn.execute("CREATE VIEW s.unioned AS SELECT kind, k FROM s.t UNION ALL SELECT kind, k FROM s.t")
    conn.execute("CREATE VIEW s.computed AS SELECT kind, k + 1 AS k FROM s.t")
    return _Evaluator(conn)


def _table(name: str) -> exp.Table:
    return exp.to_table(f"memory.s.{name}")


def test_a_projection_of_one_table_has_that_tables_key(evaluator: _Evaluator) -> None:
    for view in ("projection", "of_view"):
        found = keys._projected_from(evaluator, _table(view), ["entry_type", "source_id"])
        assert found is not None, view
        table, columns = found
        assert (table.name, columns) == ("t", ["kind", "k"])
        assert keys._enforced(evaluator, table, columns)[0]


@pytest.mark.parametrize("view", ["filtered", "joined", "unioned", "computed"])
def test_views_that_filter_join_union_or_compute_the_key_are_scanned(evaluator: _Evaluator, view: str) -> None:
    assert keys._projected_from(evaluator, _table(view), ["kind", "k"]) is None


def test_a_table_is_not_a_view_and_an_unindexed_table_is_not_enforced(evaluator: _Evaluator) -> None:
    assert keys._projected_from(evaluator, _table("t"), ["kind", "k"]) is None
    assert not keys._enforced(evaluator, _table("other"), ["k"])[0]
    assert not keys._enforced(evaluator, _table("t"), ["k"])[0]  # the index is on (kind, k)


def test_distinct_cte_and_limit_views_are_scanned(evaluator: _Evaluator) -> None:
    conn = evaluator.engine_adapter.conn
    conn.execute("CREATE VIEW s.distinct_rows AS SELECT DISTINCT kind, k FROM s.t")
    conn.execute("CREATE VIEW s.with_cte AS WITH x AS (SELECT * FROM s.t) SELECT kind, k FROM s.t")
    conn.execute("CREATE VIEW s.limited AS SELECT kind, k FROM s.t LIMIT 5")
    for view in ("distinct_rows", "with_cte", "limited"):
        assert keys._projected_from(evaluator, _table(view), ["kind", "k"]) is None, view


def test_key_columns_are_read_from_names_tuples_and_one_parenthesised_column() -> None:
    col = exp.column
    assert keys._names([col("a"), col("b")]) == ["a", "b"]
    assert keys._names([exp.Tuple(expressions=[col("a"), col("b")])]) == ["a", "b"]
    assert keys._names([exp.Paren(this=col("entry_id"))]) == ["entry_id"]
    with pytest.raises(ValueError, match="column names"):
        keys._names([exp.Literal.number(1)])
