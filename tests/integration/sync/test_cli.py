"""The `dental` commands as a user runs them, and what bad input gets: one line naming host, port
and what to check, a non-zero exit, and nothing written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from dental_etl.errors import SourceUnreachable, WarehouseUnreachable
from dental_etl.settings import DuckDBWarehouse, MySQLSource, PostgresWarehouse
from dental_etl.sync.runner import run_sync
from tests.integration.sync.helpers import (
    cli_environment,
    make_settings,
    mysql_execute,
    run_cli,
    write_project,
)

TABLES = (
    "CREATE TABLE patient (PatNum bigint NOT NULL AUTO_INCREMENT, LName varchar(100) NOT NULL,"
    " DateTStamp timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),"
    " PRIMARY KEY (PatNum))",
    "INSERT INTO patient (LName) VALUES ('Smith'), ('Nguyễn')",
    "CREATE TABLE definition (DefNum bigint PRIMARY KEY, ItemName varchar(255) NOT NULL)",
    "INSERT INTO definition VALUES (1, 'Cash'), (2, 'Check')",
)


def test_discover_sync_verify_status_from_the_command_line(
    source: MySQLSource, warehouse: DuckDBWarehouse | PostgresWarehouse, tmp_path: Path
) -> None:
    mysql_execute(source, *TABLES)
    write_project(tmp_path, source, warehouse)
    found = run_cli(tmp_path, "discover")
    assert found.returncode == 0, found.stderr
    assert "2 tables" in found.stdout and (tmp_path / "dental_tables.yaml").is_file()

    synced = run_cli(tmp_path, "sync", "--json")
    assert synced.returncode == 0, synced.stderr
    result = json.loads(synced.stdout)
    assert {(t["table"], t["status"], t["mode"], t["inserted"]) for t in result["tables"]} == {
        ("definition", "ok", "full", 2),
        ("patient", "ok", "full", 2),
    }
    assert "Smith" not in synced.stdout + synced.stderr  # row contents never printed

    mysql_execute(
        source,
        "CREATE TABLE odd (Id bigint PRIMARY KEY, V decimal(65,0) NOT NULL)",
        "INSERT INTO odd VALUES (1, 1e60)",
    )
    failed = run_cli(tmp_path, "sync")
    assert failed.returncode == 1  # one table failed, the others finished
    assert "odd.v" in failed.stdout and "patient" in failed.stdout

    checked = run_cli(tmp_path, "verify", "patient", "definition")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "2 of 2 tables identical" in checked.stdout
    differing = run_cli(tmp_path, "verify")
    assert differing.returncode == 1 and "raw.odd is missing from the warehouse" in differing.stdout

    shown = run_cli(tmp_path, "status")
    assert shown.returncode == 0, shown.stderr
    assert "patient" in shown.stdout and "odd" in shown.stdout and "failed" in shown.stdout


def test_unreachable_source_is_one_line_with_host_and_port_and_writes_nothing(tmp_path: Path) -> None:
    warehouse = DuckDBWarehouse(database=str(tmp_path / "w.duckdb"))
    bad = MySQLSource(host="127.0.0.1", port=1, database="opendental")
    with pytest.raises(SourceUnreachable, match=r"cannot reach MySQL at 127\.0\.0\.1:1"):
        run_sync(make_settings(tmp_path, bad, warehouse))
    assert not Path(warehouse.database).exists()

    write_project(tmp_path, bad, warehouse)
    cli = run_cli(tmp_path, "sync")
    assert cli.returncode == 2
    assert cli.stderr.strip().count("\n") == 0 and "127.0.0.1:1" in cli.stderr
    assert not Path(warehouse.database).exists()


def test_wrong_source_password_and_database_are_named(mysql_server: MySQLSource, tmp_path: Path) -> None:
    warehouse = DuckDBWarehouse(database=str(tmp_path / "w.duckdb"))
    wrong_login = msgspec.structs.replace(mysql_server, user="nobody_dental", password="wrong", database="x")
    with pytest.raises(SourceUnreachable, match="refused user 'nobody_dental': check the user and password"):
        run_sync(make_settings(tmp_path, wrong_login, warehouse))
    missing = mysql_server.with_database("no_such_database_dental")
    with pytest.raises(SourceUnreachable, match="has no database 'no_such_database_dental'"):
        run_sync(make_settings(tmp_path, missing, warehouse))
    assert not Path(warehouse.database).exists()


def test_unreachable_or_wrong_postgres_is_named(
    source: MySQLSource, pg_server: PostgresWarehouse, tmp_path: Path
) -> None:
    mysql_execute(source, *TABLES)
    cases = [
        (msgspec.structs.replace(pg_server, port=1), r"cannot reach PostgreSQL at 127\.0\.0\.1:1"),
        (
            msgspec.structs.replace(pg_server, database="no_such_db_dental"),
            "has no database 'no_such_db_dental'",
        ),
        (msgspec.structs.replace(pg_server, user="nobody_dental"), "refused user 'nobody_dental'"),
    ]
    for target, message in cases:
        with pytest.raises(WarehouseUnreachable, match=message):
            run_sync(make_settings(tmp_path, source, target))


READY = "print('ready', flush=True); time.sleep(60)"


def test_a_duckdb_file_held_by_another_process_is_named(source: MySQLSource, tmp_path: Path) -> None:
    mysql_execute(source, *TABLES)
    path = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(path)!r}); {READY}",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=cli_environment(),
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(WarehouseUnreachable, match=f"{path} is in use by another process"):
            run_sync(make_settings(tmp_path, source, DuckDBWarehouse(database=str(path))))
    finally:
        holder.kill()
        holder.wait()


def test_an_unknown_table_requested_is_named(source: MySQLSource, tmp_path: Path) -> None:
    mysql_execute(source, *TABLES)
    run = run_sync(
        make_settings(tmp_path, source, DuckDBWarehouse(database=str(tmp_path / "w.duckdb"))),
        ["nosuch", "patient"],
    )
    assert [(t.table, t.status.value, t.error) for t in run.tables] == [
        ("nosuch", "failed", "nosuch: no such table in the source"),
        ("patient", "ok", None),
    ]


LOADED_AFTER_SYNC = """
import json, sys
from dental_etl.cli import main
sys.argv = ["dental", "--project-dir", sys.argv[1], "sync", "--json"]
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def test_a_sync_process_never_loads_pandas_or_polars(
    source: MySQLSource, warehouse: DuckDBWarehouse | PostgresWarehouse, tmp_path: Path
) -> None:
    """Start-up is most of an incremental sync: a stray import costs a second on every run."""
    mysql_execute(
        source,
        *TABLES,
        "CREATE TABLE commlog (CommlogNum bigint NOT NULL AUTO_INCREMENT, Note text NOT NULL,"
        " DateTStamp timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),"
        " PRIMARY KEY (CommlogNum))",
        "INSERT INTO commlog (Note) SELECT 'called' FROM seq_1_to_40",
    )
    write_project(tmp_path, source, warehouse, lag_seconds=0)

    def sync() -> set[str]:
        done = subprocess.run(
            [sys.executable, "-c", LOADED_AFTER_SYNC, str(tmp_path)],
            capture_output=True,
            text=True,
            env=cli_environment(),
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return set(json.loads(done.stdout.strip().splitlines()[-1]))

    assert not sync() & {"pandas", "polars"}  # full loads
    mysql_execute(
        source,
        "INSERT INTO patient (LName) VALUES ('Okafor')",
        "DELETE FROM patient WHERE LName = 'Smith'",
        "UPDATE definition SET ItemName = 'Card' WHERE DefNum = 2",
        "DELETE FROM commlog WHERE CommlogNum IN (3, 30)",  # found through buckets
    )
    assert not sync() & {"pandas", "polars"}  # incremental, with deletes
    mysql_execute(source, "DELETE FROM commlog WHERE CommlogNum > 10")
    assert not sync() & {"pandas", "polars"}  # many deletes: whole key sets, compared in Arrow
