"""The loader's pure parts: SELECT items, plans, chunk sizes, error classification, retries."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pymysql
import pytest

from dental_etl.errors import TableError
from dental_etl.settings import MySQLSource, SyncSettings
from dental_etl.sync import runner
from dental_etl.sync.discovered import change_column, default_plan
from dental_etl.sync.extracted import Extractor, literal, select_expression
from dental_etl.sync.plan import SizeClass, SourceColumn, SourceTable, Strategy, chunk_rows_for, size_class
from dental_etl.sync.results import Status, TableResult
from dental_etl.sync.table_sync import RunContext
from dental_etl.sync.transient import describe, is_transient


def _col(name: str, column_type: str, *, on_update: bool = False) -> SourceColumn:
    return SourceColumn(
        name=name,
        column_type=column_type,
        data_type=column_type.split("(")[0].split()[0],
        on_update=on_update,
    )


def _table(name: str, columns: list[SourceColumn], key: tuple[str, ...], rows: int = 10) -> SourceTable:
    return SourceTable(
        name=name,
        engine="InnoDB",
        rows_estimate=rows,
        data_bytes=rows * 100,
        update_time=None,
        columns=tuple(columns),
        primary_key=key,
    )


@pytest.mark.parametrize(
    ("column", "expression"),
    [
        (
            _col("ProcDate", "date"),
            "IF(TO_DAYS(`ProcDate`) > 365, `ProcDate`, NULL) AS `procdate`",
        ),
        (
            _col("StartTime", "time"),
            "CAST(ROUND(TIME_TO_SEC(`StartTime`) * 1000000) AS SIGNED) AS `starttime`",
        ),
        (_col("Fee", "decimal(10,2)"), "CAST(`Fee` AS CHAR) AS `fee`"),
        (_col("Kind", "enum('a','b')"), "CAST(`Kind` AS CHAR) AS `kind`"),
        (_col("Flags", "bit(8)"), "CAST(`Flags` AS UNSIGNED) AS `flags`"),
        (_col("ProcStatus", "tinyint(3) unsigned"), "`ProcStatus` AS `procstatus`"),
    ],
)
def test_select_items_neutralise_what_connectorx_cannot_read(column: SourceColumn, expression: str) -> None:
    assert select_expression(column) == expression


def test_literals_are_quoted_for_mysql() -> None:
    assert literal(42) == "42"
    assert literal(datetime(2024, 1, 2, 3, 4, 5)) == "'2024-01-02 03:04:05'"
    assert literal("it's") == "'it''s'"


def test_select_names_every_column_in_order() -> None:
    table = _table("t", [_col("A", "bigint(20)"), _col("B", "varchar(5)")], ("A",))
    sql = Extractor(MySQLSource()).select(table, "`A` > 3")
    assert sql == "SELECT `A` AS `a`, `B` AS `b` FROM `t` WHERE `A` > 3"


def test_change_column_prefers_opendental_stamps_maintained_by_mysql() -> None:
    both = _table(
        "t",
        [_col("Other", "timestamp", on_update=True), _col("DateTStamp", "timestamp", on_update=True)],
        ("Id",),
    )
    assert change_column(both) == "DateTStamp"
    app_kept = _table("t", [_col("SecDateTEdit", "datetime")], ("Id",))
    assert change_column(app_kept) == "SecDateTEdit"
    insert_only = _table("t", [_col("SecDateEntry", "date"), _col("DateTEntry", "datetime")], ("Id",))
    assert change_column(insert_only) is None


def test_default_plans_by_key_stamp_and_size() -> None:
    settings = SyncSettings(full_reload_max_rows=1_000)
    stamped = _table(
        "procedurelog",
        [
            _col("ProcNum", "bigint(20)"),
            _col("ProcDate", "date"),
            _col("DateTStamp", "timestamp", on_update=True),
        ],
        ("ProcNum",),
    )
    plan = default_plan(stamped, settings)
    assert (plan.strategy, plan.change_column, plan.lookback_column, plan.deletes) == (
        Strategy.INCREMENTAL,
        "DateTStamp",
        "ProcDate",
        False,
    )
    big_log = _table("securitylog", [_col("SecurityLogNum", "bigint(20)")], ("SecurityLogNum",), rows=5_000)
    assert default_plan(big_log, settings).strategy is Strategy.APPEND
    small = _table("definition", [_col("DefNum", "bigint(20)")], ("DefNum",), rows=50)
    assert default_plan(small, settings).strategy is Strategy.FULL
    keyless_big = _table("loose", [_col("Code", "varchar(5)")], (), rows=5_000)
    assert (default_plan(keyless_big, settings).strategy, default_plan(keyless_big, settings).key) == (
        Strategy.FULL,
        (),
    )
    text_key = _table("named", [_col("Code", "varchar(5)")], ("Code",), rows=5_000)
    assert default_plan(text_key, settings).strategy is Strategy.FULL


def test_sizes_and_chunks() -> None:
    assert size_class(50_000, 1 << 20) is SizeClass.SMALL
    assert size_class(500_000, 1 << 20) is SizeClass.MEDIUM
    assert size_class(3_000_000, 1 << 20) is SizeClass.LARGE
    assert chunk_rows_for(100, 48 << 20) == 503_316
    assert chunk_rows_for(10 << 20, 48 << 20) == 100  # 10 MB rows (documents): at least 100
    assert chunk_rows_for(1, 48 << 20) == 1_000_000


def test_transient_errors_are_connection_trouble_only() -> None:
    assert is_transient(pymysql.err.OperationalError(2013, "Lost connection to MySQL server during query"))
    assert is_transient(RuntimeError("Connection refused (os error 111)"))
    assert not is_transient(pymysql.err.OperationalError(1054, "Unknown column"))
    assert not is_transient(ValueError("Lost connection"))


def test_descriptions_keep_only_the_first_line() -> None:
    error = RuntimeError(
        'null value violates not-null constraint\nDETAIL: Failing row contains (1, "Smith", ...)'
    )
    assert describe(error) == "RuntimeError: null value violates not-null constraint"


def test_a_transient_failure_retries_the_table_then_succeeds(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    class Flaky:
        def __init__(self, *args: object) -> None:
            pass

        def run(self) -> TableResult:
            calls.append(1)
            if len(calls) < 3:
                raise pymysql.err.OperationalError(2013, "Lost connection")
            return TableResult(table="t", status=Status.OK)

    class Workers:
        discarded = 0

        def get(self) -> tuple[object, object]:
            return object(), object()

        def discard(self) -> None:
            Workers.discarded += 1

    monkeypatch.setattr(runner, "TableSync", Flaky)
    ctx = RunContext(
        run_id=1,
        loaded_at=datetime.now(UTC),
        source_now=datetime.now(),
        extractor=Extractor(MySQLSource()),
        settings=SyncSettings(retries=3, retry_backoff_seconds=0),
    )
    table = _table("t", [_col("Id", "bigint(20)")], ("Id",))
    result = runner._sync_one(
        ctx, table, default_plan(table, ctx.settings), None, None, Workers(), runner.QuietObserver()
    )  # type: ignore[arg-type]
    assert (result.status, result.attempts, Workers.discarded) == (Status.OK, 3, 2)


def test_a_table_error_is_not_retried(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    class Broken:
        def __init__(self, *args: object) -> None:
            raise TableError("t: primary_key 'X' is not a column of the source table")

    class Workers:
        def get(self) -> tuple[object, object]:
            return object(), object()

        def discard(self) -> None:
            raise AssertionError("a table error keeps the connections")

    monkeypatch.setattr(runner, "TableSync", Broken)
    ctx = RunContext(
        run_id=1,
        loaded_at=datetime.now(UTC),
        source_now=datetime.now(),
        extractor=Extractor(MySQLSource()),
        settings=SyncSettings(),
    )
    table = _table("t", [_col("Id", "bigint(20)")], ("Id",))
    result = runner._sync_one(
        ctx, table, default_plan(table, ctx.settings), None, None, Workers(), runner.QuietObserver()
    )  # type: ignore[arg-type]
    assert (result.status, result.attempts, result.error) == (
        Status.FAILED,
        1,
        "t: primary_key 'X' is not a column of the source table",
    )
