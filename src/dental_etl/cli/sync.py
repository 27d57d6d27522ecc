"""`dental discover`, `dental sync`, `dental verify`, `dental status`: thin shells over
`dental_etl.sync`. Output shows table names and counts only — never row contents."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import msgspec
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from dental_etl.cli.state import CliState
from dental_etl.sync.results import Mode, RunResult, Status, TableResult

if TYPE_CHECKING:
    from dental_etl.transform.runner import TransformSummary

log = logging.getLogger("dental_etl.sync")


class RichObserver:
    """A line per running table (rows, rows/s) under an overall bar of tables done."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._overall: TaskID | None = None
        self._total = self._done = 0
        self._tasks: dict[str, tuple[TaskID, float]] = {}
        self._lock = threading.Lock()

    def run_started(self, tables: Sequence[tuple[str, int]]) -> None:
        self._total = len(tables)
        self._done = 0
        self._overall = self._progress.add_task(
            "[bold]all tables", total=len(tables), rows=f"0/{len(tables)}", rate=""
        )

    def table_started(self, table: str, estimated_rows: int) -> None:
        with self._lock:
            task = self._progress.add_task(f"  {table}", total=None, rate="", rows="0 rows")
            self._tasks[table] = (task, time.perf_counter())

    def table_progress(self, table: str, rows: int) -> None:
        with self._lock:
            task, started = self._tasks.get(table, (None, 0.0))
        if task is not None:
            rate = rows / max(time.perf_counter() - started, 1e-6)
            self._progress.update(task, rows=f"{rows:,} rows", rate=f"{rate:,.0f} rows/s")

    def table_finished(self, result: TableResult) -> None:
        with self._lock:
            task, _ = self._tasks.pop(result.table, (None, 0.0))
        if task is not None:
            self._progress.remove_task(task)
            if self._overall is not None:
                self._done += 1
                self._progress.update(self._overall, advance=1, rows=f"{self._done}/{self._total}")
        log.info("%s: %s %s, %d rows", result.table, result.status, result.mode, result.rows_read)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(bar_width=30),
        TextColumn("{task.fields[rows]}", justify="right"),
        TextColumn("{task.fields[rate]}", justify="right"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _results_table(run: RunResult) -> Table:
    table = Table(title=f"sync run {run.run_id}: {run.seconds:.1f} s", title_justify="left")
    for name, justify in (
        ("table", "left"),
        ("mode", "left"),
        ("status", "left"),
        ("read", "right"),
        ("inserted", "right"),
        ("updated", "right"),
        ("deleted", "right"),
        ("seconds", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    quiet = [r for r in run.tables if r.status is Status.OK and r.mode is Mode.UNCHANGED]
    if quiet:
        names = ", ".join(r.table for r in quiet[:8]) + (", ..." if len(quiet) > 8 else "")
        table.caption = f"unchanged, not shown ({len(quiet)}): {names}"
        table.caption_justify = "left"
    for r in run.tables:
        if r in quiet:
            continue
        style = {"failed": "red", "skipped": "yellow"}.get(r.status.value, "")
        table.add_row(
            r.table,
            r.mode.value,
            r.status.value,
            f"{r.rows_read:,}",
            f"{r.inserted:,}",
            f"{r.updated:,}",
            f"{r.deleted:,}",
            f"{r.seconds:.2f}",
            style=style,
        )
    table.add_row(
        "[bold]total",
        "",
        "",
        f"{run.total('rows_read'):,}",
        f"{run.total('inserted'):,}",
        f"{run.total('updated'):,}",
        f"{run.total('deleted'):,}",
        f"{run.seconds:.2f}",
    )
    return table


def discover_command(ctx: typer.Context) -> None:
    """Read the source's catalogue and write (or update) the editable table config."""
    from dental_etl.sync.runner import check_source
    from dental_etl.sync.table_config import discover, strategy_counts

    state: CliState = ctx.obj
    settings = state.settings
    check_source(settings)
    report = discover(settings.source, settings.sync, settings.table_config_path)
    console = state.console
    counts = ", ".join(f"{n} {s}" for s, n in strategy_counts(report.tables).items() if n)
    console.print(
        f"{len(report.tables)} tables in {settings.source.display} ({counts}) "
        f"discovered in {report.seconds:.2f} s -> {report.path}"
    )
    if report.added:
        console.print(f"new tables ({len(report.added)}): {', '.join(report.added)}")
    if report.removed:
        console.print(
            f"[yellow]tables gone from the source ({len(report.removed)}):[/] {', '.join(report.removed)}"
        )
    no_key = [n for n, p in report.tables.items() if not p.key]
    if no_key:
        console.print(f"[yellow]without a primary key (reloaded whole every sync):[/] {', '.join(no_key)}")


def sync_command(
    ctx: typer.Context,
    tables: Annotated[list[str] | None, typer.Argument(help="Tables to copy (default: all).")] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Reload the tables whole, ignoring watermarks.")
    ] = False,
    json: Annotated[bool, typer.Option("--json", help="Print the results as JSON (for cron).")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Allow deleting more than delete_guard_share of a table.")
    ] = False,
    transform: Annotated[
        bool, typer.Option("--transform", help="Then run the SQLMesh models (skipped if a table failed).")
    ] = False,
) -> None:
    """Copy the OpenDental source into the warehouse: full the first time, incremental after."""
    import gc

    from dental_etl.sync.runner import run_sync

    gc.freeze()  # what the imports built lives as long as the process: collections skip it
    state: CliState = ctx.obj
    if json:
        run = run_sync(state.settings, tables, full=full, force=force)
        summary = _transform_after(state, run.failed) if transform else None
        payload = {"sync": run, "transform": summary} if transform else run
        typer.echo(msgspec.json.encode(payload).decode())
    else:
        with _progress(state.console) as progress:
            run = run_sync(state.settings, tables, full=full, force=force, observer=RichObserver(progress))
        state.console.print(_results_table(run))
        for r in run.tables:
            if r.error:
                colour = "red" if r.status is Status.FAILED else "yellow"
                state.console.print(f"[{colour}]{r.status.value}:[/] {r.error}", highlight=False)
            for note in r.notes:
                if note != "strategy: skip":
                    state.console.print(f"{r.table}: {note}", highlight=False)
        if transform:
            from dental_etl.cli.transform import print_summary

            summary = _transform_after(state, run.failed)
            if summary is not None:
                print_summary(state, summary)
    if run.failed:
        raise typer.Exit(1)


def _transform_after(state: CliState, failed: object) -> TransformSummary | None:
    """Run the models after a sync, unless a table failed (the marts would mix old and new data)."""
    if failed:
        state.console.print("[yellow]models not run:[/] a table failed to sync; fix it and sync again")
        return None
    from dental_etl.transform.runner import run_transform

    return run_transform(state.settings)


def verify_command(
    ctx: typer.Context,
    tables: Annotated[list[str] | None, typer.Argument(help="Tables to compare (default: all).")] = None,
    json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Compare source and warehouse: row counts, primary keys, sums of numeric columns."""
    from dental_etl.sync.verify import verify

    state: CliState = ctx.obj
    report = verify(state.settings, tables)
    if json:
        typer.echo(msgspec.json.encode(report).decode())
    else:
        for check in report.tables:
            for difference in check.differences:
                state.console.print(f"[red]{check.table}:[/] {difference}", highlight=False)
        same = sum(1 for t in report.tables if not t.differences)
        state.console.print(
            f"{same} of {len(report.tables)} tables identical; {report.difference_count} difference(s)"
        )
    if report.difference_count:
        raise typer.Exit(1)


def status_command(
    ctx: typer.Context,
    json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Last run per table, watermark, age of the copy, failures."""
    from dental_etl.sync.status import status

    state: CliState = ctx.obj
    report = status(state.settings)
    if json:
        typer.echo(msgspec.json.encode(report).decode())
        return
    console = state.console
    for run in report.runs:
        console.print(
            f"run {run.run_id}: {run.status}, started {run.started_at:%Y-%m-%d %H:%M:%S}, "
            f"{run.seconds or 0:.1f} s, {run.tables_ok or 0} ok, {run.tables_failed or 0} failed"
        )
    table = Table(title=f"tables in {report.warehouse}", title_justify="left")
    for name in ("table", "strategy", "last run", "status", "mode", "age", "watermark", "rows", "error"):
        table.add_column(name)
    for t in report.tables:
        table.add_row(
            t.table,
            t.strategy or "",
            str(t.last_run_id or ""),
            t.last_status or "",
            t.last_mode or "",
            _age(t.age_seconds),
            f"{t.watermark:%Y-%m-%d %H:%M:%S}" if t.watermark else "",
            f"{t.rows:,}" if t.rows is not None else "",
            (t.error or "")[:80],
            style="red" if t.last_status == "failed" else "",
        )
    console.print(table)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def register(app: typer.Typer) -> None:
    app.command("discover")(discover_command)
    app.command("sync")(sync_command)
    app.command("verify")(verify_command)
    app.command("status")(status_command)
