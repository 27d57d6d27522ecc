"""Run the SQLMesh project on the selected warehouse: plan and apply what changed in the models,
then run every model on the data the loader just wrote.

`run_transform(settings)` is the library entry point (`dental transform`, and `dental sync
--transform` after a sync). It is non-interactive and works from any folder: the SQLMesh gateway
is pointed at exactly the warehouse in `settings` (so a `--gateway` option, a test database or an
environment override all reach SQLMesh the same way).

Why `run(ignore_cron=True)`: every model is @daily with `allow_partials`; ignoring the cron makes
a run right after a sync refresh the marts now, not after midnight. A run refreshes only what a
change reaches (`changes.py`): the staging models of changed raw tables and everything downstream,
plus the date-dependent models. Incremental staging models merge only the raw rows whose
`_sync_run_id` is newer than what they hold; the marts are rebuilt from staging.
"""

from __future__ import annotations

import time
import typing as t
from datetime import date, datetime
from pathlib import Path

import msgspec

from dental_etl.errors import TransformFailed, WarehouseUnreachable
from dental_etl.settings import DuckDBWarehouse, PostgresWarehouse, Settings
from dental_etl.transform.changes import (
    applied_through,
    changed_tables,
    date_dependent_models,
    forget_applied_changes,
    forget_applied_deletes,
    loader_progress,
    oldest_unfinished_run,
    run_selection,
    short_name,
    view_models,
)
from dental_etl.transform.pg_session import libpq_options
from dental_etl.transform.project_state import ProjectState, project_fingerprint, read_state, write_state

if t.TYPE_CHECKING:
    from sqlmesh import Context

TimeLike = date | datetime | str


class TransformSummary(msgspec.Struct, frozen=True):
    """What one `run_transform` did (printed by the CLI, returned to `dental sync --transform`)."""

    gateway: str
    warehouse: str
    execution_time: str
    models_changed: list[str]
    tables_changed: list[str]
    models_backfilled: int
    models_run: int
    planned: bool  # False: the project was unchanged since the last plan, which was skipped
    load_seconds: float  # opening SQLMesh: the context, and the project when it is planned
    plan_seconds: float
    run_seconds: float
    warnings: list[str]
    model_seconds: dict[str, float] = msgspec.field(default_factory=dict)  # the slowest models first


def _console() -> t.Any:
    """A silent SQLMesh console that keeps what went wrong, so errors surface as one clear message."""
    from sqlmesh.core.console import NoopConsole

    class CollectingConsole(NoopConsole):
        def __init__(self) -> None:
            self.errors: list[str] = []
            self.warnings: list[str] = []
            self.evaluated: set[str] = set()
            self.seconds: dict[str, float] = {}  # model -> evaluation seconds (audits included)

        def log_error(self, message: str, *args: t.Any, **kwargs: t.Any) -> None:
            self.errors.append(str(message).strip())

        def log_warning(
            self, short_message: str, long_message: str | None = None, *args: t.Any, **kw: t.Any
        ) -> None:
            self.warnings.append(str(short_message).strip())

        def log_failed_models(self, errors: list[t.Any]) -> None:
            for error in errors:
                cause = error.__cause__ or error
                node = getattr(error, "node", "")
                name = getattr(node, "name", None) or getattr(node, "snapshot_name", None) or str(node)
                first = str(cause).strip().splitlines()
                self.errors.append(f"{name}: {type(cause).__name__}: {first[0] if first else ''}")

        def update_snapshot_evaluation_progress(self, snapshot: t.Any, *args: t.Any, **kwargs: t.Any) -> None:
            if not kwargs.get("audit_only") and not snapshot.is_external:
                self.evaluated.add(snapshot.name)
                duration_ms = args[2] if len(args) > 2 else kwargs.get("duration_ms")
                if duration_ms:
                    self.seconds[snapshot.name] = self.seconds.get(snapshot.name, 0.0) + duration_ms / 1000

    return CollectingConsole()


def _tuned_postgres_connection_class() -> type:
    """SQLMesh's PostgreSQL connection, its sessions opened with the settings of `pg_session`: the
    audits run on them too, where the models' pre-statements do not reach."""
    from functools import partial

    from sqlmesh.core.config.connection import PostgresConnectionConfig

    class TunedPostgresConnection(PostgresConnectionConfig):
        @property
        def _connection_factory(self) -> t.Callable:
            from psycopg2 import connect

            return partial(connect, options=libpq_options())

    return TunedPostgresConnection


def _connection(settings: Settings) -> t.Any:
    from sqlmesh.core.config.connection import DuckDBConnectionConfig

    wh = settings.warehouse
    if isinstance(wh, DuckDBWarehouse):
        return DuckDBConnectionConfig(database=wh.database, register_comments=False, concurrent_tasks=4)
    assert isinstance(wh, PostgresWarehouse)
    return _tuned_postgres_connection_class()(
        host=wh.host,
        port=wh.port,
        user=wh.user,
        password=wh.password,
        database=wh.database,
        register_comments=False,
    )


def check_warehouse(settings: Settings) -> None:
    """Fail in a second, with one line naming the warehouse and what to do, before SQLMesh loads
    the project: the warehouse must answer and hold the raw tables the loader writes."""
    from dental_etl.opendental.schema import load_schema
    from dental_etl.raw_schema import RAW_SCHEMA

    wh = settings.warehouse
    sql = f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{RAW_SCHEMA}'"
    present: set[str] = set()
    if isinstance(wh, PostgresWarehouse):
        import psycopg

        try:
            with psycopg.connect(wh.url, connect_timeout=5) as conn:
                present = {row[0] for row in conn.execute(sql)}
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise WarehouseUnreachable(
                f"cannot reach warehouse {wh.display}: {reason} (check DENTAL_PG_* or the postgres gateway)"
            ) from exc
    elif Path(wh.database).exists():
        import duckdb

        try:
            with duckdb.connect(wh.database, read_only=True) as conn:
                present = {row[0] for row in conn.execute(sql).fetchall()}
        except duckdb.Error as exc:
            raise WarehouseUnreachable(f"cannot open warehouse {wh.display}: {exc}") from exc
    missing = [t.name for t in load_schema() if t.name not in present]
    if missing:
        shown = ", ".join(f"{RAW_SCHEMA}.{name}" for name in missing[:5]) + (
            " ..." if len(missing) > 5 else ""
        )
        count = f"{len(missing)} of the {len(load_schema().tables)} raw tables missing"
        raise TransformFailed(f"{wh.display} has no {shown} ({count}): run `dental sync` first")


def open_context(settings: Settings, *, load: bool = True, skip_tests: bool = True) -> Context:
    """A SQLMesh Context over the project, its gateway connected to `settings.warehouse`. It reports
    to SQLMesh's process-wide console (`sqlmesh.core.console.set_console`). `load=False` reads no
    model file (a run from SQLMesh's state needs none); `skip_tests` leaves the yaml unit tests
    unread (~2 s), as plans and runs skip them."""
    from sqlmesh import Context
    from sqlmesh.core.config import Config
    from sqlmesh.core.config.loader import load_config_from_paths

    config = load_config_from_paths(Config, project_paths=[settings.project_dir / "config.yaml"])
    gateway = config.gateways[settings.gateway]
    gateway.connection = _connection(settings)
    if skip_tests:
        config.ignore_patterns = [*config.ignore_patterns, *_TEST_FILES]
    return Context(paths=settings.project_dir, config=config, gateway=settings.gateway, load=load)


# SQLMesh's yaml unit tests (tests/**/test*.yaml): matched against each file's path from the right
_TEST_FILES = ("test*.yaml", "test*.yml")


def _fail(what: str, settings: Settings, console: t.Any, exc: BaseException | None) -> t.NoReturn:
    details = "; ".join(console.errors[:5]) or (str(exc).strip().splitlines()[0] if exc else "unknown error")
    text = f"{details}".lower()
    if exc is not None and any(
        k in text for k in ("connection", "could not connect", "io error", "permission")
    ):
        raise WarehouseUnreachable(
            f"cannot reach warehouse {settings.warehouse.display} ({settings.gateway}): {details}"
        ) from exc
    raise TransformFailed(f"{what} failed on {settings.warehouse.display}: {details}") from exc


def run_transform(
    settings: Settings,
    *,
    execution_time: TimeLike | None = None,
    skip_tests: bool = True,
) -> TransformSummary:
    """Plan + apply model changes (non-interactive), then run what the loader's changes reach.
    Raises TransformFailed (a model or a blocking audit failed) or WarehouseUnreachable.

    When the project is unchanged since the last plan (`project_state`), the plan is skipped and
    the run goes straight from SQLMesh's state without loading the project."""
    from sqlmesh.core import constants as c
    from sqlmesh.core.console import get_console, set_console
    from sqlmesh.utils.date import to_ds

    check_warehouse(settings)
    console = _console()
    previous = get_console()
    set_console(console)
    when = execution_time or datetime.now()
    run_date = to_ds(when)  # what the models see as @execution_ds
    started = time.perf_counter()
    try:
        ctx = open_context(settings, load=False, skip_tests=skip_tests)
    except Exception as exc:
        set_console(previous)
        raise TransformFailed(f"cannot load the SQLMesh project in {settings.project_dir}: {exc}") from exc
    try:
        try:
            fingerprint = project_fingerprint(settings.project_dir)
            known = read_state(ctx.engine_adapter)
            environment = ctx.state_reader.get_environment(c.PROD)
            # what the loader had committed before anything below reads raw (a sync committing
            # meanwhile is looked at again next time)
            progress = loader_progress(ctx.engine_adapter)
            synced_through = applied_through(progress, oldest_unfinished_run(ctx.engine_adapter))
        except Exception as exc:
            _fail("reading SQLMesh state", settings, console, exc)
        if known is not None and known.run_date is not None and run_date < known.run_date:
            # SQLMesh holds every interval up to the last run's date: a run dated before it would
            # compute nothing while the loader's changes counted as done
            raise TransformFailed(
                f"the run date {run_date} is before the last transform's ({known.run_date}) on"
                f" {settings.warehouse.display}: run at {known.run_date} or later"
            )
        unchanged = (
            known is not None
            and environment is not None
            and environment.finalized_ts is not None
            and known.fingerprint == fingerprint
            and known.plan_id == environment.plan_id
        )
        changed: list[str] = []
        backfilled: set[str] = set()
        every_model: set[str] = set()
        planned = False
        if not unchanged:
            try:
                ctx.load()
            except Exception as exc:
                _fail("loading the project", settings, console, exc)
        loaded_at = time.perf_counter()
        if not unchanged:
            try:
                plan = ctx.plan_builder(execution_time=when, skip_tests=skip_tests).build()
                changed = sorted(sn.name for sn in plan.new_snapshots if not sn.is_external)
                # Apply only when the project changed (or on the first build): applying an unchanged
                # plan would also backfill every model up to today, and the run below does that.
                planned = plan.has_changes
                if planned:
                    ctx.apply(plan)
                environment = ctx.state_reader.get_environment(c.PROD)
                assert environment is not None
                known = ProjectState(
                    fingerprint,
                    environment.plan_id,
                    date_dependent_models(ctx),
                    known.run_date if known else None,
                    known.synced_through if known else None,
                )
            except Exception as exc:
                _fail("plan", settings, console, exc)
            backfilled = set(console.evaluated)
            console.evaluated.clear()
            every_model = {sn.name for sn in ctx.snapshots.values() if sn.is_model and not sn.is_external}
        planned_at = time.perf_counter()
        # A plan that (re)built every model has just read all the data: running again would only
        # repeat it. Otherwise run: unchanged models pick up what the loader wrote since last time.
        tables_changed: list[str] = []
        if not planned or backfilled != every_model:
            assert known is not None
            try:
                # Only what a change reaches: the changed tables' staging models and everything
                # downstream of them, their raw audits, and the date-dependent models (a plan has
                # just rebuilt the models it changed, on the current data).
                touched = _touched(progress, known.synced_through)
                since = known.synced_through if touched is not None else None
                tables_changed = sorted(changed_tables(ctx, touched, since))
                dated = known.date_dependent_models if known.run_date != run_date else []
                selection = run_selection(tables_changed, dated, view_models(environment))
                if selection:
                    status = ctx.run(
                        ignore_cron=True,
                        execution_time=when,
                        select_models=selection,
                        no_auto_upstream=True,
                    )
                    if status.is_failure:
                        _fail("run", settings, console, None)
            except TransformFailed:
                raise
            except Exception as exc:
                _fail("run", settings, console, exc)
        assert known is not None
        try:
            write_state(
                ctx.engine_adapter,
                msgspec.structs.replace(known, run_date=run_date, synced_through=synced_through),
            )
            if synced_through is not None:
                forget_applied_deletes(ctx.engine_adapter, synced_through)
            forget_applied_changes(ctx.engine_adapter)
        except Exception as exc:
            _fail("recording the run", settings, console, exc)
        finished = time.perf_counter()
    finally:
        ctx.close()
        set_console(previous)
    return TransformSummary(
        gateway=settings.gateway,
        warehouse=settings.warehouse.display,
        execution_time=str(when),
        models_changed=[short_name(n) for n in changed],
        tables_changed=tables_changed,
        models_backfilled=len(backfilled),
        models_run=len(console.evaluated),
        planned=not unchanged,
        load_seconds=round(loaded_at - started, 2),
        plan_seconds=round(planned_at - loaded_at, 2),
        run_seconds=round(finished - planned_at, 2),
        warnings=console.warnings,
        model_seconds={
            short_name(name): round(sec, 2)
            for name, sec in sorted(console.seconds.items(), key=lambda kv: -kv[1])
        },
    )


def _touched(progress: dict[str, int] | None, synced_through: int | None) -> set[str] | None:
    """The tables a loader run committed after `synced_through` (None: every table must be asked,
    the first time, or when the warehouse's loader state went back in time, as after a restore)."""
    if progress is None or synced_through is None or max(progress.values(), default=-1) < synced_through:
        return None
    return {name for name, run in progress.items() if run > synced_through}
