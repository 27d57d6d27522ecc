"""The synthetic OpenDental practice, copied: the raw tables equal what the generator says the
loader must produce (`Practice.to_arrow()`), `verify` finds nothing after a full and after an
incremental sync of a day of activity, and names a difference injected afterwards."""

from __future__ import annotations

import decimal
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from dental_etl import raw_schema
from dental_etl.settings import DuckDBWarehouse, MySQLSource, PostgresWarehouse, Settings
from dental_etl.sync.results import Mode
from dental_etl.sync.runner import run_sync
from dental_etl.sync.verify import verify
from dental_etl.sync.written import open_writer
from dental_etl.synthetic import GeneratorConfig, apply_changes, generate_practice, write_to_mariadb
from tests.integration.sync.helpers import make_settings, normalise, warehouse_tables

TODAY = date(2025, 6, 30)


def _same_column(got: pa.ChunkedArray, want: pa.ChunkedArray) -> bool:
    """Equal values: compared in Arrow when the warehouse's type casts to the expected one, else
    value by value (PostgreSQL numeric arrives as text, intervals as month-day-nano)."""
    if got.type != want.type:
        try:
            got = got.cast(want.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            numeric = isinstance(got.type, pa.BaseExtensionType)
            values = [decimal.Decimal(v) if numeric and v is not None else v for v in got.to_pylist()]
            return [normalise(v) for v in values] == [normalise(v) for v in want.to_pylist()]
    return got.combine_chunks().equals(want.combine_chunks())


def _assert_equals_generator(settings: Settings, expected: dict[str, pa.Table]) -> None:
    from dental_etl.opendental.schema import load_schema

    copied = warehouse_tables(settings, [spec.name for spec in load_schema()])
    for spec in load_schema():
        key = spec.primary_key.lower()
        got = copied[spec.name].sort_by(key)
        want = expected[spec.name].sort_by(key)
        assert got.column_names == want.column_names, spec.name
        for name in got.column_names:
            if name not in (raw_schema.LOADED_AT, raw_schema.SYNC_RUN_ID):
                assert _same_column(got.column(name), want.column(name)), f"{spec.name}.{name}"


# a few seeds, each practice on one warehouse (both warehouses covered, half the time)
@pytest.mark.parametrize(
    ("warehouse", "seed"), [("duckdb", 3), ("postgres", 8), ("postgres", 13)], indirect=["warehouse"]
)
def test_synthetic_practice_is_copied_exactly_full_then_incremental(
    seed: int, source: MySQLSource, warehouse: DuckDBWarehouse | PostgresWarehouse, tmp_path: Path
) -> None:
    practice = generate_practice(GeneratorConfig(seed=seed, patients=60, today=TODAY))
    write_to_mariadb(practice, source)
    settings = make_settings(tmp_path, source, warehouse)

    first = run_sync(settings)
    assert not first.failed and {t.mode for t in first.tables} == {Mode.FULL}
    _assert_equals_generator(settings, practice.to_arrow())
    assert verify(settings).difference_count == 0

    changes = apply_changes(source, 400, seed=seed, today=TODAY)
    assert any(t.deleted for t in changes.tables.values())  # hard deletes among them
    second = run_sync(settings)
    assert not second.failed
    # rows inserted and deleted again between two syncs never reach the warehouse, so the counts
    # can be lower than apply_changes' own; verify below is the exact check
    assert sum(t.deleted for t in second.tables) > 0
    report = verify(settings)
    assert report.difference_count == 0, [(t.table, t.differences) for t in report.tables if t.differences]

    with open_writer(settings.warehouse, settings.sync) as writer:
        session = writer.session()
        session.execute("DELETE FROM raw.paysplit WHERE splitnum = (SELECT min(splitnum) FROM raw.paysplit)")
        session.close()
    injected = verify(settings)
    assert [t.table for t in injected.tables if t.differences] == ["paysplit"]
