"""The demo runs end to end on a DuckDB file, and what it shows equals the source data."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from dental_etl.demo import DemoConfig, build_demo, demo_settings, read_report
from dental_etl.settings import load_settings
from dental_etl.synthetic import GeneratorConfig, generate_practice

TODAY = date(2026, 11, 25)
PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory):
    config = DemoConfig(
        patients=150, seed=11, today=TODAY, database=str(tmp_path_factory.mktemp("demo") / "d.duckdb")
    )
    settings = demo_settings(load_settings(PROJECT_DIR), config)
    return config, build_demo(settings, config)


def test_demo_reports_the_practices_production_and_aging(demo_run) -> None:
    config, run = demo_run
    report = read_report(run.warehouse, TODAY)

    # independent: straight from the generated frames, by OpenDental's report rule
    practice = generate_practice(GeneratorConfig(seed=config.seed, patients=config.patients, today=TODAY))
    procs = practice.tables["procedurelog"].filter(
        (pl.col("ProcStatus") == 2)
        & (pl.col("ProcDate") >= date(2025, 12, 1))
        & (pl.col("ProcDate") <= TODAY)
    )
    gross = procs.select((pl.col("ProcFee") * (pl.col("UnitQty") + pl.col("BaseUnits"))).sum()).item()
    assert report.production_by_month["gross_production"].sum() == pytest.approx(gross, abs=0.005)
    assert report.production_by_month.height == 12

    guarantors = practice.tables["patient"].filter(pl.col("PatNum") == pl.col("Guarantor"))
    aging = report.aging.row(0, named=True)
    assert aging["as_of_date"] == TODAY
    for mart_column, od_column in [
        ("bal_total", "BalTotal"),
        ("bal_over_90", "BalOver90"),
        ("ins_est", "InsEst"),
    ]:
        assert aging[mart_column] == pytest.approx(guarantors[od_column].sum(), abs=0.01)
    assert run.raw_rows == sum(frame.height for frame in practice.tables.values())
