"""Compare every copied table with its source: row count, the primary-key set (compared exactly in
polars, with a checksum printed for the record), and the sum of every numeric column.

Meant for a quiet source (right after a sync, or on a replica): rows written to the source after
the last sync show up as differences, which is the point.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import msgspec
import polars as pl

from dental_etl.errors import DentalError
from dental_etl.mysql import quote_ident
from dental_etl.settings import Settings
from dental_etl.sync.cast import target_schema
from dental_etl.sync.discovered import read_catalogue
from dental_etl.sync.extracted import Extractor, SourceProbe
from dental_etl.sync.plan import SourceColumn, SourceTable, Strategy, TablePlan
from dental_etl.sync.runner import check_source
from dental_etl.sync.table_config import plans_for, read_table_config
from dental_etl.sync.transient import describe
from dental_etl.sync.workers import WorkerConnections
from dental_etl.sync.written import Session, open_writer, raw_table
from dental_etl.sync.written.base import RAW, quote

_EXAMPLES = 5


class TableCheck(msgspec.Struct, kw_only=True):
    table: str
    source_rows: int | None = None
    warehouse_rows: int | None = None
    key_checksum: int | None = None
    differences: list[str] = msgspec.field(default_factory=list)


class VerifyReport(msgspec.Struct):
    source: str
    warehouse: str
    tables: list[TableCheck]

    @property
    def difference_count(self) -> int:
        return sum(len(t.differences) for t in self.tables)


def _float_like(col: SourceColumn) -> bool:
    return col.data_type in {"double", "float", "real"}


def _source_sums(probe: SourceProbe, table: SourceTable, numeric: list[SourceColumn]) -> list[object]:
    items = ", ".join(["COUNT(*)", *(f"SUM({quote_ident(c.name)})" for c in numeric)])
    return list(probe.fetch_one(f"SELECT {items} FROM {quote_ident(table.name)}"))


def _warehouse_sums(session: Session, table: SourceTable, numeric: list[SourceColumn]) -> list[object]:
    def total(c: SourceColumn) -> str:
        name = quote(c.raw_name)
        return f"sum(CAST({name} AS FLOAT8))" if _float_like(c) else f"sum({name})"

    items = ", ".join(["count(*)", *(total(c) for c in numeric)])
    return list(session.query(f"SELECT {items} FROM {raw_table(table.name).sql}")[0])


def _same(a: object, b: object, *, approximate: bool) -> bool:
    if a is None or b is None:
        return (a is None or a == 0) and (b is None or b == 0)
    if approximate:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6)  # type: ignore[arg-type]
    return decimal.Decimal(str(a)) == decimal.Decimal(str(b))  # exact: integers and decimals


def _key_differences(
    settings: Settings, session: Session, table: SourceTable, key: tuple[str, ...], check: TableCheck
) -> None:
    source = pl.from_arrow(Extractor(settings.source).keys(table, key))
    cols = ", ".join(quote(k.lower()) for k in key)
    held = pl.from_arrow(session.fetch_arrow(f"SELECT {cols} FROM {raw_table(table.name).sql}"))
    assert isinstance(source, pl.DataFrame) and isinstance(held, pl.DataFrame)
    names = [k.lower() for k in key]
    source = source.cast({c: held.schema[c] for c in names})
    check.key_checksum = int(source.select(pl.struct(names).hash(seed=7).sum()).item())
    for label, left, right in (
        ("missing from the warehouse", source, held),
        ("not in the source", held, source),
    ):
        extra = left.join(right, on=names, how="anti").sort(names)
        if extra.height:
            sample = ", ".join(str(v) for v in extra.head(_EXAMPLES).rows())
            check.differences.append(f"{extra.height} key(s) {label} (e.g. {sample})")
    duplicates = held.height - held.unique().height
    if duplicates:
        check.differences.append(f"{duplicates} duplicate key(s) in the warehouse")


def check_table(
    settings: Settings,
    session: Session,
    probe: SourceProbe,
    table: SourceTable,
    plan: TablePlan,
    have: dict[str, str] | None,
) -> TableCheck:
    """`have`: the warehouse table's columns (name -> type family), None when it is missing."""
    check = TableCheck(table=table.name)
    if have is None:
        check.differences.append(f"raw.{table.name} is missing from the warehouse")
        return check
    target_schema(table)  # an uncopyable column type fails here, with its message
    numeric = [c for c in table.columns if c.is_numeric]
    absent = [c.raw_name for c in table.columns if c.raw_name not in have]
    if absent:
        check.differences.append(f"columns missing from the warehouse: {', '.join(absent)}")
        numeric = [c for c in numeric if c.raw_name in have]
    source = _source_sums(probe, table, numeric)
    warehouse = _warehouse_sums(session, table, numeric)
    check.source_rows, check.warehouse_rows = int(source[0]), int(warehouse[0])  # type: ignore[call-overload]
    if check.source_rows != check.warehouse_rows:
        check.differences.append(f"row count: source {check.source_rows}, warehouse {check.warehouse_rows}")
    for col, a, b in zip(numeric, source[1:], warehouse[1:], strict=True):
        if not _same(a, b, approximate=_float_like(col)):
            check.differences.append(f"sum({col.raw_name}): source {a}, warehouse {b}")
    if plan.key:
        _key_differences(settings, session, table, plan.key, check)
    return check


def verify(settings: Settings, tables: Sequence[str] | None = None) -> VerifyReport:
    check_source(settings)
    catalogue = read_catalogue(settings.source)
    plans = plans_for(catalogue, read_table_config(settings.table_config_path), settings.sync)
    if tables:
        unknown = [t for t in tables if t not in catalogue.tables]
        if unknown:
            raise DentalError(f"no such table in the source: {', '.join(unknown)}")
        names = list(tables)
    else:
        names = [n for n, p in plans.items() if p.strategy is not Strategy.SKIP]
    with open_writer(settings.warehouse, settings.sync, read_only=True) as writer:
        workers = WorkerConnections(writer, settings.source)
        raw_columns = workers.get()[0].schema_columns(RAW)

        def one(name: str) -> TableCheck:
            try:
                session, probe = workers.get()
                return check_table(
                    settings, session, probe, catalogue.tables[name], plans[name], raw_columns.get(name)
                )
            except DentalError as exc:
                workers.discard()
                return TableCheck(table=name, differences=[str(exc)])
            except Exception as exc:
                workers.discard()
                return TableCheck(table=name, differences=[f"could not compare: {describe(exc)}"])

        try:
            with ThreadPoolExecutor(max_workers=settings.sync.worker_count) as pool:
                checks = list(pool.map(one, names))
        finally:
            workers.close()
    return VerifyReport(source=settings.source.display, warehouse=writer.display, tables=checks)
