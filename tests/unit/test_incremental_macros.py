"""macros/incremental.py: the branches of the rows to recompute that are written as constants
while rendering (left out of PostgreSQL's plan when they read nothing)."""

from __future__ import annotations

import importlib.util
import typing as t
from pathlib import Path

import duckdb
import pytest
from sqlglot import exp
from sqlmesh import macro

_spec = importlib.util.spec_from_file_location(
    "dental_incremental", Path(__file__).parents[2] / "macros" / "incremental.py"
)
assert _spec and _spec.loader
incremental = importlib.util.module_from_spec(_spec)
# as in test_key_macros.py: keep SQLMesh's process-wide macro registry as it was
_registered = macro.get_registry()
_spec.loader.exec_module(incremental)
macro.set_registry(_registered)


class _Adapter:
    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn

    def fetchone(self, sql: str) -> t.Any:
        return self.conn.execute(sql).fetchone()


class _Evaluator:
    """What the macros read of SQLMesh's macro evaluator, over a DuckDB connection: the model
    `m.model` (newest `_changed_run` 5) reads the lookup `m.lookup`, physically `p.lookup`."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, stage: str = "evaluating") -> None:
        self.engine_adapter = _Adapter(conn)
        self.runtime_stage = stage
        self.locals: dict[str, t.Any] = {}
        self.this_model = "m.model"

    def resolve_table(self, table: exp.Table) -> str:
        assert table.sql() == "m.lookup", table.sql()
        return "p.lookup"


@pytest.fixture
def conn() -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA m")
    conn.execute("CREATE SCHEMA p")
    conn.execute("CREATE SCHEMA _dental")
    conn.execute("CREATE TABLE m.model (k BIGINT, _changed_run BIGINT)")
    conn.execute("INSERT INTO m.model VALUES (1, 3), (2, 5)")
    conn.execute("CREATE TABLE p.lookup (k BIGINT, _sync_run_id BIGINT)")
    conn.execute("INSERT INTO p.lookup VALUES (1, 2), (2, 5)")
    conn.execute("CREATE TABLE _dental.vanished_keys (table_name TEXT, key_value BIGINT, run_id BIGINT)")
    conn.execute("INSERT INTO _dental.vanished_keys VALUES ('histappointment', 7, 4)")
    return conn


LOOKUP = exp.column("lookup", table="m")  # how `m.lookup` reaches a macro: parsed as a column
RUN = exp.column("_sync_run_id")


def test_input_changed_is_false_until_the_lookup_holds_a_row_newer_than_the_model(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    assert incremental.input_changed(_Evaluator(conn), LOOKUP, RUN) == exp.false()
    conn.execute("INSERT INTO p.lookup VALUES (3, 6)")
    assert incremental.input_changed(_Evaluator(conn), LOOKUP, RUN) == exp.true()


def test_input_changed_is_true_before_the_first_build_and_outside_an_evaluation(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    assert incremental.input_changed(_Evaluator(conn, stage="loading"), LOOKUP, RUN) == exp.true()
    conn.execute("DELETE FROM m.model")  # built, but nothing in it yet: every row is new
    assert incremental.input_changed(_Evaluator(conn), LOOKUP, RUN) == exp.true()


def test_vanished_since_last_run_asks_the_log_for_the_table_after_the_models_run(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    table = exp.Literal.string("histappointment")
    assert incremental.vanished_since_last_run(_Evaluator(conn), table) == exp.false()  # run 4 <= 5
    conn.execute("INSERT INTO _dental.vanished_keys VALUES ('appointment', 8, 6)")
    assert incremental.vanished_since_last_run(_Evaluator(conn), table) == exp.false()  # another table
    conn.execute("INSERT INTO _dental.vanished_keys VALUES ('histappointment', 9, 6)")
    assert incremental.vanished_since_last_run(_Evaluator(conn), table) == exp.true()
    assert incremental.vanished_since_last_run(_Evaluator(conn, stage="testing"), table) == exp.false()
