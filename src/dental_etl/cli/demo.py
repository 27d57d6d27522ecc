"""`dental demo`: a synthetic practice through the pipeline on embedded DuckDB, then a report."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from dental_etl.cli.state import CliState

if TYPE_CHECKING:  # polars and DuckDB load only when the demo runs, not with every `dental` command
    import polars as pl

DEMO_DATABASE = "data/demo.duckdb"


def _money(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}"


def _frame_table(title: str, frame: pl.DataFrame, money: set[str]) -> Table:
    import polars as pl

    table = Table(title=title, title_justify="left")
    for name in frame.columns:
        table.add_column(name.replace("_", " "), justify="left" if frame[name].dtype == pl.Utf8 else "right")
    for row in frame.iter_rows(named=True):
        table.add_row(*[_money(v) if k in money else str(v) for k, v in row.items()])
    return table


def demo(
    ctx: typer.Context,
    patients: Annotated[int, typer.Option(help="Size of the synthetic practice.")] = 1_500,
    seed: Annotated[int, typer.Option(help="Random seed of the synthetic practice.")] = 7,
    database: Annotated[str, typer.Option(help="DuckDB file the demo builds (relative to the project).")] = (
        DEMO_DATABASE
    ),
) -> None:
    """Generate a practice, load it into DuckDB, build the models and show the practice's numbers."""
    from dental_etl.demo import DemoConfig, build_demo, demo_settings, read_report

    state: CliState = ctx.obj
    console = state.console
    config = DemoConfig(patients=patients, seed=seed, today=date.today(), database=database)
    settings = demo_settings(state.settings, config)
    with console.status("generating the practice, loading raw tables, building the models ..."):
        run = build_demo(settings, config)
    t = run.timings
    console.print(
        f"[bold]{run.patients:,} patients, {run.raw_rows:,} OpenDental rows[/] -> {run.warehouse}\n"
        f"generated in {t.generate_seconds} s, raw tables written in {t.raw_seconds} s, "
        f"models built in {t.transform_seconds} s"
    )
    report = read_report(run.warehouse, config.today)
    money = {
        "gross_production",
        "adjustments",
        "insurance_writeoffs",
        "net_production",
        "patient_income",
        "insurance_income",
        "total_income",
        "bal_0_30",
        "bal_31_60",
        "bal_61_90",
        "bal_over_90",
        "bal_total",
        "ins_est",
        "collections",
        "amount",
        "production_per_hour",
        "scheduled_hours",
    }
    console.print(
        _frame_table(
            "Production & income by month (marts.production_summary)", report.production_by_month, money
        )
    )
    console.print(_frame_table("A/R aging today, by family (marts.ar_summary)", report.aging, money))
    console.print(
        _frame_table("Providers, last 12 months (marts.provider_performance)", report.providers, money)
    )
    console.print(
        _frame_table("Revenue lost, last 12 months (marts.revenue_lost)", report.revenue_lost, money)
    )
    console.print(_frame_table("Practice rates, last 12 months", report.practice_rates, set()))
    console.print(
        f"Explore further: [bold]duckdb {run.warehouse}[/] (schemas raw, staging, intermediate, marts); "
        "KPI definitions: docs/glossary.md"
    )


def register(app: typer.Typer) -> None:
    app.command()(demo)
