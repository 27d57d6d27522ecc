"""Copy one table: full load (new table, swapped in) or incremental/append (stage, upsert, delete).

Why the order of reads is safe without one snapshot across queries (MySQL cannot share a
snapshot between connections, and connectorx opens its own): changed rows are read first, the
source's key set afterwards. A row inserted in between is in the key set but not staged — it is
not deleted, and the next sync reads it (its stamp is above the watermark). A row deleted in
between is staged, then found missing from the key set and deleted. The watermark is the
highest stamp actually copied, and the next read starts `lag_seconds` before it, so rows
stamped earlier by a transaction that committed later are still picked up. A full load takes
its watermark *before* the first chunk, so edits made while it runs are read again next time.

Every write that readers can see happens in one warehouse transaction together with the table's
`_dental.sync_state` row; a sync killed at any point leaves the previous copy and watermark, and
the next run starts that table over.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from dental_etl import raw_schema
from dental_etl.errors import TableError
from dental_etl.raw_schema import LOADED_AT, SYNC_RUN_ID
from dental_etl.settings import SyncSettings
from dental_etl.sync import state as state_store
from dental_etl.sync.cast import cast_chunk, target_schema
from dental_etl.sync.extracted import Extractor, SourceProbe, literal, prefetched
from dental_etl.sync.plan import SourceTable, Strategy, TablePlan
from dental_etl.sync.results import Mode, Status, TableResult
from dental_etl.sync.vanished import DeleteGuard, KeySets, KeyTotals, Vanished, sum_of_keys
from dental_etl.sync.written.base import (
    CONTROL,
    DELETE_PREFIX,
    NEW_PREFIX,
    RAW,
    STAGE_PREFIX,
    Session,
    TableRef,
    quote,
    type_family,
)

log = logging.getLogger(__name__)  # table names and counts only: never row contents

_METADATA = (LOADED_AT, SYNC_RUN_ID)

# InnoDB sets UPDATE_TIME at commit, to the second; this margin keeps the unchanged-table shortcut
# away from the second in which the last read started.
_UPDATE_TIME_MARGIN = timedelta(seconds=2)


@dataclass(frozen=True)
class RunContext:
    """What every table of one run shares."""

    run_id: int
    loaded_at: datetime  # UTC, written to _loaded_at
    source_now: datetime  # the source server's clock (UTC) before any table was read
    settings: SyncSettings
    extractor: Extractor
    full: bool = False
    force: bool = False
    progress: Callable[[str, int], None] = field(default=lambda table, rows: None)


@dataclass
class _Counts:
    rows_read: int = 0
    bytes_read: int = 0
    notes: list[str] = field(default_factory=list)


class TableSync:
    """One table's copy, run by one worker with its own warehouse session and source probe."""

    def __init__(
        self,
        ctx: RunContext,
        table: SourceTable,
        plan: TablePlan,
        previous: state_store.TableState | None,
        session: Session,
        probe: SourceProbe,
        warehouse_columns: dict[str, str] | None,
    ) -> None:
        """`warehouse_columns`: the raw table's columns (name -> type family) as the run found
        them in one catalogue query, or None when the table does not exist yet."""
        self.ctx = ctx
        self.warehouse_columns = warehouse_columns
        self.table = table
        self.plan = plan
        self.previous = previous
        self.session = session
        self.probe = probe
        self.target = TableRef(RAW, table.name)
        self.schema = target_schema(table)
        # what travels: the metadata columns are constants, filled in by column DEFAULTs of the
        # new and stage tables (two columns fewer per row through COPY: ~20% of a narrow table)
        self.data_schema = pa.schema([f for f in self.schema if f.name not in _METADATA])
        self.columns = [f.name for f in self.schema]
        self.key = self._checked_key()
        self.raw_key = tuple(k.lower() for k in self.key)
        self.counts = _Counts()
        self.guard = DeleteGuard(table.name, ctx.settings, ctx.force)

    # --- entry -----------------------------------------------------------------------------------
    def run(self) -> TableResult:
        started = time.perf_counter()
        plan = self.plan
        self._check_plan()
        if plan.strategy is Strategy.SKIP:
            return TableResult(table=self.table.name, status=Status.SKIPPED, notes=["strategy: skip"])
        exists = self.warehouse_columns is not None
        previous = self.previous
        reload_reason = None
        if self.ctx.full:
            reload_reason = "--full"
        elif not exists or previous is None:
            reload_reason = "first load"
        elif plan.strategy is Strategy.FULL:
            reload_reason = "strategy full"
        elif previous.strategy != plan.strategy.value or previous.change_column != plan.change_column:
            reload_reason = "plan changed"
        if exists and reload_reason != "--full":
            added = self._apply_drift()
            if added:
                reload_reason = f"new source columns {', '.join(added)}"
                self.counts.notes.append(f"added columns {', '.join(added)}; reloaded")
        if reload_reason in (None, "strategy full") and self._unchanged():
            return self._result(Mode.UNCHANGED, started, watermark=previous.watermark if previous else None)
        if reload_reason is not None:
            log.info("%s: full load (%s)", self.table.name, reload_reason)
            inserted, watermark = self._full_load(exists)
            return self._result(Mode.FULL, started, inserted=inserted, watermark=watermark)
        log.info("%s: %s", self.table.name, plan.strategy.value)
        inserted, updated, deleted, watermark = self._incremental()
        mode = Mode.INCREMENTAL if plan.strategy is Strategy.INCREMENTAL else Mode.APPEND
        return self._result(
            mode, started, inserted=inserted, updated=updated, deleted=deleted, watermark=watermark
        )

    def _result(self, mode: Mode, started: float, **counts: object) -> TableResult:
        return TableResult(
            table=self.table.name,
            status=Status.OK,
            mode=mode,
            rows_read=self.counts.rows_read,
            bytes_read=self.counts.bytes_read,
            seconds=time.perf_counter() - started,
            notes=self.counts.notes,
            **counts,  # type: ignore[arg-type]
        )

    # --- checks ----------------------------------------------------------------------------------
    def _checked_key(self) -> tuple[str, ...]:
        names = []
        for name in self.plan.key:
            col = self.table.column(name)
            if col is None:
                raise TableError(
                    f"{self.table.name}: primary_key {name!r} is not a column of the source table; "
                    "fix it in the table config or re-run dental discover"
                )
            names.append(col.name)
        return tuple(names)

    def _check_plan(self) -> None:
        plan, name = self.plan, self.table.name
        if plan.strategy in (Strategy.INCREMENTAL, Strategy.APPEND) and not self.key:
            raise TableError(f"{name}: strategy {plan.strategy} needs a primary key; use `strategy: full`")
        if plan.strategy is Strategy.INCREMENTAL:
            col = self.table.column(plan.change_column or "")
            if col is None or not col.is_stamp:
                raise TableError(
                    f"{name}: change_column {plan.change_column!r} is not a timestamp/datetime column of the "
                    "source table; fix the table config or re-run dental discover"
                )
        if plan.strategy is Strategy.APPEND and self.table.single_integer_key(self.key) is None:
            raise TableError(
                f"{name}: strategy append needs a single integer primary key; use `strategy: full`"
            )
        if plan.lookback_column and self.table.column(plan.lookback_column) is None:
            raise TableError(
                f"{name}: lookback_column {plan.lookback_column!r} is not a column of the source table"
            )

    def _apply_drift(self) -> list[str]:
        """Add new source columns to the warehouse table; fail on an incompatible type change."""
        have = self.warehouse_columns or {}
        added = []
        for f in self.schema:
            if f.name not in have:
                self.session.add_column(self.target, f)
                added.append(f.name)
            elif have[f.name] != type_family(f.type):
                raise TableError(
                    f"{self.table.name}.{f.name}: the source type changed ({have[f.name]} in the warehouse, "
                    f"{type_family(f.type)} now); run `dental sync {self.table.name} --full` to rebuild it"
                )
        gone = [name for name in have if name not in self.columns]
        if gone:
            self.counts.notes.append(
                f"columns no longer in the source kept (NULL in new rows): {', '.join(gone)}"
            )
        return added

    def _unchanged(self) -> bool:
        """The source table was not written since the last read started (InnoDB/MyISAM UPDATE_TIME)."""
        previous, updated = self.previous, self.table.update_time
        return bool(
            self.ctx.settings.skip_unchanged
            and not self.ctx.full
            and previous is not None
            and previous.source_read_at is not None
            and updated is not None
            and updated < previous.source_read_at - _UPDATE_TIME_MARGIN
        )

    # --- reading ---------------------------------------------------------------------------------
    def _chunk_key(self) -> str | None:
        return self.table.single_integer_key(self.key)

    def _cast_chunks(
        self, where: str | None = None, after: object = None, matching: int | None = None
    ) -> Iterator[pa.Table]:
        chunks = self.ctx.extractor.chunks(
            self.table,
            key=self._chunk_key(),
            chunk_rows=self.plan.chunk_rows,
            where=where,
            after=after,
            partitions=self.plan.partitions,
            matching=matching,
        )

        def cast() -> Iterator[tuple[pa.Table, int]]:
            for chunk in chunks:  # cast on the reading thread: it overlaps the write of the last chunk
                data = cast_chunk(
                    chunk,
                    self.data_schema,
                    table=self.table.name,
                    key=self.key,
                    loaded_at=self.ctx.loaded_at,
                    run_id=self.ctx.run_id,
                )
                yield data, chunk.nbytes

        for data, extracted_bytes in prefetched(cast()):
            self.counts.rows_read += data.num_rows
            self.counts.bytes_read += extracted_bytes
            yield data
            self.ctx.progress(self.table.name, self.counts.rows_read)
            log.info("%s: %d rows written", self.table.name, self.counts.rows_read)

    def _metadata_defaults(self) -> dict[str, str]:
        """Column DEFAULTs (SQL literals both dialects read) that fill the metadata columns."""
        loaded_at = self.ctx.loaded_at.isoformat()
        return {LOADED_AT: f"CAST('{loaded_at}' AS TIMESTAMPTZ)", SYNC_RUN_ID: str(int(self.ctx.run_id))}

    # --- full load -------------------------------------------------------------------------------
    def _full_load(self, exists: bool) -> tuple[int, datetime | None]:
        new = TableRef(RAW, NEW_PREFIX + self.table.name)
        session = self.session
        watermark = None
        if self.plan.change_column:
            watermark = self.probe.max_stamp(self.table.name, self.plan.change_column)
        rows = 0
        summed: int | None = 0 if self._sum_key() else None
        # DuckDB loads inside the swapping transaction (bulk data goes straight to the file, not
        # through the WAL twice); PostgreSQL's bulk connection commits by itself, so the swap is
        # a transaction of its own on the control connection.
        whole, swap = _transactions(session)
        session.prepare_bulk()
        try:
            with whole():
                session.create_table(new, self.schema, defaults=self._metadata_defaults())
                for data in self._cast_chunks():
                    session.append(new, data)
                    rows += data.num_rows
                    if summed is not None:
                        summed += sum_of_keys(data.column(self.raw_key[0]))
                session.drop_defaults(new, _METADATA)  # the raw table has none
                if exists:
                    held = self._held_totals(measure=True)
                    assert held is not None
                    self.guard.check(held.rows - rows, held.rows)
                if exists and self.raw_key and self.plan.strategy is Strategy.FULL:
                    # a small table reloaded because it was written to: rows that did not change
                    # keep their run id, so the models see only what changed
                    session.keep_unchanged_run_ids(new, self.target, self.raw_key, self._compared())
                if self.raw_key and session.primary_key_constraint:
                    session.add_primary_key(new, self.raw_key)
                session.index_run_ids(new)
                session.analyze(new)  # the statistics move with the table when it is renamed
                with swap():
                    if exists and self.raw_key:
                        key = quote(self.raw_key[0])
                        self._log_vanished(
                            f"SELECT t.{key} FROM {self.target.sql} AS t"
                            f" WHERE NOT EXISTS (SELECT 1 FROM {new.sql} AS s WHERE s.{key} = t.{key})"
                        )
                    if exists and session.dependents(self.target):
                        self._check_same_columns()
                    session.swap_in(new, self.target, self.columns)
                    # a full load covers any lookback window
                    self._save_state(watermark, KeyTotals(rows, summed), self.ctx.source_now)
        except BaseException:
            if not session.bulk_in_transaction:
                session.drop_table(new)
            raise
        return rows, watermark

    def _compared(self) -> list[str]:
        """The source columns both copies have: what decides whether a re-read row changed."""
        held = self.warehouse_columns or {}
        metadata = {f.name for f in raw_schema.METADATA_FIELDS}
        return [c for c in self.columns if c not in metadata and c in held]

    def _check_same_columns(self) -> None:
        have = self.warehouse_columns or {}
        wanted = {f.name: type_family(f.type) for f in self.schema}
        if any(have.get(name) != family for name, family in wanted.items()):
            views = ", ".join(self.session.dependents(self.target))
            raise TableError(
                f"{self.table.name}: its columns changed and views depend on {self.target} ({views}); "
                "drop those views (sqlmesh plan re-creates them) and re-run"
            )

    # --- incremental / append --------------------------------------------------------------------
    def _incremental(self) -> tuple[int, int, int, datetime | None]:
        session, plan, previous = self.session, self.plan, self.previous
        assert previous is not None
        stage = TableRef(CONTROL, STAGE_PREFIX + self.table.name)
        doomed = TableRef(CONTROL, DELETE_PREFIX + self.table.name)
        watermark = previous.watermark
        staged_keys: list[pa.Table] = []
        staged = 0
        made: list[TableRef] = []  # the work tables this attempt created, dropped at the end
        whole, upsert = _transactions(session)
        try:
            with whole():
                where, looked_back = self._change_filter()
                # counting first saves the key read for the usual small delta, but only where an
                # index makes it cheap: the lookback's business-date column usually has none
                matching = self.probe.count(self.table.name, where) if where and not looked_back else None
                if matching != 0:
                    session.prepare_bulk()
                for data in self._cast_chunks(where=where, matching=matching):
                    if not made:
                        session.create_table(
                            stage, self.schema, staging=True, defaults=self._metadata_defaults()
                        )
                        made.append(stage)
                    session.append(stage, data)
                    staged += data.num_rows
                    staged_keys.append(data.select(list(self.raw_key)))
                    if plan.change_column:
                        watermark = _later(watermark, _max_naive(data.column(plan.change_column.lower())))
                expected = self._expected_totals(stage if staged else None)
                vanished = Vanished(None, KeyTotals(0, 0), expected) if expected else None
                if plan.deletes:
                    vanished = KeySets(
                        table=self.table,
                        key=self.key,
                        schema=self.schema,
                        target=self.target,
                        stage=stage if staged else None,
                        staged_keys=staged_keys,
                        session=session,
                        probe=self.probe,
                        extractor=self.ctx.extractor,
                    ).vanished(expected, self.guard)
                    if vanished.keys is not None:
                        keys_schema = pa.schema([self.schema.field(k) for k in self.raw_key])
                        session.prepare_bulk()
                        session.create_table(doomed, keys_schema, staging=True)
                        made.append(doomed)
                        session.append(doomed, vanished.keys.cast(keys_schema))
                with upsert():
                    session.index_run_ids(self.target)  # a warehouse loaded before there was one
                    inserted, updated = session.upsert(
                        stage, self.target, self.raw_key, self.columns, self._compared(), staged
                    )
                    deleted = 0
                    if vanished is not None and vanished.keys is not None:
                        deleted = session.delete_keys(self.target, doomed, self.raw_key)
                        self._log_vanished(f"SELECT {quote(self.raw_key[0])} FROM {doomed.sql}")
                    totals = None
                    if vanished is not None and deleted == vanished.totals.rows:
                        totals = vanished.expected - vanished.totals
                    lookback_at = self.ctx.source_now if looked_back else previous.lookback_at
                    self._save_state(watermark, totals, lookback_at)
                    for ref in made:
                        session.drop_table(ref)
        except BaseException:
            if not session.bulk_in_transaction:
                with suppress(Exception):  # the next run drops leftovers; keep the real error
                    for ref in made:
                        session.drop_table(ref)
            raise
        return inserted, updated, deleted, watermark

    def _log_vanished(self, keys: str) -> None:
        """Keep the keys leaving the raw table (`keys` selects them) in `_dental.vanished_keys`,
        for the models to delete by. Single integer keys only: every OpenDental table has one."""
        if self._sum_key() is not None:
            state_store.log_vanished(self.session, self.target.name, self.ctx.run_id, keys)

    def _sum_key(self) -> str | None:
        """The raw key column whose sum the loader keeps (single integer keys only)."""
        return self.raw_key[0] if self.table.single_integer_key(self.key) else None

    def _held_totals(self, *, measure: bool) -> KeyTotals | None:
        """The warehouse table's rows and key sum before this run: kept in `sync_state` by the
        loader (PostgreSQL would scan its heap to count them), else counted (cheap in DuckDB)."""
        previous, sum_key = self.previous, self._sum_key()
        kept = previous is not None and previous.row_count is not None and previous.key_sum is not None
        if kept and sum_key and not self.session.cheap_key_scan:
            assert previous is not None and previous.row_count is not None
            return KeyTotals(previous.row_count, previous.key_sum)
        if not measure:
            return None
        return KeyTotals(*self.session.key_totals(self.target, sum_key))

    def _expected_totals(self, stage: TableRef | None) -> KeyTotals | None:
        """The warehouse's totals after the upsert: held rows plus the staged keys it lacks; None
        when only the whole key-set comparison can tell (composite keys, which count it anyway)."""
        held = self._held_totals(measure=not (self.plan.deletes and self._sum_key() is None))
        if held is None or stage is None:
            return held
        new = self.session.new_key_totals(stage, self.target, self.raw_key, self._sum_key())
        return held + KeyTotals(*new)

    def _change_filter(self) -> tuple[str | None, bool]:
        """(WHERE clause selecting the rows to re-read, whether it includes the lookback window)."""
        plan, previous = self.plan, self.previous
        assert previous is not None
        if plan.strategy is Strategy.APPEND:
            raw = self.raw_key[0]
            (high,) = self.session.query(f'SELECT max("{raw}") FROM {self.target.sql}')[0]
            return (f"`{self.key[0]}` > {literal(int(high))}" if high is not None else None), False
        if previous.watermark is None:
            return None, False  # nothing stamped yet: read everything
        stamp = f"`{plan.change_column}`"
        since = previous.watermark - timedelta(seconds=self.ctx.settings.lag_seconds)
        conditions = [f"{stamp} >= {literal(since)}"]
        looked_back = self._lookback_due()
        if looked_back:
            days = self.ctx.settings.lookback_days
            conditions.append(f"`{plan.lookback_column}` >= CURDATE() - INTERVAL {days} DAY")
        return " OR ".join(conditions), looked_back

    def _lookback_due(self) -> bool:
        """The lookback scans the table (business dates are rarely indexed): once per
        `lookback_every_hours`, not on every sync."""
        settings, previous = self.ctx.settings, self.previous
        if not (self.plan.lookback_column and settings.lookback_days):
            return False
        if previous is None or previous.lookback_at is None or not settings.lookback_every_hours:
            return True
        return self.ctx.source_now - previous.lookback_at >= timedelta(hours=settings.lookback_every_hours)

    def _save_state(
        self, watermark: datetime | None, totals: KeyTotals | None, lookback_at: datetime | None
    ) -> None:
        state_store.save_state(
            self.session,
            state_store.TableState(
                table_name=self.table.name,
                strategy=self.plan.strategy.value,
                change_column=self.plan.change_column,
                watermark=watermark,
                source_read_at=self.ctx.source_now,
                row_count=totals.rows if totals else None,
                key_sum=totals.key_sum if totals else None,
                last_run_id=self.ctx.run_id,
                last_success_at=self.ctx.loaded_at,
                lookback_at=lookback_at,
            ),
        )


def _transactions(session: Session) -> tuple[Callable[[], AbstractContextManager[None]], ...]:
    """(around the whole table, around the final swap/upsert): exactly one is a real transaction."""
    if session.bulk_in_transaction:
        return session.transaction, nullcontext
    return nullcontext, session.transaction


_EPOCH = datetime(1970, 1, 1)
_TICK = {"s": timedelta(seconds=1), "ms": timedelta(milliseconds=1), "us": timedelta(microseconds=1)}


def _max_naive(column: pa.ChunkedArray) -> datetime | None:
    """The column's highest stamp as a naive UTC datetime (TIMESTAMP columns arrive in UTC).

    Computed from the integer ticks: `as_py()` on a time-zone-aware scalar makes pyarrow import
    pandas, about a second of every incremental sync."""
    top = pc.max(column) if len(column) else None
    if top is None or not top.is_valid:
        return None
    ticks = top.cast(pa.int64()).as_py()
    unit = column.type.unit
    if unit == "ns":
        return _EPOCH + timedelta(microseconds=ticks // 1000)
    return _EPOCH + ticks * _TICK[unit]


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)
