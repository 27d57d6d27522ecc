"""Rows OpenDental hard-deleted: found by comparing primary-key sets, guarded against mass deletes.

No timestamp records a delete, so the only evidence is a key the warehouse holds and the source
no longer does. Comparing key sets costs a scan of the key column on both sides, so a cheap test
comes first: when the source's row count and key sum equal what the warehouse will hold after
the pending upsert, nothing vanished. Otherwise the key columns are read (connectorx from
MySQL, Arrow from the warehouse) and anti-joined in polars.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from dental_etl.errors import TableError
from dental_etl.settings import SyncSettings
from dental_etl.sync.extracted import Extractor, SourceProbe
from dental_etl.sync.plan import SourceTable
from dental_etl.sync.written.base import Session, TableRef, quote

if TYPE_CHECKING:
    import polars as pl


@dataclass(frozen=True)
class DeleteGuard:
    """Refuses to remove more than `delete_guard_share` of a table (beyond `delete_guard_min_rows`
    rows) unless forced: a wrong or half-restored source must not empty the warehouse."""

    table: str
    settings: SyncSettings
    force: bool

    def check(self, vanishing: int, total: int) -> None:
        settings = self.settings
        if self.force or vanishing <= settings.delete_guard_min_rows:
            return
        if vanishing > settings.delete_guard_share * max(total, 1):
            raise TableError(
                f"{self.table}: would delete {vanishing} of {total} warehouse rows "
                f"(more than delete_guard_share={settings.delete_guard_share:g}); check that the source is "
                "the right database, then re-run with --force"
            )


def stage_vanished(
    *,
    table: SourceTable,
    key: tuple[str, ...],
    schema: pa.Schema,
    target: TableRef,
    stage: TableRef,
    doomed: TableRef,
    staged_keys: Sequence[pa.Table],
    session: Session,
    probe: SourceProbe,
    extractor: Extractor,
    guard: DeleteGuard,
) -> int:
    """Write the keys of warehouse rows gone from the source into `doomed`; return how many.

    `stage` holds the rows about to be upserted, `staged_keys` their key columns (raw names)."""
    raw_key = [k.lower() for k in key]
    single = table.single_integer_key(key)
    if single is not None:
        src_count, src_sum = probe.count_and_key_sum(table.name, single)
        have_count, have_sum = session.count_and_key_sum(target, raw_key[0])
        new_count, new_sum = session.new_key_count_and_sum(stage, target, raw_key[0])
        if (src_count, src_sum) == (have_count + new_count, have_sum + new_sum):
            return 0
    import polars as pl  # only when keys must be compared: most syncs never load it

    source_keys = _frame(extractor.keys(table, key))
    held = _frame(session.fetch_arrow(f"SELECT {', '.join(quote(k) for k in raw_key)} FROM {target.sql}"))
    staged = [_frame(t) for t in staged_keys if t.num_rows]
    candidates = pl.concat([held, *staged], how="vertical_relaxed").unique() if staged else held
    source_keys = source_keys.cast({c: candidates.schema[c] for c in raw_key})
    vanished = candidates.join(source_keys, on=raw_key, how="anti")
    guard.check(vanished.height, held.height)
    if vanished.height:
        keys_schema = pa.schema([schema.field(k) for k in raw_key])
        session.create_table(doomed, keys_schema, staging=True)
        session.append(doomed, vanished.to_arrow().cast(keys_schema))
    return vanished.height


def _frame(table: pa.Table) -> pl.DataFrame:
    import polars as pl

    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame
