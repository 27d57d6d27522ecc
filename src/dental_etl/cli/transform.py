"""`dental transform`, `dental glossary`, `dental codegen`: the SQLMesh side of the pipeline."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from dental_etl.cli.state import CliState
from dental_etl.errors import ConfigError

if TYPE_CHECKING:
    from dental_etl.transform.runner import TransformSummary


def _parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--execution-time {value!r} is not a date/time: use YYYY-MM-DD[ HH:MM]") from None


def transform(
    ctx: typer.Context,
    execution_time: Annotated[
        str | None,
        typer.Option(
            help="The 'now' the models see (aging as of, recall due ...), YYYY-MM-DD[ HH:MM]; default now."
        ),
    ] = None,
    with_tests: Annotated[
        bool, typer.Option("--with-tests", help="Run the SQLMesh unit tests before the plan.")
    ] = False,
) -> None:
    """Build the models on the selected warehouse: apply model changes, then refresh every model."""
    from dental_etl.transform.runner import run_transform

    state: CliState = ctx.obj
    summary = run_transform(
        state.settings, execution_time=_parse_time(execution_time), skip_tests=not with_tests
    )
    print_summary(state, summary)


def print_summary(state: CliState, summary: TransformSummary) -> None:
    """The transform's result as a small table (shared by `transform` and `sync --transform`)."""
    table = Table(title=f"dental transform on {summary.warehouse}")
    table.add_column("step")
    table.add_column("models", justify="right")
    table.add_column("seconds", justify="right")
    table.add_row(
        "load SQLMesh" + ("" if summary.planned else " (project unchanged)"),
        "",
        f"{summary.load_seconds:.1f}",
    )
    if summary.planned:
        table.add_row(
            "plan (changed models rebuilt)", str(summary.models_backfilled), f"{summary.plan_seconds:.1f}"
        )
    if summary.models_changed:
        run = "run (models the plan did not rebuild)"
    elif summary.tables_changed:
        run = f"run (raw tables changed: {', '.join(summary.tables_changed)})"
    else:
        run = "run (no raw table changed: date-dependent models only)"
    table.add_row(run, str(summary.models_run), f"{summary.run_seconds:.1f}")
    state.console.print(table)
    if summary.models_changed:
        state.console.print(f"{len(summary.models_changed)} model(s) new or changed since the last plan")
    for warning in summary.warnings:
        state.console.print(f"[yellow]audit warning:[/] {warning}", highlight=False)


def glossary(
    ctx: typer.Context,
    output_format: Annotated[
        str, typer.Option("--format", help="write (docs/glossary.json + .md), json or markdown (to stdout).")
    ] = "write",
) -> None:
    """Export the KPI glossary (every definition, from the marts' column descriptions)."""
    import msgspec

    from dental_etl.transform.glossary import build_glossary, to_markdown, write_glossary

    state: CliState = ctx.obj
    project = state.settings.project_dir
    if output_format == "write":
        for path in write_glossary(project):
            state.console.print(f"wrote {path}")
    elif output_format == "json":
        typer.echo(msgspec.json.format(msgspec.json.encode(build_glossary(project)), indent=2).decode())
    elif output_format == "markdown":
        typer.echo(to_markdown(build_glossary(project)))
    else:
        raise ConfigError(f"--format {output_format!r}: use write, json or markdown")


def codegen(ctx: typer.Context) -> None:
    """Regenerate external_models.yaml and models/staging/ from the OpenDental schema and raw contract."""
    from dental_etl.transform.codegen import write_generated

    state: CliState = ctx.obj
    changed = write_generated(state.settings.project_dir)
    state.console.print(
        f"{len(changed)} generated file(s) updated" + (": " + ", ".join(changed) if changed else "")
    )


def register(app: typer.Typer) -> None:
    app.command()(transform)
    app.command()(glossary)
    app.command()(codegen)
