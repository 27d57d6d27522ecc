"""The generated SQLMesh files (raw external models, staging models) match the schema they come from."""

from collections import Counter
from pathlib import Path

import pyarrow as pa

from dental_etl.opendental.schema import load_schema
from dental_etl.transform.codegen import generated_files, sql_type, staged_columns, stale_files
from dental_etl.transform.naming import snake, staging_name

PROJECT_DIR = Path(__file__).resolve().parents[2]


def test_checked_in_files_are_current() -> None:
    assert stale_files(PROJECT_DIR) == [], "run `dental codegen` and commit the result"


def test_one_staging_model_per_core_table() -> None:
    names = {rel for rel in generated_files() if rel.startswith("models/staging/")}
    assert names == {f"models/staging/stg_{t.name}.sql" for t in load_schema()}


def test_staging_names_are_unique_per_table_and_keys_follow_the_entity() -> None:
    schema = load_schema()
    for table in schema:
        names = [staging_name(table, c) for c in staged_columns(table)]
        assert [n for n, k in Counter(names).items() if k > 1] == [], table.name

    def name(table: str, column: str) -> str:
        return staging_name(schema[table], schema[table].column(column))

    assert name("appointment", "PatNum") == "patient_id"
    assert name("procedurelog", "ProcNum") == "procedure_id"
    assert name("procedurelog", "CodeNum") == "procedure_code_id"
    assert name("payment", "PayType") == "pay_type_def_id"
    assert name("patient", "Guarantor") == "guarantor_id"
    assert name("histappointment", "AptNum") == "appointment_id"


def test_snake_case_reads_opendental_spellings() -> None:
    assert snake("ProcFee") == "proc_fee"
    assert snake("SecDateTEntry") == "sec_datetime_entry"
    assert snake("Bal_0_30") == "bal_0_30"
    assert snake("DateTimeArrived") == "date_time_arrived"


def test_staging_decodes_status_codes_from_the_schema() -> None:
    sql = generated_files()["models/staging/stg_procedurelog.sql"]
    assert "WHEN 6 THEN 'D'" in sql and "WHEN 2 THEN 'C'" in sql
    assert "NULLIF(r.procdate, DATE '0001-01-01') AS proc_date" in sql
    assert "r.unitqty AS unit_qty" in sql


def test_secrets_and_free_text_stay_out_of_staging() -> None:
    patient = {c.name for c in staged_columns(load_schema()["patient"])}
    assert "SSN" not in patient and "AddrNote" not in patient and "PatNum" in patient


def test_sql_types_are_portable_spellings() -> None:
    assert sql_type(pa.int16()) == "SMALLINT"
    assert sql_type(pa.timestamp("us", tz="UTC")) == "TIMESTAMPTZ"
    assert sql_type(pa.duration("us")) == "INTERVAL"
    assert sql_type(pa.decimal128(20, 0)) == "DECIMAL(20, 0)"


def test_change_detection_covers_every_table_in_one_portable_query() -> None:
    import sqlglot

    from dental_etl.transform.changes import detection_sql

    sql = detection_sql()
    assert sql.count("UNION ALL") == 41
    # run as written on both warehouses: it must mean the same in either dialect
    duck = sqlglot.parse_one(sql, read="duckdb")
    assert duck == sqlglot.parse_one(sql, read="postgres")
    assert "staging.stg_procedurelog" in sql and "_sync_run_id" in sql
