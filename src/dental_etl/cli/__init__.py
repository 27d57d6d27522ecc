"""The `dental` command: a thin shell over the library. Every command takes the same project
options; errors a user can act on print one line and exit non-zero (no traceback)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

from dental_etl.cli.state import CliState
from dental_etl.errors import DentalError
from dental_etl.settings import load_settings

app = typer.Typer(
    name="dental",
    help="Analytics for OpenDental practices: synthetic source, loader, models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _configure(
    ctx: typer.Context,
    project_dir: Annotated[
        Path | None,
        typer.Option("--project-dir", help="Folder holding config.yaml (default: nearest upwards)."),
    ] = None,
    gateway: Annotated[
        str | None,
        typer.Option("--gateway", "-g", help="Warehouse gateway from config.yaml (duckdb, postgres)."),
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="OpenDental source URL, mysql://user:pass@host:3306/db.")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=Console(stderr=True), show_path=False)],
    )
    settings = load_settings(project_dir, gateway)
    if source:
        settings = settings.with_source_url(source)
    ctx.obj = CliState(settings=settings, console=Console())


def _register() -> None:
    from dental_etl.cli import demo, generate, sync, transform

    demo.register(app)
    generate.register(app)
    sync.register(app)
    transform.register(app)


_register()


def main() -> None:
    """Entry point: run the app, turning our errors into one clear line."""
    err = Console(stderr=True)
    try:
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:  # typer.Exit(n) returns n when not standalone
            sys.exit(code)
    except DentalError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
