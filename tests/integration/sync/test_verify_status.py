"""`dental verify` finds nothing after a sync and names every difference injected afterwards;
`dental status` and the `_dental` tables report what ran."""

from __future__ import annotations

from pathlib import Path

from dental_etl.settings import DuckDBWarehouse, MySQLSource, PostgresWarehouse
from dental_etl.sync.runner import run_sync
from dental_etl.sync.status import status
from dental_etl.sync.verify import verify
from dental_etl.sync.written import open_writer
from tests.integration.sync.helpers import make_settings, mysql_execute, warehouse_query

DDL = """CREATE TABLE claimproc (
  ClaimProcNum bigint NOT NULL AUTO_INCREMENT, InsPayAmt double NOT NULL, Status tinyint unsigned NOT NULL,
  Units smallint unsigned NOT NULL, Fee decimal(10,2) NOT NULL, DateCP date NOT NULL,
  SecDateTEdit timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
  PRIMARY KEY (ClaimProcNum))"""


def test_verify_is_clean_after_sync_and_reports_each_injected_difference(
    source: MySQLSource, warehouse: DuckDBWarehouse | PostgresWarehouse, tmp_path: Path
) -> None:
    mysql_execute(
        source,
        DDL,
        "INSERT INTO claimproc (InsPayAmt, Status, Units, Fee, DateCP) "
        "SELECT seq * 0.37, seq % 10, seq % 3, seq * 1.25, '0000-00-00' FROM seq_1_to_500",
    )
    settings = make_settings(tmp_path, source, warehouse)
    run_sync(settings)
    clean = verify(settings)
    assert clean.difference_count == 0
    assert clean.tables[0].source_rows == clean.tables[0].warehouse_rows == 500

    with open_writer(settings.warehouse, settings.sync) as writer:
        session = writer.session()
        session.execute("UPDATE raw.claimproc SET inspayamt = inspayamt + 1 WHERE claimprocnum = 7")
        session.execute("DELETE FROM raw.claimproc WHERE claimprocnum = 11")
        session.close()
    mysql_execute(
        source,
        "INSERT INTO claimproc (ClaimProcNum, InsPayAmt, Status, Units, Fee, DateCP)"
        " VALUES (9001, 1, 1, 1, 1, '2024-01-01')",
    )
    report = verify(settings)
    differences = report.tables[0].differences
    assert any(d.startswith("row count: source 501, warehouse 499") for d in differences)
    assert any(d.startswith("sum(inspayamt)") for d in differences)
    assert any(d.startswith("sum(fee)") for d in differences)
    assert any("2 key(s) missing from the warehouse (e.g. (11,), (9001,))" in d for d in differences)
    assert not any("not in the source" in d for d in differences)


def test_runs_and_table_state_are_recorded_in_the_warehouse(
    source: MySQLSource, warehouse: DuckDBWarehouse | PostgresWarehouse, tmp_path: Path
) -> None:
    mysql_execute(
        source,
        DDL,
        "INSERT INTO claimproc (InsPayAmt, Status, Units, Fee, DateCP, SecDateTEdit) "
        "VALUES (1, 1, 1, 1, '2024-01-01', '2024-02-03 04:05:06'),"
        " (2, 1, 1, 1, '2024-01-01', '2024-02-03 04:05:07')",
        "CREATE TABLE broken (Id bigint PRIMARY KEY, V decimal(65,0) NOT NULL)",
        "INSERT INTO broken VALUES (1, 1e60)",
    )
    settings = make_settings(tmp_path, source, warehouse)
    run = run_sync(settings)
    assert [(t.table, t.status.value) for t in run.tables] == [("broken", "failed"), ("claimproc", "ok")]
    runs = warehouse_query(
        settings, "SELECT run_id, status, tables_ok, tables_failed, rows_inserted FROM _dental.sync_runs"
    )
    assert runs == [(run.run_id, "failed", 1, 1, 2)]
    report = status(settings)
    by_table = {t.table: t for t in report.tables}
    assert by_table["claimproc"].last_status == "ok" and by_table["claimproc"].rows == 2
    assert by_table["claimproc"].watermark.isoformat() == "2024-02-03T04:05:07"
    assert by_table["broken"].last_status == "failed" and "broken.v" in (by_table["broken"].error or "")
    assert report.runs[0].run_id == run.run_id


def test_control_tables_written_by_an_older_loader_gain_the_new_columns(
    source: MySQLSource, warehouse: DuckDBWarehouse | PostgresWarehouse, tmp_path: Path
) -> None:
    mysql_execute(
        source,
        DDL,
        "INSERT INTO claimproc (InsPayAmt, Status, Units, Fee, DateCP) VALUES (1, 1, 1, 1, '2024-01-01')",
    )
    settings = make_settings(tmp_path, source, warehouse)
    run_sync(settings)
    with open_writer(settings.warehouse, settings.sync) as writer:
        session = writer.session()
        session.execute('ALTER TABLE "_dental"."sync_state" DROP COLUMN lookback_at')
        session.close()
    again = run_sync(settings, full=True)
    assert not again.failed
    assert warehouse_query(settings, "SELECT count(lookback_at) FROM _dental.sync_state") == [(1,)]
