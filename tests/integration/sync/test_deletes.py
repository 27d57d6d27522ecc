"""Hard deletes are found at the cost of the differences, not of the table: the source's row count
and key sum against the figures kept in `_dental.sync_state`, then bucketed key checksums, then
the keys of the differing buckets only — exact whatever the keys (sparse, negative, 64-bit),
with the kept figures equal to the warehouse table's after every sync."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dental_etl.settings import DuckDBWarehouse, MySQLSource, PostgresWarehouse, Settings
from dental_etl.sync.extracted import Extractor, SourceProbe
from dental_etl.sync.results import Mode
from dental_etl.sync.runner import run_sync
from tests.integration.sync.helpers import (
    make_settings,
    mysql_execute,
    source_rows,
    warehouse_query,
    warehouse_rows,
)

Warehouse = DuckDBWarehouse | PostgresWarehouse

DDL = """CREATE TABLE claimproc (
  Num bigint NOT NULL, Amount double NOT NULL,
  DateTStamp timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
  PRIMARY KEY (Num), KEY (DateTStamp)) ENGINE=InnoDB"""
COLS = ["Num", "Amount", "DateTStamp"]
# 5,000 keys: dense, sparse, negative and large, stamped long ago (only edits are re-read)
ROWS = (
    "INSERT INTO claimproc (Num, Amount, DateTStamp) SELECT seq, seq, '2020-01-01' FROM seq_1_to_3000",
    "INSERT INTO claimproc (Num, Amount, DateTStamp)"
    " SELECT seq * 7919 + 100000, seq, '2020-01-01' FROM seq_1_to_1990",
    "INSERT INTO claimproc (Num, Amount, DateTStamp) VALUES (-4000000000000000000, 1, '2020-01-01'),"
    " (-42, 2, '2020-01-01'), (-1, 3, '2020-01-01'), (4000000000000000000, 4, '2020-01-01'),"
    " (3999999999999999999, 5, '2020-01-01')",
    "INSERT INTO claimproc (Num, Amount, DateTStamp) SELECT 9000000000000 + seq, seq, '2020-01-01'"
    " FROM seq_1_to_4",
    "INSERT INTO claimproc (Num, Amount, DateTStamp) VALUES (0, 0, '2020-06-01')",  # the watermark row
)


def _kept_figures(settings: Settings) -> tuple[int, int]:
    ((rows, key_sum),) = warehouse_query(
        settings, "SELECT row_count, key_sum FROM _dental.sync_state WHERE table_name = 'claimproc'"
    )
    return int(rows), int(key_sum)


def _actual_figures(settings: Settings) -> tuple[int, int]:
    ((rows, key_sum),) = warehouse_query(settings, "SELECT count(*), sum(num) FROM raw.claimproc")
    return int(rows), int(key_sum)


def _loaded(source: MySQLSource, warehouse: Warehouse, tmp_path: Path) -> Settings:
    """The 5,000-key table created in the source and synced once; the settings that synced it."""
    mysql_execute(source, DDL, *ROWS)
    settings = make_settings(tmp_path, source, warehouse, lag_seconds=0)
    run_sync(settings)
    return settings


def _logged_vanished(settings: Settings) -> set[tuple[int, int]]:
    rows = warehouse_query(
        settings, "SELECT key_value, run_id FROM _dental.vanished_keys WHERE table_name = 'claimproc'"
    )
    return {(int(key), int(run)) for key, run in rows}


def _same(settings: Settings, source: MySQLSource) -> bool:
    return warehouse_rows(settings, "claimproc", COLS, "Num") == source_rows(source, "claimproc", COLS, "Num")


@pytest.fixture
def keys_read(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many keys each whole or partial key read of the source returned."""
    counts: list[int] = []
    original = Extractor.keys

    def keys(self: Extractor, *args: Any, **kwargs: Any) -> Any:
        found = original(self, *args, **kwargs)
        counts.append(found.num_rows)
        return found

    monkeypatch.setattr(Extractor, "keys", keys)
    return counts


def test_scattered_deletes_are_found_by_reading_only_the_differing_buckets(
    source: MySQLSource, warehouse: Warehouse, tmp_path: Path, keys_read: list[int]
) -> None:
    settings = _loaded(source, warehouse, tmp_path)
    assert _kept_figures(settings) == _actual_figures(settings)
    assert _kept_figures(settings)[0] == 5000
    mysql_execute(
        source,
        "DELETE FROM claimproc WHERE Num IN (17, 2999, 107919, -42, 3999999999999999999, 9000000000003)",
        "UPDATE claimproc SET Amount = -Amount WHERE Num IN (5, 6)",
        "INSERT INTO claimproc (Num, Amount) VALUES (3001, 1), (-7, 2)",
    )
    run = run_sync(settings)
    (result,) = run.tables
    # the models delete by the loader's log of vanished keys (macros/incremental.py)
    assert _logged_vanished(settings) == {
        (17, run.run_id),
        (2999, run.run_id),
        (107919, run.run_id),
        (-42, run.run_id),
        (3999999999999999999, run.run_id),
        (9000000000003, run.run_id),
    }
    # updated: the two edits (the row stamped at the watermark is re-read every time, but it did
    # not change, so it is not rewritten)
    assert (result.mode, result.inserted, result.updated, result.deleted) == (Mode.INCREMENTAL, 2, 2, 6)
    assert _same(settings, source)
    assert _kept_figures(settings) == _actual_figures(settings)
    assert keys_read and sum(keys_read) < 1000  # not the 4,996 keys of the whole table

    before = len(keys_read)
    run_sync(settings)  # nothing changed since: the kept figures match the source, no key is read
    assert len(keys_read) == before and _same(settings, source)


def test_a_whole_reload_logs_the_keys_it_no_longer_holds(
    source: MySQLSource, warehouse: Warehouse, tmp_path: Path
) -> None:
    settings = _loaded(source, warehouse, tmp_path)
    assert _logged_vanished(settings) == set()  # a first load removes nothing
    mysql_execute(source, "DELETE FROM claimproc WHERE Num IN (1, -1, 4000000000000000000)")
    run = run_sync(settings, full=True)
    assert run.tables[0].mode is Mode.FULL
    assert _logged_vanished(settings) == {
        (1, run.run_id),
        (-1, run.run_id),
        (4000000000000000000, run.run_id),
    }
    assert _same(settings, source)


def test_a_row_deleted_after_it_was_staged_is_deleted_in_the_same_sync(
    source: MySQLSource, warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _loaded(source, warehouse, tmp_path)
    mysql_execute(source, "UPDATE claimproc SET Amount = 0 WHERE Num IN (10, 11)")
    original = SourceProbe.key_summary

    def deleted_meanwhile(self: SourceProbe, table: str, key: str) -> Any:
        mysql_execute(source, "DELETE FROM claimproc WHERE Num = 10")  # after the changed rows were read
        return original(self, table, key)

    monkeypatch.setattr(SourceProbe, "key_summary", deleted_meanwhile)
    (result,) = run_sync(settings).tables
    assert (result.updated, result.deleted) == (2, 1)  # the two edits; the re-read watermark row is unchanged
    assert _same(settings, source)
    assert _kept_figures(settings) == _actual_figures(settings)


def test_kept_figures_that_drifted_from_the_table_are_corrected(
    source: MySQLSource, warehouse: Warehouse, tmp_path: Path
) -> None:
    settings = _loaded(source, warehouse, tmp_path)
    # someone deletes a row of the copy by hand; the source then loses another one
    _warehouse_execute(settings, "DELETE FROM raw.claimproc WHERE num = 1500")
    mysql_execute(source, "DELETE FROM claimproc WHERE Num = 2500")
    (result,) = run_sync(settings).tables
    assert result.deleted == 1
    assert 2500 not in {k for (k,) in warehouse_query(settings, "SELECT num FROM raw.claimproc")}
    assert _kept_figures(settings) == _actual_figures(settings)


def _warehouse_execute(settings: Settings, sql: str) -> None:
    from dental_etl.sync.written import open_writer

    with open_writer(settings.warehouse, settings.sync) as writer:
        session = writer.session()
        try:
            session.execute(sql)
        finally:
            session.close()
