"""Run a sync: check both ends, take the run lock, copy tables in parallel, record the run.

Tables run on a worker pool (`SyncSettings.worker_count`), largest first so the long ones do not
start last. A table that fails is reported and the others carry on; a transient connection error
retries the table (from scratch — every table's writes are atomic) with exponential backoff.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from typing import Protocol

from dental_etl import mysql
from dental_etl.errors import DentalError, SourceUnreachable, TableError
from dental_etl.settings import Settings
from dental_etl.sync import state as state_store
from dental_etl.sync.discovered import SourceCatalogue, read_catalogue
from dental_etl.sync.extracted import Extractor
from dental_etl.sync.plan import SourceTable, Strategy, TablePlan
from dental_etl.sync.results import Mode, RunResult, Status, TableResult
from dental_etl.sync.table_config import plans_for, read_table_config
from dental_etl.sync.table_sync import RunContext, TableSync
from dental_etl.sync.transient import describe, is_transient
from dental_etl.sync.workers import WorkerConnections
from dental_etl.sync.written import Session, open_writer
from dental_etl.sync.written.base import CONTROL, DELETE_PREFIX, NEW_PREFIX, RAW, STAGE_PREFIX, TableRef


class Observer(Protocol):
    """Progress callbacks (called from worker threads)."""

    def run_started(self, tables: Sequence[tuple[str, int]]) -> None: ...
    def table_started(self, table: str, estimated_rows: int) -> None: ...
    def table_progress(self, table: str, rows: int) -> None: ...
    def table_finished(self, result: TableResult) -> None: ...


class QuietObserver:
    def run_started(self, tables: Sequence[tuple[str, int]]) -> None:
        pass

    def table_started(self, table: str, estimated_rows: int) -> None:
        pass

    def table_progress(self, table: str, rows: int) -> None:
        pass

    def table_finished(self, result: TableResult) -> None:
        pass


def check_source(settings: Settings) -> None:
    """Fail with one line (host, port, what to check) before anything is written."""
    with mysql.connection(settings.source):
        pass


def select_tables(
    catalogue: SourceCatalogue, plans: dict[str, TablePlan], requested: Sequence[str] | None, known: set[str]
) -> tuple[list[str], list[TableResult]]:
    """The tables to copy, and results for the ones that cannot be (vanished, unknown, skipped)."""
    missing: list[TableResult] = []
    if requested:
        names = []
        for name in requested:
            if name in catalogue.tables:
                names.append(name)
            else:
                missing.append(
                    TableResult(
                        table=name, status=Status.FAILED, error=f"{name}: no such table in the source"
                    )
                )
    else:
        names = list(catalogue.tables)
        for name in sorted(known - set(catalogue.tables)):
            missing.append(
                TableResult(
                    table=name,
                    status=Status.SKIPPED,
                    error=f"{name}: vanished from the source; its warehouse copy is kept"
                    " (run dental discover)",
                )
            )
    chosen = [n for n in names if plans[n].strategy is not Strategy.SKIP]
    for name in names:
        if plans[name].strategy is Strategy.SKIP:
            missing.append(TableResult(table=name, status=Status.SKIPPED, notes=["strategy: skip"]))
    chosen.sort(key=lambda n: (-catalogue.tables[n].data_bytes, n))
    return chosen, missing


def _cleanup_leftovers(session: Session, raw: dict[str, dict[str, str]]) -> None:
    """Tables a killed run left behind (the caller holds the run lock, so none is in use)."""
    for name in raw:
        if name.startswith(NEW_PREFIX):
            session.drop_table(TableRef(RAW, name))
    for ref in session.tables_with_prefix(CONTROL, STAGE_PREFIX) + session.tables_with_prefix(
        CONTROL, DELETE_PREFIX
    ):
        session.drop_table(ref)


def run_sync(
    settings: Settings,
    tables: Sequence[str] | None = None,
    *,
    full: bool = False,
    force: bool = False,
    observer: Observer | None = None,
) -> RunResult:
    """Copy the source into the warehouse; per-table failures are in the result, not raised."""
    observer = observer or QuietObserver()
    started = time.perf_counter()
    check_source(settings)
    catalogue = read_catalogue(settings.source)
    config = read_table_config(settings.table_config_path)
    plans = plans_for(catalogue, config, settings.sync)
    known = set(config.tables) if config else set()
    with open_writer(settings.warehouse, settings.sync) as writer, writer.run_lock():
        control = writer.session()
        try:
            state_store.ensure(control)
            control.ensure_schema(RAW)
            state_store.mark_interrupted(control)
            raw_columns = control.schema_columns(RAW)
            _cleanup_leftovers(control, raw_columns)
            previous = state_store.load_states(control)
            loaded_at = datetime.now(UTC)
            run_id = state_store.start_run(
                control,
                started_at=loaded_at,
                source=settings.source.display,
                warehouse=writer.display,
                full=full,
            )
            chosen, results = select_tables(catalogue, plans, tables, known | set(previous))
            ctx = RunContext(
                run_id=run_id,
                loaded_at=loaded_at,
                source_now=catalogue.server_now,
                settings=settings.sync,
                extractor=Extractor(settings.source),
                full=full,
                force=force,
                progress=observer.table_progress,
            )
            observer.run_started([(n, catalogue.tables[n].rows_estimate) for n in chosen])
            for result in results:
                observer.table_finished(result)
            finished: list[tuple[TableResult, datetime]] = [(r, datetime.now(UTC)) for r in results]
            workers = WorkerConnections(writer, settings.source)
            try:
                with ThreadPoolExecutor(
                    max_workers=settings.sync.worker_count, thread_name_prefix="dental-sync"
                ) as pool:
                    futures = [
                        pool.submit(
                            _sync_one,
                            ctx,
                            catalogue.tables[n],
                            plans[n],
                            previous.get(n),
                            raw_columns.get(n),
                            workers,
                            observer,
                        )
                        for n in chosen
                    ]
                    for future in as_completed(futures):
                        result = future.result()
                        results.append(result)
                        finished.append((result, datetime.now(UTC)))
                        observer.table_finished(result)
            finally:
                workers.close()
            results.sort(key=lambda r: r.table)
            run = RunResult(
                run_id=run_id,
                started_at=loaded_at,
                seconds=time.perf_counter() - started,
                source=settings.source.display,
                warehouse=writer.display,
                tables=results,
            )
            state_store.record_tables(control, run_id, finished)
            state_store.finish_run(control, run, datetime.now(UTC))
            return run
        finally:
            control.close()


def _sync_one(
    ctx: RunContext,
    table: SourceTable,
    plan: TablePlan,
    previous: state_store.TableState | None,
    warehouse_columns: dict[str, str] | None,
    workers: WorkerConnections,
    observer: Observer,
) -> TableResult:
    """One table with retries; never raises (except on interpreter shutdown)."""
    settings = ctx.settings
    started = time.perf_counter()
    observer.table_started(table.name, table.rows_estimate)
    attempt = 0
    while True:
        attempt += 1
        try:
            session, probe = workers.get()
            result = TableSync(ctx, table, plan, previous, session, probe, warehouse_columns).run()
            result.attempts = attempt
            return result
        except TableError as exc:
            return _failed(table.name, str(exc), started, attempt)
        except DentalError as exc:
            workers.discard()
            if isinstance(exc, SourceUnreachable) and attempt <= settings.retries:
                time.sleep(settings.retry_backoff_seconds * 2 ** (attempt - 1))
                continue
            return _failed(table.name, str(exc), started, attempt)
        except Exception as exc:
            workers.discard()
            if is_transient(exc) and attempt <= settings.retries:
                time.sleep(settings.retry_backoff_seconds * 2 ** (attempt - 1))
                continue
            return _failed(table.name, f"{table.name}: {describe(exc)}", started, attempt)


def _failed(table: str, error: str, started: float, attempts: int) -> TableResult:
    return TableResult(
        table=table,
        status=Status.FAILED,
        mode=Mode.NONE,
        error=error,
        seconds=time.perf_counter() - started,
        attempts=attempts,
    )
