"""The loader's documented behaviours, each on data whose answer we know, on both warehouses."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dental_etl.settings import DuckDBWarehouse, MySQLSource, PostgresWarehouse
from dental_etl.sync.results import Mode, RunResult, Status, TableResult
from dental_etl.sync.runner import run_sync
from tests.integration.sync.helpers import (
    edit_table_config,
    make_settings,
    mysql_execute,
    source_rows,
    warehouse_query,
    warehouse_rows,
)

Warehouse = DuckDBWarehouse | PostgresWarehouse

STAMPED = """CREATE TABLE {name} (
  Num bigint NOT NULL AUTO_INCREMENT, Amount double NOT NULL, ProcDate date NOT NULL,
  DateTStamp timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
  PRIMARY KEY (Num)) ENGINE=InnoDB"""
COLS = ["Num", "Amount", "ProcDate", "DateTStamp"]


def _by(run: RunResult, table: str) -> TableResult:
    return next(t for t in run.tables if t.table == table)


def test_unchanged_tables_are_skipped_until_written(
    source: MySQLSource, warehouse: Warehouse, tmp_path: Path
) -> None:
    mysql_execute(
        source, STAMPED.format(name="calm"), "INSERT INTO calm (Amount, ProcDate) VALUES (1, '2024-01-01')"
    )
    time.sleep(3)  # UPDATE_TIME (whole seconds) must fall clearly before the first read
    settings = make_settings(tmp_path, source, warehouse, lag_seconds=0)
    assert _by(run_sync(settings), "calm").mode is Mode.FULL
    assert _by(run_sync(settings), "calm").mode is Mode.UNCHANGED
    mysql_execute(source, "INSERT INTO calm (Amount, ProcDate) VALUES (2, '2024-01-02')")
    result = _by(run_sync(settings), "calm")
    assert (result.mode, result.inserted) == (Mode.INCREMENTAL, 1)
    assert warehouse_rows(settings, "calm", COLS, "Num") == source_rows(source, "calm", COLS, "Num")


def test_lookback_rereads_recent_business_dates_whose_stamp_did_not_move(
    source: MySQLSource, warehouse: Warehouse, tmp_path: Path
) -> None:
    mysql_execute(
        source,
        STAMPED.format(name="procedurelog"),
        "INSERT INTO procedurelog (Num, Amount, ProcDate, DateTStamp) VALUES"
        " (1, 10, CURDATE(), '2020-01-01'), (2, 20, '2019-01-01', '2020-01-01'),"
        " (3, 30, CURDATE(), '2021-01-01')",
    )
    daily = make_settings(
        tmp_path, source, warehouse, lag_seconds=0, lookback_days=7, lookback_every_hours=24
    )
    run_sync(daily)
    # an edit that leaves the stamp alone (OpenDental does this in places)
    mysql_execute(
        source, "UPDATE procedurelog SET Amount = Amount + 1, DateTStamp = DateTStamp WHERE Num IN (1, 2)"
    )
    amounts = "SELECT num, amount FROM raw.procedurelog"
    # the full load just covered the window: the next lookback is due in 24 hours
    assert _by(run_sync(daily), "procedurelog").mode is Mode.INCREMENTAL
    assert dict(warehouse_query(daily, amounts)) == {1: 10.0, 2: 20.0, 3: 30.0}
    every_sync = make_settings(
        tmp_path, source, warehouse, lag_seconds=0, lookback_days=7, lookback_every_hours=0
    )
    assert _by(run_sync(every_sync), "procedurelog").mode is Mode.INCREMENTAL
    # row 1 is in the lookback window; row 2's business date is older: not seen until --full
    assert dict(warehouse_query(every_sync, amounts)) == {1: 11.0, 2: 20.0, 3: 30.0}
    run_sync(every_sync, ["procedurelog"], full=True)
    assert dict(warehouse_query(every_sync, amounts))[2] == 21.0


def test_a_reread_row_that_did_not_change_is_left_as_it_was(
    source: MySQLSource, warehouse: Warehouse, tmp_path: Path
) -> None:
    """Lookback windows and whole reloads of small tables re-read rows that did not change; they
    keep their `_sync_run_id` (the models then see only real changes) and count as no update."""
    mysql_execute(
        source,
        STAMPED.format(name="procedurelog"),
        "INSERT INTO procedurelog (Num, Amount, ProcDate, DateTStamp) VALUES"
        " (1, 10, CURDATE(), '2020-01-01'), (2, 20, CURDATE(), '2020-01-01')",
        "CREATE TABLE definition (DefNum bigint PRIMARY KEY, ItemName varchar(50) NOT NULL)",
        "INSERT INTO definition VALUES (1, 'Cash'), (2, 'Check')",
    )
    settings = make_settings(tmp_path, source, warehouse, lag_seconds=0, lookback_every_hours=0)
    first = run_sync(settings)
    mysql_execute(
        source,
        "UPDATE procedurelog SET Amount = 11, DateTStamp = DateTStamp WHERE Num = 1",
        "UPDATE definition SET ItemName = 'Card' WHERE DefNum = 2",
    )
    time.sleep(2.5)  # the definition write must fall after the first read (UPDATE_TIME is in seconds)
    second = run_sync(settings)
    procedures, definitions = _by(second, "procedurelog"), _by(second, "definition")
    assert (procedures.mode, procedures.rows_read, procedures.updated, procedures.inserted) == (
        Mode.INCREMENTAL,
        2,
        1,
        0,
    )
    assert definitions.mode is Mode.FULL
    runs = "SELECT {key}, _sync_run_id FROM raw.{table} ORDER BY 1"
    assert warehouse_query(settings, runs.format(key="num", table="procedurelog")) == [
        (1, second.run_id),
        (2, first.run_id),
    ]
    assert warehouse_query(settings, runs.format(key="defnum", table="definition")) == [
        (1, first.run_id),
        (2, second.run_id),
    ]
    assert warehouse_rows(settings, "procedurelog", COLS, "Num") == source_rows(
        source, "procedurelog", COLS, "Num"
    )


def test_delete_guard_refuses_mass_deletes_without_force(
    source: MySQLSource, warehouse: Warehouse, tmp_path: Path
) -> None:
    mysql_execute(
        source,
        STAMPED.format(name="payment"),
        STAMPED.format(name="other"),
        "INSERT INTO payment (Amount, ProcDate) SELECT seq, '2024-01-01' FROM seq_1_to_1000",
        "INSERT INTO other (Amount, ProcDate) VALUES (1, '2024-01-01')",
    )
    settings = make_settings(tmp_path, source, warehouse, delete_guard_share=0.2, delete_guard_min_rows=100)
    run_sync(settings)
    mysql_execute(
        source,
        "DELETE FROM payment WHERE Num > 400",
        "INSERT INTO other (Amount, ProcDate) VALUES (2, '2024-01-01')",
    )
    run = run_sync(settings)
    refused = _by(run, "payment")
    assert refused.status is Status.FAILED
    assert "would delete 600 of 1000" in (refused.error or "") and "--force" in (refused.error or "")
    assert _by(run, "other").status is Status.OK  # the rest goes on
    assert warehouse_query(settings, "SELECT count(*) FROM raw.payment") == [(1000,)]
    forced = _by(run_sync(settings, force=True), "payment")
    assert (forced.status, forced.deleted) == (Status.OK, 600)
    assert warehouse_rows(settings, "payment", COLS, "Num") == source_rows(source, "payment", COLS, "Num")


def test_new_source_columns_are_added_and_type_changes_fail_clearly(
    source: MySQLSource, warehouse: Warehouse, tmp_path: Path
) -> None:
    mysql_execute(
        source,
        STAMPED.format(name="claim"),
        STAMPED.format(name="fee"),
        "INSERT INTO claim (Amount, ProcDate) VALUES (1, '2024-01-01'), (2, '2024-01-02')",
        "INSERT INTO fee (Amount, ProcDate) VALUES (5, '2024-01-01')",
    )
    settings = make_settings(tmp_path, source, warehouse)
    run_sync(settings)
    mysql_execute(
        source,
        "ALTER TABLE claim ADD COLUMN ClaimNote varchar(50) NOT NULL DEFAULT 'n/a' AFTER Amount",
        "ALTER TABLE fee MODIFY Amount varchar(20) NOT NULL",
    )
    run = run_sync(settings)
    claim, fee = _by(run, "claim"), _by(run, "fee")
    assert claim.status is Status.OK and any("added columns claimnote" in n for n in claim.notes)
    cols = ["Num", "Amount", "ClaimNote", "ProcDate", "DateTStamp"]
    assert warehouse_rows(settings, "claim", cols, "Num") == source_rows(source, "claim", cols, "Num")
    assert fee.status is Status.FAILED
    assert "fee.amount" in (fee.error or "") and "--full" in (fee.error or "")
    assert _by(run_sync(settings, ["fee"], full=True), "fee").status is Status.OK


def test_tables_without_primary_key_are_reloaded_whole(
    source: MySQLSource, warehouse: Warehouse, tmp_path: Path
) -> None:
    mysql_execute(
        source,
        "CREATE TABLE loose (Code varchar(10) NOT NULL, Qty int NOT NULL)",
        "INSERT INTO loose VALUES ('a', 1), ('b', 2), ('b', 2)",
    )
    settings = make_settings(tmp_path, source, warehouse)
    run_sync(settings)
    mysql_execute(source, "DELETE FROM loose WHERE Code = 'a'", "INSERT INTO loose VALUES ('c', 3)")
    time.sleep(0)  # UPDATE_TIME moved in this second: never treated as unchanged
    result = _by(run_sync(settings), "loose")
    assert (result.status, result.mode) == (Status.OK, Mode.FULL)
    got = sorted(warehouse_query(settings, "SELECT code, qty FROM raw.loose"))
    assert got == [("b", 2), ("b", 2), ("c", 3)]


def test_composite_keys_are_upserted_and_deleted_by_the_whole_key(
    source: MySQLSource, warehouse: Warehouse, tmp_path: Path
) -> None:
    mysql_execute(
        source,
        "CREATE TABLE pair (A bigint NOT NULL, B varchar(5) NOT NULL, V int NOT NULL,"
        " DateTStamp timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),"
        " PRIMARY KEY (A, B))",
        "INSERT INTO pair (A, B, V) VALUES (1, 'x', 1), (1, 'y', 2), (2, 'x', 3)",
    )
    settings = make_settings(tmp_path, source, warehouse, lag_seconds=0)
    run_sync(settings)
    mysql_execute(
        source,
        "UPDATE pair SET V = 20 WHERE A = 1 AND B = 'y'",
        "DELETE FROM pair WHERE A = 2",
        "INSERT INTO pair (A, B, V) VALUES (2, 'y', 4)",
    )
    result = _by(run_sync(settings), "pair")
    assert (result.mode, result.inserted, result.deleted) == (Mode.INCREMENTAL, 1, 1)
    assert sorted(warehouse_query(settings, "SELECT a, b, v FROM raw.pair")) == [
        (1, "x", 1),
        (1, "y", 20),
        (2, "y", 4),
    ]


def test_append_strategy_sees_new_and_vanished_rows_but_not_edits(
    source: MySQLSource, warehouse: Warehouse, tmp_path: Path
) -> None:
    mysql_execute(
        source,
        "CREATE TABLE securitylog (SecurityLogNum bigint NOT NULL AUTO_INCREMENT, Perm int NOT NULL,"
        " PRIMARY KEY (SecurityLogNum)) ENGINE=MyISAM",
        "INSERT INTO securitylog (Perm) SELECT seq FROM seq_1_to_50",
    )
    settings = make_settings(tmp_path, source, warehouse, full_reload_max_rows=10)
    first = _by(run_sync(settings), "securitylog")
    assert first.mode is Mode.FULL
    mysql_execute(
        source,
        "INSERT INTO securitylog (Perm) VALUES (100), (101)",
        "DELETE FROM securitylog WHERE SecurityLogNum = 7",
        "UPDATE securitylog SET Perm = -1 WHERE SecurityLogNum = 3",
    )
    result = _by(run_sync(settings), "securitylog")
    assert (result.mode, result.inserted, result.deleted) == (Mode.APPEND, 2, 1)
    perms = dict(warehouse_query(settings, "SELECT securitylognum, perm FROM raw.securitylog"))
    assert len(perms) == 51 and 7 not in perms and perms[52] == 101
    assert perms[3] == 3  # an edit to an old row: documented, caught by --full
    run_sync(settings, ["securitylog"], full=True)
    assert dict(warehouse_query(settings, "SELECT securitylognum, perm FROM raw.securitylog"))[3] == -1


def test_sparse_keys_small_chunks_and_partitions_copy_every_row(
    source: MySQLSource, warehouse: Warehouse, tmp_path: Path
) -> None:
    mysql_execute(
        source,
        STAMPED.format(name="sparse"),
        "INSERT INTO sparse (Num, Amount, ProcDate)"
        " SELECT seq * seq * 1000003, seq, '2024-01-01' FROM seq_1_to_997",
        "INSERT INTO sparse (Num, Amount, ProcDate)"
        " VALUES (9000000000000000000, -1, '2024-01-01'), (-5, -2, '2024-01-01')",
    )
    settings = make_settings(tmp_path, source, warehouse)
    edit_table_config(settings, "sparse", chunk_rows=100)
    result = _by(run_sync(settings), "sparse")
    assert result.rows_read == 999
    assert warehouse_rows(settings, "sparse", COLS, "Num") == source_rows(source, "sparse", COLS, "Num")
    edit_table_config(settings, "sparse", chunk_rows=64, partitions=3)
    result = _by(run_sync(settings, ["sparse"], full=True), "sparse")
    assert result.rows_read == 999
    assert warehouse_rows(settings, "sparse", COLS, "Num") == source_rows(source, "sparse", COLS, "Num")


def test_full_reload_keeps_views_on_raw_tables_working(
    source: MySQLSource, warehouse: Warehouse, tmp_path: Path
) -> None:
    mysql_execute(
        source,
        STAMPED.format(name="viewed"),
        "INSERT INTO viewed (Amount, ProcDate) VALUES (1, '2024-01-01')",
    )
    settings = make_settings(tmp_path, source, warehouse)
    run_sync(settings)
    from dental_etl.sync.written import open_writer

    with open_writer(settings.warehouse, settings.sync) as writer:
        session = writer.session()
        session.execute("CREATE SCHEMA IF NOT EXISTS stg")
        session.execute("CREATE VIEW stg.viewed AS SELECT num, amount FROM raw.viewed")
        session.close()
    mysql_execute(source, "INSERT INTO viewed (Amount, ProcDate) VALUES (2, '2024-01-02')")
    result = _by(run_sync(settings, full=True), "viewed")
    assert result.status is Status.OK, result.error
    assert sorted(warehouse_query(settings, "SELECT num, amount FROM stg.viewed")) == [(1, 1.0), (2, 2.0)]


def test_a_row_that_cannot_be_converted_fails_its_table_only(
    source: MySQLSource, warehouse: Warehouse, tmp_path: Path
) -> None:
    mysql_execute(
        source,
        "CREATE TABLE odd (OddNum bigint PRIMARY KEY, Val decimal(65,30) NOT NULL)",
        "INSERT INTO odd VALUES (1, 1.5), (42, 123456789012345678901234567890.5)",
        STAMPED.format(name="fine"),
        "INSERT INTO fine (Amount, ProcDate) VALUES (1, '2024-01-01')",
    )
    run = run_sync(make_settings(tmp_path, source, warehouse))
    odd = _by(run, "odd")
    assert odd.status is Status.FAILED
    assert "odd.val" in (odd.error or "") and "OddNum=42" in (odd.error or "")
    assert "1234567890" not in (odd.error or "")  # values never appear in messages
    assert _by(run, "fine").status is Status.OK


def test_a_table_gone_from_the_source_is_named_and_skipped(
    source: MySQLSource, warehouse: Warehouse, tmp_path: Path
) -> None:
    mysql_execute(source, STAMPED.format(name="stays"), STAMPED.format(name="goes"))
    settings = make_settings(tmp_path, source, warehouse)
    edit_table_config(settings, "goes", deletes=True)
    mysql_execute(source, "DROP TABLE goes")
    run = run_sync(settings)
    goes = _by(run, "goes")
    assert goes.status is Status.SKIPPED and "vanished from the source" in (goes.error or "")
    assert _by(run, "stays").status is Status.OK
    assert not run.failed


@pytest.mark.parametrize("bad", ["primary_key", "change_column"])
def test_a_wrong_table_config_entry_fails_that_table_with_its_name(
    bad: str, source: MySQLSource, warehouse: Warehouse, tmp_path: Path
) -> None:
    mysql_execute(source, STAMPED.format(name="edited"), STAMPED.format(name="intact"))
    settings = make_settings(tmp_path, source, warehouse)
    edit_table_config(settings, "edited", **{bad: "NoSuchColumn"})
    run = run_sync(settings)
    edited = _by(run, "edited")
    assert edited.status is Status.FAILED and "NoSuchColumn" in (edited.error or "")
    assert _by(run, "intact").status is Status.OK


def test_postgres_raw_tables_index_their_run_ids_through_reloads_and_older_warehouses(
    source: MySQLSource, pg_database: object, tmp_path: Path
) -> None:
    """The staging models find a run's rows by a BRIN index on `_sync_run_id` (PostgreSQL): made
    by a full load, kept under the table's name through a reload, and added to a table an older
    loader wrote when an incremental sync first writes to it."""
    mysql_execute(
        source,
        STAMPED.format(name="indexed"),
        "INSERT INTO indexed (Amount, ProcDate) VALUES (1, '2024-01-01')",
    )
    settings = make_settings(tmp_path, source, pg_database(), lag_seconds=0)  # type: ignore[operator]
    indexes = (
        "SELECT indexname, indexdef LIKE '%USING brin (_sync_run_id)%' FROM pg_indexes"
        " WHERE schemaname = 'raw' AND tablename = 'indexed' ORDER BY 1"
    )
    run_sync(settings)
    assert warehouse_query(settings, indexes) == [("indexed_pkey", False), ("indexed_run", True)]
    assert _by(run_sync(settings, full=True), "indexed").status is Status.OK
    assert warehouse_query(settings, indexes) == [("indexed_pkey", False), ("indexed_run", True)]

    from dental_etl.sync.written import open_writer

    with open_writer(settings.warehouse, settings.sync) as writer:
        session = writer.session()
        session.execute("DROP INDEX raw.indexed_run")  # as an older loader left it
        session.close()
    time.sleep(1)
    mysql_execute(source, "INSERT INTO indexed (Amount, ProcDate) VALUES (2, '2024-01-02')")
    result = _by(run_sync(settings), "indexed")
    assert (result.mode, result.inserted) == (Mode.INCREMENTAL, 1)
    assert warehouse_query(settings, indexes) == [("indexed_pkey", False), ("indexed_run", True)]
