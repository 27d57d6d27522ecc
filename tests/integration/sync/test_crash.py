"""A sync killed with SIGKILL in the middle of a table, then run again, ends with an exact copy:
no duplicates, no half table, watermarks that never run ahead of the data."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from dental_etl.settings import DuckDBWarehouse, MySQLSource, PostgresWarehouse, Settings
from dental_etl.sync.runner import run_sync
from dental_etl.sync.verify import verify
from tests.integration.sync.helpers import (
    cli_environment,
    edit_table_config,
    make_settings,
    mysql_execute,
    warehouse_query,
    write_project,
)

ROWS = 50_000
DDL = """CREATE TABLE big (
  Num bigint NOT NULL AUTO_INCREMENT, PatNum bigint NOT NULL, Amount double NOT NULL,
  Note varchar(60) NOT NULL, ProcDate date NOT NULL,
  DateTStamp timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
  PRIMARY KEY (Num), KEY (DateTStamp)) ENGINE=InnoDB"""


def _kill_mid_table(project: Path, table: str) -> None:
    """Run `dental -v sync` and SIGKILL it once its log says a first chunk of `table` is written."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "dental_etl", "--project-dir", str(project), "-v", "sync", "--json"],
        env=cli_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if f"{table}: " in line and "rows written" in line:
            break
    else:
        proc.wait()
        raise AssertionError(f"the sync ended before writing {table}: {''.join(seen)[-2000:]}")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


def _assert_exact_copy(settings: Settings) -> None:
    report = verify(settings, ["big"])
    assert report.tables[0].differences == []
    ((total, distinct),) = warehouse_query(settings, "SELECT count(*), count(DISTINCT num) FROM raw.big")
    assert total == distinct == ROWS


def test_killed_full_load_and_killed_incremental_both_recover(
    source: MySQLSource, warehouse: DuckDBWarehouse | PostgresWarehouse, tmp_path: Path
) -> None:
    mysql_execute(
        source,
        DDL,
        f"INSERT INTO big (PatNum, Amount, Note, ProcDate, DateTStamp) SELECT seq % 977, seq / 7, "
        f"CONCAT('note ', seq), '2024-01-01', '2024-01-01 10:00:00' FROM seq_1_to_{ROWS}",
    )
    settings = make_settings(tmp_path, source, warehouse, lag_seconds=0, workers=1)
    write_project(tmp_path, source, warehouse, lag_seconds=0, workers=1)
    edit_table_config(settings, "big", chunk_rows=500)

    # 1. killed during the first full load: readers never see a half table
    _kill_mid_table(tmp_path, "big")
    assert warehouse_query(
        settings,
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'raw' AND table_name = 'big'",
    ) == [(0,)]
    assert warehouse_query(settings, "SELECT status FROM _dental.sync_runs") == [("running",)]
    assert not run_sync(settings).failed
    _assert_exact_copy(settings)
    assert warehouse_query(settings, "SELECT status FROM _dental.sync_runs ORDER BY run_id") == [
        ("interrupted",),
        ("ok",),
    ]
    ((first_mark,),) = warehouse_query(
        settings, "SELECT watermark FROM _dental.sync_state WHERE table_name = 'big'"
    )

    # 2. killed while staging an incremental that re-reads every row
    mysql_execute(source, "UPDATE big SET Amount = Amount + 1, Note = CONCAT(Note, '!')")
    _kill_mid_table(tmp_path, "big")
    ((mark,),) = warehouse_query(
        settings, "SELECT watermark FROM _dental.sync_state WHERE table_name = 'big'"
    )
    assert mark == first_mark  # not advanced: the data it describes was never committed
    assert not run_sync(settings).failed
    _assert_exact_copy(settings)
    ((mark,),) = warehouse_query(
        settings, "SELECT watermark FROM _dental.sync_state WHERE table_name = 'big'"
    )
    conn_rows = warehouse_query(settings, "SELECT max(datetstamp) FROM raw.big")
    newest = conn_rows[0][0].replace(tzinfo=None)
    assert first_mark < mark == newest  # advanced exactly to the newest stamp copied
    assert warehouse_query(
        settings, "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE '%stage_big'"
    ) == [(0,)]
