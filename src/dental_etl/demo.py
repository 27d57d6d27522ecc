"""The demo: a synthetic practice through the whole pipeline on an embedded DuckDB file.

No server is needed: the generator's tables go straight into the warehouse's `raw` schema in the
exact format `dental sync` writes (`Practice.to_arrow()`), then the SQLMesh models build, then a
report reads the marts. The report only reads marts (plain `SELECT *`) and aggregates in polars,
so every number it shows is defined once, in the models.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import duckdb
import msgspec
import polars as pl
import pyarrow as pa

from dental_etl.settings import DuckDBWarehouse, Settings

DEMO_DATABASE = "data/demo.duckdb"


class DemoConfig(msgspec.Struct, frozen=True, kw_only=True):
    patients: int = 1_500
    seed: int = 7
    today: date = msgspec.field(default_factory=date.today)
    database: str = DEMO_DATABASE


class DemoTimings(msgspec.Struct):
    generate_seconds: float
    raw_seconds: float
    transform_seconds: float


class DemoRun(msgspec.Struct):
    warehouse: str
    patients: int
    raw_rows: int
    timings: DemoTimings


def demo_settings(settings: Settings, config: DemoConfig) -> Settings:
    """The project's settings, pointed at the demo's own DuckDB file (the user's warehouse is untouched)."""
    path = Path(config.database)
    if not path.is_absolute():
        path = settings.project_dir / path
    path.parent.mkdir(parents=True, exist_ok=True)
    return msgspec.structs.replace(settings, gateway="duckdb", warehouse=DuckDBWarehouse(database=str(path)))


def build_demo(settings: Settings, config: DemoConfig) -> DemoRun:
    """Generate, write raw, transform. `settings` must already point at the demo warehouse."""
    from dental_etl.synthetic import GeneratorConfig, generate_practice
    from dental_etl.transform.runner import run_transform

    assert isinstance(settings.warehouse, DuckDBWarehouse)
    started = time.perf_counter()
    practice = generate_practice(
        GeneratorConfig(seed=config.seed, patients=config.patients, today=config.today)
    )
    generated = time.perf_counter()
    tables = practice.to_arrow(sync_run_id=1)
    write_raw(settings, tables)
    written = time.perf_counter()
    run_transform(settings, execution_time=config.today)
    transformed = time.perf_counter()
    return DemoRun(
        warehouse=settings.warehouse.database,
        patients=config.patients,
        raw_rows=sum(t.num_rows for t in tables.values()),
        timings=DemoTimings(
            generate_seconds=round(generated - started, 1),
            raw_seconds=round(written - generated, 1),
            transform_seconds=round(transformed - written, 1),
        ),
    )


def write_raw(settings: Settings, tables: dict[str, pa.Table]) -> None:
    """Full load of raw-format tables (`Practice.to_arrow()`) through the loader's own writer:
    the tables the demo writes are the ones `dental sync` would (same DDL, types, primary keys)."""
    from dental_etl.opendental.schema import load_schema
    from dental_etl.raw_schema import raw_column_name
    from dental_etl.sync.written import open_writer
    from dental_etl.sync.written.base import RAW, TableRef
    from dental_etl.synthetic.practice import arrow_schema

    schema = load_schema()
    with open_writer(settings.warehouse, settings.sync) as writer:
        session = writer.session()
        try:
            session.ensure_schema(RAW)
            for name, data in tables.items():
                target, ref = arrow_schema(name), TableRef(RAW, name)
                session.create_table(ref, target)
                session.append(ref, data.select(target.names).cast(target))
                if session.primary_key_constraint:
                    session.add_primary_key(ref, [raw_column_name(schema[name].primary_key)])
        finally:
            session.close()


class DemoReport(msgspec.Struct):
    """What the demo shows: polars frames aggregated from the marts."""

    production_by_month: pl.DataFrame
    aging: pl.DataFrame
    providers: pl.DataFrame
    revenue_lost: pl.DataFrame
    practice_rates: pl.DataFrame


def _mart(conn: duckdb.DuckDBPyConnection, name: str) -> pl.DataFrame:
    return conn.execute(f"SELECT * FROM marts.{name}").pl()


def _rate(numerator: str, denominator: str) -> pl.Expr:
    return (pl.col(numerator).sum() / pl.col(denominator).sum()).round(3)


def read_report(database: str, today: date, months: int = 12) -> DemoReport:
    """Aggregate the last `months` whole and current months from the marts."""
    first_month = date(today.year - (1 if today.month <= months else 0), (today.month - months) % 12 + 1, 1)
    conn = duckdb.connect(database, read_only=True)
    try:
        # whole months up to the current one; the schedule already holds the next months' hours
        recent = pl.col("month_start").is_between(first_month, today)
        production = (
            _mart(conn, "production_summary")
            .filter(recent)
            .group_by("month_start")
            .agg(
                pl.col(
                    "gross_production",
                    "adjustments",
                    "insurance_writeoffs",
                    "net_production",
                    "patient_income",
                    "insurance_income",
                    "total_income",
                ).sum(),
                pl.col("patients_seen").sum(),
            )
            .sort("month_start")
        )
        aging = (
            _mart(conn, "ar_summary")
            .filter(pl.col("is_current"))
            .select(
                "as_of_date",
                "bal_0_30",
                "bal_31_60",
                "bal_61_90",
                "bal_over_90",
                "bal_total",
                "ins_est",
                "families_owing",
            )
        )
        providers = (
            _mart(conn, "provider_performance")
            .filter(recent)
            .join(_mart(conn, "dim_provider"), on="provider_id", how="left")
            .group_by("provider_id", "abbr")
            .agg(
                pl.col("gross_production", "net_production", "collections", "scheduled_hours").sum(),
                pl.col("appointments_completed", "appointments_broken").sum(),
            )
            .with_columns(
                (pl.col("gross_production") / pl.col("scheduled_hours")).round(0).alias("production_per_hour")
            )
            .sort("gross_production", descending=True)
        )
        revenue_lost = (
            _mart(conn, "revenue_lost")
            .filter(recent)
            .group_by("category")
            .agg(pl.col("amount").sum(), pl.col("item_count").sum())
            .sort("amount", descending=True)
        )
        hygiene = _mart(conn, "hygiene_reappointment").filter(recent)
        acceptance = _mart(conn, "case_acceptance").filter(recent)
        broken = _mart(conn, "broken_appointments").filter(recent)
        rates = pl.DataFrame(
            {
                "kpi": ["hygiene re-appointment", "case acceptance ($)", "broken appointments"],
                "value": [
                    hygiene.select(_rate("reappointed_visits", "hygiene_visits")).item(),
                    acceptance.select(_rate("accepted_amount", "diagnosed_amount")).item(),
                    broken.select(_rate("broken_appointments", "appointments_scheduled")).item(),
                ],
            }
        )
    finally:
        conn.close()
    return DemoReport(production, aging, providers, revenue_lost, rates)
