"""The synthetic practice, in memory: shape, determinism, raw (Arrow) format and realism."""

from __future__ import annotations

from datetime import date

import polars as pl
import pyarrow as pa
import pytest

from dental_etl.errors import ConfigError
from dental_etl.opendental.schema import load_schema
from dental_etl.raw_schema import LOADED_AT, SYNC_RUN_ID, arrow_type
from dental_etl.synthetic import GeneratorConfig, arrow_schema, generate_practice
from dental_etl.synthetic.columns import polars_type
from dental_etl.synthetic.config import MAX_PATIENTS, MIN_PATIENTS

TODAY = date(2025, 6, 30)


@pytest.fixture(scope="module")
def practice():
    return generate_practice(GeneratorConfig(seed=7, patients=300, today=TODAY))


def test_every_table_every_column_in_schema_order_and_type(practice):
    schema = load_schema()
    assert set(practice.tables) == set(schema.tables)
    for spec in schema:
        frame = practice.tables[spec.name]
        assert frame.columns == spec.column_names, spec.name
        for col in spec.columns:
            assert frame.schema[col.name] == polars_type(col), (spec.name, col.name)
        assert frame.height > 0, spec.name
        assert frame[spec.primary_key].is_unique().all(), spec.name
        assert frame[spec.primary_key].null_count() == 0


def test_only_date_columns_hold_nulls(practice):
    """NULL means MySQL's zero date; every other OpenDental column is NOT NULL."""
    for name, frame in practice.tables.items():
        for col, dtype in frame.schema.items():
            if frame[col].null_count():
                assert dtype in (pl.Date, pl.Datetime("us")), (name, col)


def test_zero_dates_are_sprinkled_but_never_where_kpis_look(practice):
    t = practice.tables
    assert t["patient"]["Birthdate"].null_count() > 0
    assert t["recall"]["DateScheduled"].null_count() > 0
    assert t["procedurelog"]["DateTP"].null_count() > 0
    done = t["procedurelog"].filter(pl.col("ProcStatus") == 2)
    assert done["ProcDate"].null_count() == 0
    for table, column in [
        ("paysplit", "DatePay"),
        ("claimproc", "DateCP"),
        ("adjustment", "AdjDate"),
        ("claimpayment", "CheckDate"),
        ("payment", "PayDate"),
    ]:
        assert t[table][column].null_count() == 0, (table, column)


def test_same_seed_same_tables_other_seed_other_tables(practice):
    again = generate_practice(GeneratorConfig(seed=7, patients=300, today=TODAY))
    for name, frame in practice.tables.items():
        assert frame.equals(again.tables[name]), name
    other = generate_practice(GeneratorConfig(seed=8, patients=300, today=TODAY))
    assert not other.tables["patient"].equals(practice.tables["patient"])
    assert not other.tables["procedurelog"].equals(practice.tables["procedurelog"])


def test_to_arrow_matches_the_raw_contract(practice):
    tables = practice.to_arrow(sync_run_id=5)
    schema = load_schema()
    for spec in schema:
        arrow = tables[spec.name]
        expected = [pa.field(c.name.lower(), arrow_type(c.mysql_type)) for c in spec.columns]
        assert arrow.schema.names == [f.name for f in expected] + [LOADED_AT, SYNC_RUN_ID]
        for field in expected:
            assert arrow.schema.field(field.name).type == field.type, (spec.name, field.name)
        assert arrow.schema == arrow_schema(spec.name)
        assert arrow.num_rows == practice.tables[spec.name].height
        assert set(arrow.column(SYNC_RUN_ID).to_pylist()) == {5}
    births = tables["patient"].column("birthdate")
    assert births.null_count == practice.tables["patient"]["Birthdate"].null_count() > 0
    assert tables["schedule"].schema.field("starttime").type == pa.duration("us")
    assert str(tables["patient"].schema.field("datetstamp").type.tz) == "UTC"


def test_to_arrow_strips_nul_characters(practice):
    notes = practice.tables["procnote"]["Note"]
    assert notes.str.contains("\x00", literal=True).any()
    arrow_notes = practice.to_arrow()["procnote"].column("note").to_pylist()
    assert not any("\x00" in n for n in arrow_notes)
    assert arrow_notes == [n.replace("\x00", "") for n in notes.to_list()]


@pytest.mark.parametrize("patients", [0, -5, MIN_PATIENTS - 1, MAX_PATIENTS + 1])
def test_nonsense_patient_counts_are_refused(patients):
    with pytest.raises(ConfigError):
        generate_practice(GeneratorConfig(patients=patients, today=TODAY))


@pytest.mark.parametrize("rows", [0, -1, 1_000])
def test_rows_below_the_smallest_practice_are_refused(rows):
    with pytest.raises(ConfigError):
        GeneratorConfig.for_rows(rows, today=TODAY)


def test_rows_pick_a_patient_count_near_the_target():
    config = GeneratorConfig.for_rows(200_000, today=TODAY)
    practice = generate_practice(config)
    assert 0.8 * 200_000 < practice.row_count < 1.2 * 200_000


@pytest.mark.parametrize(
    "config",
    [
        GeneratorConfig(seed=1, patients=MIN_PATIENTS, today=TODAY),
        GeneratorConfig(seed=2, patients=80, today=TODAY, years=1, clinics=1),
        GeneratorConfig(seed=3, patients=120, today=TODAY, years=15, clinics=5),
        GeneratorConfig(seed=4, patients=60, today=date(2001, 1, 2), years=2),
    ],
    ids=["smallest", "one-year-one-clinic", "long-many-clinics", "old-today"],
)
def test_edge_configurations_generate_complete_tables(config):
    practice = generate_practice(config)
    for name, frame in practice.tables.items():
        assert frame.columns == load_schema()[name].column_names
    done = practice.tables["procedurelog"].filter(pl.col("ProcStatus") == 2)
    assert done.height > 0 and (done["ProcDate"] < config.today).all()
