"""The whole pipeline over a small synthetic practice: generated into MariaDB, copied by `dental
sync` into DuckDB and into PostgreSQL, then the SQLMesh project built on each.

The KPIs in the marts must equal an independent computation made here, in polars, over the
OpenDental tables read straight from the MariaDB source with pymysql (not by calling the models,
not through the loader): production, income (patient and insurance), write-offs, adjustments,
new patients, broken appointments, production and scheduled hours per provider, and the A/R aging
of every family, which must equal the balances the generator stored on the guarantors
(docs/ledger_rules.md). Then a day of activity (`apply_changes`) is synced and the
models run incrementally: staging touches only the changed rows, and every mart equals a full
rebuild from scratch.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
import polars as pl
import pytest

from dental_etl.errors import TransformFailed
from dental_etl.mysql import connect
from dental_etl.settings import DuckDBWarehouse, MySQLSource, PostgresWarehouse, Settings, load_settings
from dental_etl.sync.runner import run_sync
from dental_etl.synthetic import GeneratorConfig, Practice, apply_changes, generate_practice, write_to_mariadb
from dental_etl.transform.runner import run_transform

PROJECT_DIR = Path(__file__).resolve().parents[2]
TODAY = dt.date(2024, 6, 30)
RUN_AT = dt.datetime(2024, 6, 30, 12, 0)
NO_DATE = dt.date(1, 1, 1)
CENT = 0.005


def settings_for(source: MySQLSource, warehouse: DuckDBWarehouse | PostgresWarehouse) -> Settings:
    gateway = "duckdb" if isinstance(warehouse, DuckDBWarehouse) else "postgres"
    base = load_settings(PROJECT_DIR)
    return msgspec.structs.replace(base, source=source, gateway=gateway, warehouse=warehouse)


def read(warehouse: DuckDBWarehouse | PostgresWarehouse, sql: str) -> pl.DataFrame:
    """A query's result as a polars frame, from either warehouse."""
    if isinstance(warehouse, DuckDBWarehouse):
        import duckdb

        with duckdb.connect(warehouse.database, read_only=True) as conn:
            return conn.sql(sql).pl()
    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow as pa

    with adbc.connect(warehouse.url) as conn, conn.cursor() as cur:
        cur.execute(sql)
        table = cur.fetch_arrow_table()
    # PostgreSQL numeric (e.g. SUM of bigint) arrives as an opaque string extension type
    columns = [
        c.storage.cast(pa.float64()) if isinstance(c.type, pa.BaseExtensionType) else c
        for c in (ch.combine_chunks() if ch.num_chunks else pa.array([], ch.type) for ch in table.columns)
    ]
    return pl.from_arrow(pa.table(columns, names=table.column_names))  # type: ignore[return-value]


def _execute(warehouse: DuckDBWarehouse | PostgresWarehouse, sql: str) -> None:
    """One statement on either warehouse, committed."""
    if isinstance(warehouse, DuckDBWarehouse):
        import duckdb

        with duckdb.connect(warehouse.database) as conn:
            conn.execute(sql)
        return
    import psycopg

    with psycopg.connect(warehouse.url, autocommit=True) as conn:
        conn.execute(sql)


def build(
    source: MySQLSource, warehouse: DuckDBWarehouse | PostgresWarehouse, when: dt.datetime = RUN_AT
) -> None:
    """`dental sync` then `dental transform`, as `dental sync --transform` does."""
    settings = settings_for(source, warehouse)
    run = run_sync(settings)
    assert not run.failed, [r.error for r in run.tables if r.error]
    summary = run_transform(settings, execution_time=when)
    assert summary.warnings == []


def new_source(server: MySQLSource, practice: Practice, created: list[str]) -> MySQLSource:
    import uuid

    source = server.with_database(f"dtest_{uuid.uuid4().hex[:10]}")
    created.append(source.database)
    write_to_mariadb(practice, source)
    return source


@pytest.fixture(scope="module")
def practice() -> Practice:
    return generate_practice(GeneratorConfig(seed=11, patients=150, today=TODAY))


@pytest.fixture(scope="module")
def sources(mysql_server: MySQLSource) -> Iterator[tuple[MySQLSource, list[str]]]:
    """A factory's state: MariaDB databases made by this module, dropped at the end."""
    created: list[str] = []
    yield mysql_server, created
    conn = connect(mysql_server, database=False)
    try:
        with conn.cursor() as cur:
            for name in created:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        conn.close()


@pytest.fixture(scope="module")
def source(practice: Practice, sources: tuple[MySQLSource, list[str]]) -> MySQLSource:
    server, created = sources
    return new_source(server, practice, created)


@pytest.fixture(scope="module")
def duckdb_warehouse(source: MySQLSource, tmp_path_factory: pytest.TempPathFactory) -> DuckDBWarehouse:
    warehouse = DuckDBWarehouse(database=str(tmp_path_factory.mktemp("duck") / "warehouse.duckdb"))
    build(source, warehouse)
    return warehouse


@pytest.fixture(scope="module")
def postgres_warehouse(source: MySQLSource, pg_server: PostgresWarehouse) -> Iterator[PostgresWarehouse]:
    import uuid

    import psycopg

    name = f"dtest_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    warehouse = msgspec.structs.replace(pg_server, database=name)
    try:
        build(source, warehouse)
        yield warehouse
    finally:
        with psycopg.connect(pg_server.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest) -> DuckDBWarehouse | PostgresWarehouse:
    return request.getfixturevalue(f"{request.param}_warehouse")


# ---- the oracle: KPIs computed here from the generator's frames --------------------------------


def _dated(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    day = pl.col(column).cast(pl.Date)
    return frame.filter(day.is_not_null() & (day != NO_DATE)).with_columns(month=day.dt.truncate("1mo"))


def _by_month(frame: pl.DataFrame, column: str, value: pl.Expr, name: str) -> pl.DataFrame:
    return _dated(frame, column).group_by("month").agg(value.sum().alias(name))


# the OpenDental columns the oracle reads, per table
ORACLE_COLUMNS = {
    "procedurelog": [
        "PatNum",
        "ProvNum",
        "CodeNum",
        "ProcStatus",
        "ProcDate",
        "ProcFee",
        "UnitQty",
        "BaseUnits",
    ],
    "paysplit": ["UnearnedType", "DatePay", "SplitAmt"],
    "claimproc": ["Status", "ClaimPaymentNum", "DateCP", "WriteOff", "InsPayAmt"],
    "claimpayment": ["ClaimPaymentNum", "CheckDate"],
    "adjustment": ["AdjDate", "AdjAmt"],
    "procedurecode": ["CodeNum", "ProcCode"],
    "patient": [
        *("PatNum", "PatStatus", "Guarantor", "InsEst"),
        *("Bal_0_30", "Bal_31_60", "Bal_61_90", "BalOver90", "BalTotal"),
    ],
    "histappointment": ["AptNum", "HistApptAction", "AptStatus", "HistDateTStamp"],
    "appointment": [
        *("AptNum", "AptStatus", "AptDateTime"),
        *("PatNum", "ClinicNum", "IsHygiene", "SecDateTEntry"),
    ],
    "schedule": ["SchedDate", "SchedType", "ProvNum", "StartTime", "StopTime"],
}


def source_tables(source: MySQLSource) -> dict[str, pl.DataFrame]:
    """The oracle's tables read straight from MariaDB with pymysql (not the loader, not the
    generator's frames); zero dates (no date in OpenDental) become NULL."""
    frames = {}
    with connect(source) as conn, conn.cursor() as cur:
        cur.execute("SET SESSION time_zone = '+00:00'")
        for table, columns in ORACLE_COLUMNS.items():
            cur.execute(
                "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS"
                " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
                (source.database, table),
            )
            types = dict(cur.fetchall())
            select = ", ".join(
                f"IF(MONTH(`{c}`) = 0 OR DAY(`{c}`) = 0, NULL, `{c}`)"
                if types[c] in {"date", "datetime", "timestamp"}
                else f"`{c}`"
                for c in columns
            )
            cur.execute(f"SELECT {select} FROM `{table}`")
            frames[table] = pl.DataFrame(
                list(cur.fetchall()), schema=columns, orient="row", infer_schema_length=None
            )
    return frames


@pytest.fixture(scope="module")
def oracle(source: MySQLSource) -> dict[str, pl.DataFrame]:
    t = source_tables(source)
    procs, splits, cps = t["procedurelog"], t["paysplit"], t["claimproc"]
    done = procs.filter(pl.col("ProcStatus") == 2)
    received = cps.filter(pl.col("Status").is_in([1, 4]))
    on_check = received.filter(pl.col("ClaimPaymentNum") != 0).join(
        t["claimpayment"].select("ClaimPaymentNum", "CheckDate"), on="ClaimPaymentNum"
    )
    money = [
        _by_month(done, "ProcDate", pl.col("ProcFee") * (pl.col("UnitQty") + pl.col("BaseUnits")), "gross"),
        _by_month(cps.filter(pl.col("Status") == 7), "DateCP", pl.col("WriteOff"), "capitation"),
        _by_month(t["adjustment"], "AdjDate", pl.col("AdjAmt"), "adjustments"),
        _by_month(received, "DateCP", pl.col("WriteOff"), "writeoffs"),
        _by_month(
            splits.filter(pl.col("UnearnedType") == 0), "DatePay", pl.col("SplitAmt"), "patient_income"
        ),
        _by_month(splits.filter(pl.col("UnearnedType") != 0), "DatePay", pl.col("SplitAmt"), "unearned"),
        _by_month(on_check, "CheckDate", pl.col("InsPayAmt"), "insurance_income"),
    ]
    monthly = money[0]
    for part in money[1:]:
        monthly = monthly.join(part, on="month", how="full", coalesce=True)
    monthly = monthly.fill_null(0.0).with_columns(
        net=pl.col("gross") - pl.col("capitation") + pl.col("adjustments") - pl.col("writeoffs")
    )

    codes = t["procedurecode"].select("CodeNum", "ProcCode")
    visits = done.join(codes, on="CodeNum").filter(~pl.col("ProcCode").is_in(["D9986", "D9987"]))
    living = t["patient"].filter(pl.col("PatStatus") != 4).select("PatNum")
    first = _dated(visits, "ProcDate").join(living, on="PatNum").group_by("PatNum").agg(pl.col("month").min())
    new_patients = first.group_by("month").agg(pl.len().alias("new_patients"))
    # retention windows by brute force: every month against every patient-month of the 24 before it
    seen = (
        _dated(visits, "ProcDate")
        .join(living, on="PatNum")
        .select("PatNum", index=pl.col("month").dt.year() * 12 + pl.col("month").dt.month() - 1)
        .unique()
    )
    months = pl.DataFrame({"m": range(seen["index"].min(), TODAY.year * 12 + TODAY.month)})
    per_patient = (
        months.join(seen, how="cross")
        .filter((pl.col("index") > pl.col("m") - 24) & (pl.col("index") <= pl.col("m")))
        .group_by("m", "PatNum")
        .agg(
            in_month=(pl.col("index") == pl.col("m")).any(),
            last_12=(pl.col("index") > pl.col("m") - 12).any(),
            last_18=(pl.col("index") > pl.col("m") - 18).any(),
            prior_12=(pl.col("index") <= pl.col("m") - 12).any(),
        )
    )
    retention = per_patient.group_by("m").agg(
        active_patients=pl.col("in_month").sum(),
        seen_last_12_months=pl.col("last_12").sum(),
        seen_last_18_months=pl.col("last_18").sum(),
        seen_prior_12_months=pl.col("prior_12").sum(),
        retained_patients=(pl.col("last_12") & pl.col("prior_12")).sum(),
    )
    retention = retention.select(
        pl.date(pl.col("m") // 12, pl.col("m") % 12 + 1, 1).alias("month"), pl.exclude("m")
    )

    hist = t["histappointment"]
    breaks = hist.filter(
        pl.col("HistApptAction").is_in([2, 3])
        | ((pl.col("HistApptAction") == 1) & (pl.col("AptStatus") == 5))
    )
    first_break = breaks.group_by("AptNum").agg(pl.col("HistDateTStamp").min().cast(pl.Date).alias("day"))
    appts = (
        t["appointment"]
        .select("AptNum", "AptStatus", "AptDateTime")
        .join(first_break, on="AptNum", how="left")
    )
    broken = appts.filter(pl.col("day").is_not_null() | (pl.col("AptStatus") == 5)).with_columns(
        day=pl.coalesce("day", pl.col("AptDateTime").cast(pl.Date))
    )
    broken_monthly = _dated(broken, "day").group_by("month").agg(pl.len().alias("broken"))

    guarantors = t["patient"].filter(pl.col("PatNum") == pl.col("Guarantor"))
    stored = guarantors.select(
        guarantor_id="PatNum",
        bal_0_30="Bal_0_30",
        bal_31_60="Bal_31_60",
        bal_61_90="Bal_61_90",
        bal_over_90="BalOver90",
        bal_total="BalTotal",
        ins_est="InsEst",
    )

    # per provider and month: production credited to the procedure's provider, and the hours of
    # the provider's schedule blocks (SchedType 1) worked up to the run date
    by_provider = (
        _dated(done, "ProcDate")
        .group_by("month", "ProvNum")
        .agg(gross=(pl.col("ProcFee") * (pl.col("UnitQty") + pl.col("BaseUnits"))).sum())
    )
    blocks = _dated(t["schedule"], "SchedDate").filter(
        (pl.col("SchedType") == 1)
        & (pl.col("ProvNum") != 0)
        & (pl.col("SchedDate") <= TODAY)
        & (pl.col("StopTime") > pl.col("StartTime"))
    )
    hours = blocks.group_by("month", "ProvNum").agg(
        hours=((pl.col("StopTime") - pl.col("StartTime")).dt.total_seconds() / 3600).sum()
    )
    providers = (
        by_provider.join(hours, on=["month", "ProvNum"], how="full", coalesce=True)
        .with_columns(pl.col("gross", "hours").fill_null(0.0))
        .with_columns(
            key=pl.format("{} {}", "month", "ProvNum"),
            per_hour=pl.when(pl.col("hours") > 0).then(pl.col("gross") / pl.col("hours")).otherwise(0.0),
        )
    )
    # hygiene re-appointment by brute force: every completed hygiene visit against every hygiene
    # appointment of the same patient (Scheduled, Complete, Unscheduled list, Broken) on a later day
    hygiene = (
        t["appointment"]
        .filter((pl.col("IsHygiene") != 0) & pl.col("AptDateTime").is_not_null())
        .with_columns(day=pl.col("AptDateTime").cast(pl.Date))
    )
    hygiene_visits = hygiene.filter((pl.col("AptStatus") == 2) & (pl.col("day") <= TODAY))
    later = hygiene.filter(pl.col("AptStatus").is_in([1, 2, 3, 5])).select(
        "PatNum", later_day="day", booked=pl.col("SecDateTEntry").cast(pl.Date)
    )
    reappointed = (
        hygiene_visits.join(later, on="PatNum")
        .filter((pl.col("later_day") > pl.col("day")) & (pl.col("booked") <= pl.col("day")))
        .select("AptNum")
        .unique()
    )
    reappointment = (
        hygiene_visits.with_columns(
            reappointed=pl.col("AptNum").is_in(reappointed["AptNum"].implode()),
            month=pl.col("day").dt.truncate("1mo"),
        )
        .group_by("month", "ClinicNum")
        .agg(visits=pl.len(), reappointed=pl.col("reappointed").sum())
        .select(key=pl.format("{} {}", "month", "ClinicNum"), visits="visits", reappointed="reappointed")
    )
    return {
        "reappointment": reappointment,
        "monthly": monthly,
        "new_patients": new_patients,
        "retention": retention,
        "broken": broken_monthly,
        "aging": stored,
        "providers": providers,
    }


def assert_same(expected: pl.DataFrame, actual: pl.DataFrame, key: str, columns: list[str]) -> None:
    """Every key in either frame, every column equal to the cent (a missing row counts as 0)."""
    both = expected.join(actual, on=key, how="full", coalesce=True, suffix="_mart").fill_null(0)
    for col in columns:
        wrong = both.filter(
            (pl.col(col).cast(pl.Float64) - pl.col(f"{col}_mart").cast(pl.Float64)).abs() >= CENT
        )
        assert wrong.is_empty(), (
            f"{col} differs for {wrong.height} {key}(s):\n{wrong.select(key, col, col + '_mart')}"
        )


# ---- the tests ---------------------------------------------------------------------------------


def test_production_income_and_writeoffs_equal_the_source(
    warehouse: DuckDBWarehouse | PostgresWarehouse, oracle: dict[str, pl.DataFrame]
) -> None:
    mart = read(
        warehouse,
        """
        SELECT month_start AS month, SUM(gross_production) AS gross,
               SUM(capitation_writeoffs) AS capitation, SUM(adjustments) AS adjustments,
               SUM(insurance_writeoffs) AS writeoffs, SUM(net_production) AS net,
               SUM(patient_income) AS patient_income, SUM(unearned_income) AS unearned,
               SUM(insurance_income) AS insurance_income
        FROM marts.production_summary GROUP BY 1
        """,
    ).with_columns(pl.col("month").cast(pl.Date))
    expected = oracle["monthly"]
    assert expected["gross"].sum() > 100_000 and expected["insurance_income"].sum() > 10_000
    cols = [
        "gross",
        "capitation",
        "adjustments",
        "writeoffs",
        "net",
        "patient_income",
        "unearned",
        "insurance_income",
    ]
    assert_same(expected, mart, "month", cols)


def test_family_aging_equals_the_generators_stored_balances(
    warehouse: DuckDBWarehouse | PostgresWarehouse, oracle: dict[str, pl.DataFrame]
) -> None:
    mart = read(
        warehouse,
        f"""
        SELECT guarantor_id, bal_0_30, bal_31_60, bal_61_90, bal_over_90, bal_total, ins_est
        FROM marts.ar_aging WHERE as_of_date = DATE '{TODAY}'
        """,
    )
    expected = oracle["aging"]
    assert expected.filter(pl.col("bal_total") != 0).height > 20
    assert_same(
        expected,
        mart,
        "guarantor_id",
        ["bal_0_30", "bal_31_60", "bal_61_90", "bal_over_90", "bal_total", "ins_est"],
    )


def test_new_patients_and_broken_appointments_equal_the_source(
    warehouse: DuckDBWarehouse | PostgresWarehouse, oracle: dict[str, pl.DataFrame]
) -> None:
    new = read(warehouse, "SELECT month_start AS month, new_patients FROM marts.patient_retention")
    assert_same(
        oracle["new_patients"], new.with_columns(pl.col("month").cast(pl.Date)), "month", ["new_patients"]
    )
    windows = ["active_patients", "seen_last_12_months", "seen_last_18_months", "seen_prior_12_months"]
    windows.append("retained_patients")
    retention = read(
        warehouse, f"SELECT month_start AS month, {', '.join(windows)} FROM marts.patient_retention"
    )
    assert oracle["retention"]["retained_patients"].sum() > 10
    assert_same(oracle["retention"], retention.with_columns(pl.col("month").cast(pl.Date)), "month", windows)
    broken = read(
        warehouse,
        "SELECT month_start AS month, SUM(broken_appointments) AS broken "
        "FROM marts.broken_appointments GROUP BY 1",
    )
    assert oracle["broken"]["broken"].sum() > 10
    assert_same(oracle["broken"], broken.with_columns(pl.col("month").cast(pl.Date)), "month", ["broken"])


def test_hygiene_reappointment_equals_the_source(
    warehouse: DuckDBWarehouse | PostgresWarehouse, oracle: dict[str, pl.DataFrame]
) -> None:
    mart = read(
        warehouse,
        "SELECT month_start, clinic_id, hygiene_visits, reappointed_visits FROM marts.hygiene_reappointment",
    ).select(
        key=pl.format("{} {}", pl.col("month_start").cast(pl.Date), "clinic_id"),
        visits="hygiene_visits",
        reappointed="reappointed_visits",
    )
    expected = oracle["reappointment"]
    assert expected["reappointed"].sum() > 10 and expected["reappointed"].sum() < expected["visits"].sum()
    assert_same(expected, mart, "key", ["visits", "reappointed"])


def test_provider_production_and_scheduled_hours_equal_the_source(
    warehouse: DuckDBWarehouse | PostgresWarehouse, oracle: dict[str, pl.DataFrame]
) -> None:
    mart = read(
        warehouse,
        """
        SELECT month_start AS month, provider_id, gross_production AS gross, scheduled_hours AS hours,
               COALESCE(production_per_scheduled_hour, 0) AS per_hour
        FROM marts.provider_performance
        """,
    ).select(
        key=pl.format("{} {}", pl.col("month").cast(pl.Date), "provider_id"),
        gross="gross",
        hours="hours",
        per_hour="per_hour",
    )
    expected = oracle["providers"]
    assert expected["ProvNum"].n_unique() >= 2 and expected["hours"].sum() > 500
    assert_same(expected, mart, "key", ["gross", "hours", "per_hour"])


def test_duckdb_and_postgres_marts_agree(
    duckdb_warehouse: DuckDBWarehouse, postgres_warehouse: PostgresWarehouse
) -> None:
    """Same models, same data, two engines: every intermediate model and mart has the same rows
    (money to the cent)."""
    names = read(duckdb_warehouse, MODEL_NAMES_SQL)["name"].to_list()
    assert len(names) == 35
    for name in names:
        left = _canonical(read(duckdb_warehouse, f"SELECT * FROM {name}"))
        right = _canonical(read(postgres_warehouse, f"SELECT * FROM {name}"))
        assert left.columns == right.columns, name
        assert left.height == right.height, name
        assert left.equals(right), f"{name} differs between DuckDB and PostgreSQL"


def _canonical(frame: pl.DataFrame, *, bookkeeping: bool = True) -> pl.DataFrame:
    """Comparable across engines: floats rounded to the cent, integers as Int64, dates as Date, sorted;
    without the `_`-prefixed bookkeeping columns unless `bookkeeping`."""
    out = []
    for name, dtype in frame.schema.items():
        if not bookkeeping and name.startswith("_"):
            continue
        col = pl.col(name)
        if dtype.is_float() or dtype.is_decimal():
            col = col.cast(pl.Float64).round(4)
        elif dtype.is_integer():
            col = col.cast(pl.Int64)
        elif isinstance(dtype, pl.Datetime):
            col = col.dt.replace_time_zone(None).cast(pl.Datetime("us"))
        out.append(col.alias(name))
    selected = frame.select(out)
    return selected.sort(selected.columns, nulls_last=True)


MODEL_NAMES_SQL = (
    "SELECT table_schema || '.' || table_name AS name FROM information_schema.tables"
    " WHERE table_schema IN ('intermediate', 'marts') ORDER BY 1"
)


@pytest.fixture
def copy_of(
    pg_server: PostgresWarehouse, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[
    Callable[[DuckDBWarehouse | PostgresWarehouse | None, str], DuckDBWarehouse | PostgresWarehouse]
]:
    """Factory: a copy of a built DuckDB warehouse, or (given None) an empty warehouse."""
    import uuid

    import psycopg

    made: list[str] = []

    def make(
        built: DuckDBWarehouse | PostgresWarehouse | None, engine: str
    ) -> DuckDBWarehouse | PostgresWarehouse:
        if engine == "duckdb":
            # same file name: DuckDB names its catalog after the file
            copy = DuckDBWarehouse(database=str(tmp_path_factory.mktemp("copy") / "warehouse.duckdb"))
            if built is not None:
                assert isinstance(built, DuckDBWarehouse)
                shutil.copy(built.database, copy.database)
            return copy
        assert built is None, "a PostgreSQL warehouse cannot be copied under another name"
        name = f"dtest_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(pg_server.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return msgspec.structs.replace(pg_server, database=name)

    yield make
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        for name in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_incremental_run_touches_only_changes_and_equals_a_full_rebuild(
    engine: str,
    practice: Practice,
    sources: tuple[MySQLSource, list[str]],
    request: pytest.FixtureRequest,
    copy_of: Callable[[DuckDBWarehouse | PostgresWarehouse | None, str], DuckDBWarehouse | PostgresWarehouse],
) -> None:
    server, created = sources
    # a copy of the built warehouse, and an identical copy of the source it was synced from
    source = new_source(server, practice, created)
    if engine == "duckdb":
        warehouse = copy_of(request.getfixturevalue("duckdb_warehouse"), engine)
    else:
        # SQLMesh's state names the database (the catalog): a PostgreSQL copy under another name
        # would not be the same project, so this one is built afresh
        warehouse = copy_of(None, engine)
        build(source, warehouse)
    changes = apply_changes(source, 300, seed=3, today=TODAY + dt.timedelta(days=1))
    assert changes.total > 100 and sum(c.deleted for c in changes.tables.values()) > 0
    settings = settings_for(source, warehouse)
    run = run_sync(settings)
    assert not run.failed
    assert read(warehouse, "SELECT COUNT(*) AS n FROM _dental.vanished_keys")["n"][0] > 0  # the hard deletes
    later = RUN_AT + dt.timedelta(days=1)
    summary = run_transform(settings, execution_time=later)
    # only what the change reaches runs: the loader reloaded the small tables whole, but their
    # content did not change (definition, provider ...), and untouched tables stay out
    assert summary.models_backfilled == 0 and 0 < summary.models_run < 76
    assert not summary.planned  # the project is as the build left it: no plan, a run from state
    assert {"procedurelog", "paysplit", "appointment"} <= set(summary.tables_changed)
    unexpected = {"definition", "provider", "procedurecode", "document"} & set(summary.tables_changed)
    assert not unexpected, summary.tables_changed
    # views read their models' current rows: the run leaves them out, not the models reading them
    assert (
        "marts.fact_payment" not in summary.model_seconds and "marts.daily_payments" in summary.model_seconds
    )

    # staging merged exactly the rows the sync wrote in this run (changed and new ones), kept the
    # others as they were, and dropped the rows deleted at the source
    for table in ("procedurelog", "appointment", "paysplit", "claimproc", "commlog", "adjustment", "patient"):
        sql = "SELECT _sync_run_id, COUNT(*) AS n FROM {} GROUP BY 1 ORDER BY 1"
        raw = read(warehouse, sql.format(f"raw.{table}"))
        staged = read(warehouse, sql.format(f"staging.stg_{table}"))
        assert raw.equals(staged), table
        new_rows = raw.filter(pl.col("_sync_run_id") == run.run_id)["n"].sum()
        assert 0 < new_rows < 0.2 * raw["n"].sum(), table

    # the deletes the run applied leave the loader's log (it holds only what is still to apply)
    assert read(warehouse, "SELECT COUNT(*) AS n FROM _dental.vanished_keys")["n"][0] == 0
    # and so does the aging's log of the families to age again (macros/aging.py)
    assert read(warehouse, "SELECT COUNT(*) AS n FROM _dental.family_changes")["n"][0] == 0

    _assert_equals_a_full_rebuild(warehouse, source, later, copy_of(None, engine))

    # the same day again, nothing new: nothing to refresh (the date-dependent models are current)
    again = run_transform(settings, execution_time=later + dt.timedelta(hours=2))
    assert (again.planned, again.tables_changed, again.models_run) == (False, [], 0)

    # more activity the same day: the date-dependent models are current, so aging (by family) and
    # the row-level models work from what they hold
    more = apply_changes(source, 300, seed=4, today=TODAY + dt.timedelta(days=1))
    assert sum(c.deleted for c in more.tables.values()) > 0
    _move_old_entries(source)
    resync = run_sync(settings)
    assert not resync.failed, [r.error for r in resync.tables if r.error]
    # a run dated before the last one would compute nothing and count the changes as done: refused
    with pytest.raises(TransformFailed, match="before the last transform"):
        run_transform(settings, execution_time=RUN_AT)
    same_day = later + dt.timedelta(hours=3)
    assert run_transform(settings, execution_time=same_day).models_run > 0
    _assert_equals_a_full_rebuild(warehouse, source, same_day, copy_of(None, engine))


def _move_old_entries(source: MySQLSource) -> None:
    """Edits a day of activity rarely makes, each of which changes a family's aging long before the
    run date, or an appointment the procedure no longer names: only the old values say which
    (macros/aging.py, `@remember_keys`). An old adjustment and an old payment split moved in time,
    a completed procedure marked deleted, a pending claim line's procedure date moved back, a
    patient with charges moved to another family, a procedure moved to another appointment, a
    broken-appointment charge marked deleted, and rows that stop passing a model's filter."""
    edits = (
        "UPDATE adjustment SET AdjDate = DATE_SUB(AdjDate, INTERVAL 200 DAY)"
        " WHERE AdjNum = (SELECT MIN(AdjNum) FROM adjustment WHERE AdjAmt <> 0)",
        # a payment that counted in the 30 days after one of its family's statements
        "UPDATE paysplit SET DatePay = DATE_ADD(DatePay, INTERVAL 100 DAY) WHERE SplitNum = (SELECT MIN(s.SplitNum)"
        " FROM paysplit AS s JOIN patient AS p ON p.PatNum = s.PatNum JOIN statement AS st ON st.PatNum = p.Guarantor"
        " WHERE s.SplitAmt > 0 AND s.UnearnedType = 0 AND s.DatePay > st.DateSent AND s.DatePay <= DATE_ADD(st.DateSent, INTERVAL 30 DAY))",
        # a completed procedure marked deleted (status 6): it leaves int_procedures and the ledger
        "UPDATE procedurelog SET ProcStatus = 6"
        " WHERE ProcNum = (SELECT MIN(ProcNum) FROM procedurelog WHERE ProcStatus = 2 AND ProcFee > 0)",
        "UPDATE claimproc SET ProcDate = DATE_SUB(ProcDate, INTERVAL 400 DAY)"
        " WHERE ClaimProcNum = (SELECT MIN(ClaimProcNum) FROM claimproc WHERE Status = 0 AND InsPayEst > 0)",
        "UPDATE patient AS p JOIN ("
        "  SELECT MIN(pl.PatNum) AS pat FROM procedurelog AS pl JOIN patient AS q ON q.PatNum = pl.PatNum"
        "  WHERE pl.ProcStatus = 2 AND q.Guarantor <> q.PatNum) AS moved ON p.PatNum = moved.pat"
        " SET p.Guarantor = (SELECT MAX(g.PatNum) FROM (SELECT PatNum FROM patient WHERE Guarantor = PatNum) AS g)",
        # the appointment it leaves loses its production: only int_procedures' old row names it
        "UPDATE procedurelog SET AptNum = (SELECT MIN(a.AptNum) FROM appointment AS a WHERE a.AptNum <> procedurelog.AptNum)"
        " WHERE ProcNum = (SELECT MAX(ProcNum) FROM procedurelog WHERE AptNum <> 0 AND ProcStatus IN (1, 2) AND ProcFee > 0)",
        # the break it named on that day is no longer a missed (or cancelled) one
        "UPDATE procedurelog SET ProcStatus = 6 WHERE ProcNum = (SELECT MIN(p.ProcNum) FROM procedurelog AS p"
        " JOIN procedurecode AS c ON c.CodeNum = p.CodeNum WHERE c.ProcCode IN ('D9986', 'D9987') AND p.ProcStatus = 2)",
        # rows that stop making an entry or a treatment-plan row without leaving their table: a
        # completed procedure set back to planned, a split turned into a prepayment, a received
        # claim line back to not received, a planned treatment recorded as existing (EC)
        "UPDATE procedurelog SET ProcStatus = 1"
        " WHERE ProcNum = (SELECT MIN(ProcNum) FROM procedurelog WHERE ProcStatus = 2 AND ProcFee > 0 AND DateTP > '1000-01-01')",
        "UPDATE paysplit SET UnearnedType = (SELECT MAX(UnearnedType) FROM paysplit)"
        " WHERE SplitNum = (SELECT MAX(SplitNum) FROM paysplit WHERE UnearnedType = 0 AND SplitAmt > 0)",
        "UPDATE claimproc SET Status = 0, ClaimPaymentNum = 0, DateCP = '0001-01-01'"
        " WHERE ClaimProcNum = (SELECT MAX(ClaimProcNum) FROM claimproc WHERE Status = 1 AND InsPayAmt > 0)",
        "UPDATE procedurelog SET ProcStatus = 3 WHERE ProcNum = (SELECT MIN(p.ProcNum) FROM procedurelog AS p"
        " JOIN procedurecode AS c ON c.CodeNum = p.CodeNum WHERE p.ProcStatus = 1 AND p.DateTP > '1000-01-01'"
        " AND c.ProcCode NOT LIKE 'D0%' AND c.ProcCode NOT LIKE 'D1%' AND c.ProcCode NOT IN ('D4910', 'D4355'))",
    )
    with connect(source, database=True) as conn, conn.cursor() as cur:
        for sql in edits:
            assert cur.execute(sql) == 1, sql
        conn.commit()


def _assert_equals_a_full_rebuild(
    warehouse: DuckDBWarehouse | PostgresWarehouse,
    source: MySQLSource,
    when: dt.datetime,
    fresh: DuckDBWarehouse | PostgresWarehouse,
) -> None:
    """Every intermediate model and mart of `warehouse` equals a build from scratch of `source` into
    `fresh` at `when`."""
    build(source, fresh, when=when)
    names = read(warehouse, MODEL_NAMES_SQL)["name"].to_list()
    assert len(names) == 35  # 12 intermediate models and 23 marts
    for name in names:
        # bookkeeping columns (`_changed_run`) hold the loader's run ids, which differ between the two
        incremental = _canonical(read(warehouse, f"SELECT * FROM {name}"), bookkeeping=False)
        rebuilt = _canonical(read(fresh, f"SELECT * FROM {name}"), bookkeeping=False)
        assert incremental.equals(rebuilt), f"{name}: incremental run differs from a full rebuild"


def _physical_table(warehouse: DuckDBWarehouse | PostgresWarehouse, view: str) -> str:
    """The physical table behind a model's view (`staging.stg_paysplit` -> its sqlmesh_md5__ table)."""
    schema, name = view.split(".")
    if isinstance(warehouse, DuckDBWarehouse):
        sql = f"SELECT sql FROM duckdb_views() WHERE schema_name = '{schema}' AND view_name = '{name}'"
        text = read(warehouse, sql)["sql"][0]
    else:
        sql = f"SELECT pg_get_viewdef('{view}'::regclass) AS sql"
        text = read(warehouse, sql)["sql"][0]
    import re

    found = re.search(r'"?(sqlmesh__\w+)"?\."?(sqlmesh_md5__[0-9a-f]+)"?', text)
    assert found, text
    return f"{found.group(1)}.{found.group(2)}"


def _audits_pass(warehouse: DuckDBWarehouse | PostgresWarehouse, model: str) -> bool:
    from dental_etl.transform.runner import open_context

    engine = "duckdb" if isinstance(warehouse, DuckDBWarehouse) else "postgres"
    ctx = open_context(settings_for(MySQLSource.from_url("mysql://root@127.0.0.1:3306/none"), warehouse))
    try:
        assert engine == ctx.engine_adapter.dialect
        return ctx.audit(start=TODAY, end=TODAY, models=iter([model]), execution_time=RUN_AT)
    finally:
        ctx.close()


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_key_audits_catch_a_duplicate_and_the_warehouse_enforces_keys_with_an_index(
    engine: str,
    request: pytest.FixtureRequest,
    copy_of: Callable[[DuckDBWarehouse | PostgresWarehouse | None, str], DuckDBWarehouse | PostgresWarehouse],
    sources: tuple[MySQLSource, list[str]],
    practice: Practice,
) -> None:
    """An incremental model's key is a unique index on both engines (the audit trusts the
    catalogue and the index refuses a duplicate); without the index the audit scans and catches
    the duplicate."""
    import psycopg

    if engine == "duckdb":
        warehouse = copy_of(request.getfixturevalue("duckdb_warehouse"), engine)
    else:
        warehouse = copy_of(None, engine)
        build(new_source(*sources[:1], practice, sources[1]), warehouse)
    model = "staging.stg_paysplit"
    table = _physical_table(warehouse, model)
    assert _audits_pass(warehouse, model)
    duplicate = (
        f"INSERT INTO {table} SELECT * FROM {table} WHERE split_id = (SELECT MIN(split_id) FROM {table})"
    )
    schema, name = table.split(".")[-2:]
    drop_index = f'DROP INDEX "{schema}"."{name}_key"'
    if isinstance(warehouse, PostgresWarehouse):
        with psycopg.connect(warehouse.url, autocommit=True) as conn:
            with pytest.raises(psycopg.errors.UniqueViolation):
                conn.execute(duplicate)  # the index refuses it at write time
            conn.execute(drop_index)
            conn.execute(duplicate)
    else:
        import duckdb

        with duckdb.connect(warehouse.database) as conn:
            with pytest.raises(duckdb.ConstraintException):
                conn.execute(duplicate)
            conn.execute(drop_index)
            conn.execute(duplicate)
    assert not _audits_pass(warehouse, model)

    # raw tables: the loader's contract audit groups the keys of rows written since the last
    # transform, so a duplicate the loader writes in a later run is caught (PostgreSQL's raw
    # tables carry the primary key and refuse it outright)
    assert _audits_pass(warehouse, "raw.paysplit")
    raw_duplicate = (
        "INSERT INTO raw.paysplit SELECT * REPLACE (1000000000 AS _sync_run_id) FROM raw.paysplit"
        " WHERE splitnum = (SELECT MIN(splitnum) FROM raw.paysplit)"
    )
    if isinstance(warehouse, PostgresWarehouse):
        with (
            psycopg.connect(warehouse.url, autocommit=True) as conn,
            pytest.raises(psycopg.errors.UniqueViolation),
        ):
            conn.execute(
                "INSERT INTO raw.paysplit SELECT * FROM raw.paysplit"
                " WHERE splitnum = (SELECT MIN(splitnum) FROM raw.paysplit)"
            )
        with (
            psycopg.connect(warehouse.url, autocommit=True) as conn,
            pytest.raises(psycopg.errors.NotNullViolation),
        ):
            conn.execute(
                "UPDATE raw.paysplit SET _sync_run_id = NULL WHERE splitnum = (SELECT MIN(splitnum) FROM raw.paysplit)"
            )
    else:
        with duckdb.connect(warehouse.database) as conn:
            conn.execute(raw_duplicate)
        assert not _audits_pass(warehouse, "raw.paysplit")

    # a status code outside OpenDental's enum stops the run when the loader writes it; rows the
    # last transform already checked are not read again
    assert _audits_pass(warehouse, "raw.procedurelog")
    checked = read(warehouse, "SELECT MAX(synced_through) AS run FROM _dental.transform_state")["run"][0]
    for run, passes in ((checked, True), (1000000001, False)):
        _execute(
            warehouse,
            f"UPDATE raw.procedurelog SET procstatus = 42, _sync_run_id = {run}"
            " WHERE procnum = (SELECT MIN(procnum) FROM raw.procedurelog)",
        )
        assert _audits_pass(warehouse, "raw.procedurelog") is passes
