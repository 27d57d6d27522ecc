"""`dental generate`: create the synthetic OpenDental database (or add a day of activity to it)."""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dental_etl.cli.state import CliState
from dental_etl.errors import ConfigError


def _parse_day(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise ConfigError(f"--today {value!r} is not a date: use YYYY-MM-DD") from None


def generate(
    ctx: typer.Context,
    patients: Annotated[int | None, typer.Option(help="Number of patients (default 1000).")] = None,
    rows: Annotated[
        int | None, typer.Option(help="Target total rows across all tables (picks --patients).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same database.")] = 42,
    today: Annotated[
        str | None, typer.Option(help="The practice's 'today', YYYY-MM-DD (default: today).")
    ] = None,
    years: Annotated[int, typer.Option(help="Years of history before today.")] = 6,
    clinics: Annotated[int, typer.Option(help="Number of clinics (locations).")] = 2,
    replace: Annotated[
        bool, typer.Option("--replace", help="Drop and regenerate an existing database.")
    ] = False,
    changes: Annotated[
        int | None,
        typer.Option(
            help="Instead of generating, apply a day of activity (about N changed rows) "
            "to the existing database."
        ),
    ] = None,
) -> None:
    """Generate a realistic synthetic OpenDental database and bulk-load it into MySQL/MariaDB."""
    from dental_etl.synthetic import GeneratorConfig, apply_changes, generate_practice, write_to_mariadb
    from dental_etl.synthetic.mariadb import preflight

    state: CliState = ctx.obj
    source = state.settings.source
    console = state.console
    day = _parse_day(today)
    if changes is not None:
        if changes <= 0:
            raise ConfigError(f"--changes {changes} must be a positive number of rows")
        summary = apply_changes(source, changes, seed=seed, today=day)
        table = Table(
            "table", "inserted", "updated", "deleted", title=f"activity applied to {source.display}"
        )
        for name, counts in sorted(summary.tables.items()):
            table.add_row(name, str(counts.inserted), str(counts.updated), str(counts.deleted))
        console.print(table)
        return
    if patients is not None and rows is not None:
        raise ConfigError("give either --patients or --rows, not both")
    common: dict = {"seed": seed, "today": day, "years": years, "clinics": clinics}
    config = (
        GeneratorConfig.for_rows(rows, **common)
        if rows is not None
        else GeneratorConfig(patients=patients if patients is not None else 1_000, **common)
    )
    config.validate()
    preflight(source, replace=replace)
    started = time.perf_counter()
    with console.status(f"simulating {config.patients:,} patients over {config.years} years ..."):
        practice = generate_practice(config)
    generated = time.perf_counter() - started
    columns = (TextColumn("{task.description:>16}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        report = write_to_mariadb(practice, source, replace=replace, progress=progress)
    loaded = time.perf_counter() - started - generated
    console.print(
        f"[green]{report.total:,} rows[/] in {len(report.rows)} tables written to {source.display} "
        f"(generate {generated:.1f} s, load {loaded:.1f} s)"
    )


def register(app: typer.Typer) -> None:
    app.command("generate")(generate)
