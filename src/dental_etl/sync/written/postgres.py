"""PostgreSQL: rows go in by binary COPY through adbc-driver-postgresql; DDL, transactions and
control statements through psycopg (the ADBC cursor wraps queries in COPY and takes no DDL
batches). Tables are created by us with exact types — ADBC's mode="create" would make every
column nullable text/numeric and wrap unsigned bigints around.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar
from urllib.parse import quote as url_quote

import adbc_driver_manager
import psycopg
import pyarrow as pa

from dental_etl.errors import WarehouseUnreachable
from dental_etl.raw_schema import SYNC_RUN_ID
from dental_etl.settings import PostgresWarehouse
from dental_etl.sync.written.adbc_bulk import AdbcBulk, SharedDatabase
from dental_etl.sync.written.base import Session, TableRef, Writer, quote

_LOCK_KEY = 0x64656E74616C  # "dental": one sync at a time per PostgreSQL database
_RUN_INDEX = "_run"  # suffix of a raw table's index on _sync_run_id


def translate(exc: Exception, target: PostgresWarehouse) -> WarehouseUnreachable:
    """One line naming host, port and what to check."""
    text = str(exc).lower()
    where = f"{target.host}:{target.port}"
    if "does not exist" in text and "database" in text:
        return WarehouseUnreachable(
            f"PostgreSQL at {where} has no database {target.database!r}: create it "
            f"(createdb -h {target.host} -p {target.port} -U {target.user} {target.database}) "
            "or set DENTAL_PG_DATABASE"
        )
    if "password" in text or "authentication" in text or ("role" in text and "does not exist" in text):
        return WarehouseUnreachable(
            f"PostgreSQL at {where} refused user {target.user!r}: check DENTAL_PG_USER and DENTAL_PG_PASSWORD"
        )
    return WarehouseUnreachable(
        f"cannot reach PostgreSQL at {where}: is the server running and DENTAL_PG_HOST/DENTAL_PG_PORT right?"
    )


# The loader's statements are short; PostgreSQL's JIT compiles any whose estimated cost is high
# (a key-range scan, an upsert comparing every column), which took 2.5 s to compile a statement
# that then ran in 50 ms. Sessions of the loader run without it.
_SESSION_OPTIONS = "-c jit=off"


def loader_url(target: PostgresWarehouse) -> str:
    """The libpq URL of a loader session (ADBC): the target's, with the session options."""
    return f"{target.url}?options={url_quote(_SESSION_OPTIONS, safe='')}"


def connect_control(target: PostgresWarehouse) -> psycopg.Connection:
    try:
        return psycopg.connect(target.url, autocommit=True, connect_timeout=10, options=_SESSION_OPTIONS)
    except psycopg.OperationalError as exc:
        raise translate(exc, target) from None


class PostgresSession(Session):
    type_names: ClassVar[dict[pa.DataType, str]] = {
        pa.int16(): "smallint",
        pa.int32(): "integer",
        pa.int64(): "bigint",
        pa.float32(): "real",
        pa.float64(): "double precision",
        pa.date32(): "date",
        pa.timestamp("us"): "timestamp",
        pa.timestamp("us", tz="UTC"): "timestamptz",
        pa.duration("us"): "interval",
        pa.string(): "text",
        pa.binary(): "bytea",
        pa.bool_(): "boolean",
    }
    catalogue_families: ClassVar[dict[str, str]] = {
        "smallint": "int16",
        "integer": "int32",
        "bigint": "int64",
        "real": "float",
        "double precision": "double",
        "numeric": "decimal",
        "date": "date32[day]",
        "timestamp without time zone": "timestamp",
        "timestamp with time zone": "timestamptz",
        "interval": "interval",
        "text": "text",
        "character varying": "text",
        "bytea": "binary",
        "boolean": "bool",
    }
    staging_create = "CREATE UNLOGGED TABLE"
    primary_key_constraint = True
    probe_per_row = " OFFSET 0"
    ranges_by_join = True

    def __init__(self, target: PostgresWarehouse, bulk: SharedDatabase) -> None:
        self._target = target
        self._control = connect_control(target)
        self._shared = bulk
        self._bulk_conn: AdbcBulk | None = None

    def prepare_bulk(self) -> None:
        self._shared.warm()

    @property
    def has_bit_xor(self) -> bool:
        return self._control.info.server_version >= 140000

    @property
    def _bulk(self) -> AdbcBulk:
        """The ADBC connection, opened on first bulk I/O (unchanged tables never need it)."""
        if self._bulk_conn is None:
            try:
                self._bulk_conn = AdbcBulk(self._shared)
            except adbc_driver_manager.Error as exc:
                raise translate(exc, self._target) from None
        return self._bulk_conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cur = self._control.execute(sql, params or None)  # type: ignore[arg-type]
        return max(cur.rowcount, 0)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._control.execute(sql, params or None).fetchall()  # type: ignore[arg-type]

    def fetch_arrow(self, sql: str) -> pa.Table:
        return self._bulk.fetch(sql)

    def append(self, ref: TableRef, data: pa.Table) -> None:
        if data.num_rows == 0:
            return
        self._bulk.append(ref.schema, ref.name, data)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._control.transaction():
            yield

    def close(self) -> None:
        for conn in (self._bulk_conn, self._control):
            if conn is None:
                continue
            with contextlib.suppress(Exception):  # closing a broken connection must not hide the real error
                conn.close()

    def schema_columns(self, schema: str) -> dict[str, dict[str, str]]:
        """pg_catalog instead of information_schema: ~10x faster for hundreds of tables."""
        rows = self.query(
            "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY c.relname, a.attnum",
            (schema,),
        )
        tables: dict[str, dict[str, str]] = {}
        for table, column, data_type in rows:
            tables.setdefault(table, {})[column] = self._family(data_type)
        return tables

    def dependents(self, ref: TableRef) -> list[str]:
        rows = self.query(
            "SELECT DISTINCT v.oid::regclass::text FROM pg_depend d "
            "JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class "
            "WHERE d.refobjid = to_regclass(%s) AND v.oid <> d.refobjid",
            (ref.sql,),
        )
        return [name for (name,) in rows]

    def add_primary_key(self, ref: TableRef, key: Sequence[str]) -> None:
        keys = ", ".join(quote(k) for k in key)
        self.execute(f"ALTER TABLE {ref.sql} ADD CONSTRAINT {quote(ref.name + '_pkey')} PRIMARY KEY ({keys})")

    def index_run_ids(self, ref: TableRef) -> None:
        """A BRIN index on `_sync_run_id`: the staging models merge the rows written after the run
        they last saw (`_sync_run_id > N`), and without an index that read the whole heap on every
        run (securitylog, 1 GB at 18M source rows: 5 s to merge a day's rows). BRIN keeps each
        range of pages' lowest and highest run id: rows a run writes go to the end of the heap,
        so it points at them, costs a single pass to build (a B-tree over the column took 1.6 s
        for securitylog alone) and next to nothing to keep up."""
        name = quote(ref.name + _RUN_INDEX)
        self.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {ref.sql} USING brin ({quote(SYNC_RUN_ID)})")

    def analyze(self, table: TableRef) -> None:
        """ANALYZE: a table COPY just filled has no statistics until autovacuum gets to it (never,
        where it is off), and without them the models' first merges from it plan for a third of
        the table (hash joins over whole tables instead of index lookups: 3.3 s instead of
        milliseconds to merge 37,000 rows into six million)."""
        self.execute(f"ANALYZE {table.sql}")

    def after_rename(self, new: TableRef, target: TableRef) -> None:
        for suffix in ("_pkey", _RUN_INDEX):
            old_index = TableRef(new.schema, new.name + suffix)
            if self.query("SELECT to_regclass(%s)", (old_index.sql,))[0][0] is not None:
                self.execute(f"ALTER INDEX {old_index.sql} RENAME TO {quote(target.name + suffix)}")


class PostgresWriter(Writer):
    """Sessions on one PostgreSQL database; the run lock is a session advisory lock."""

    kind = "postgres"

    def __init__(self, target: PostgresWarehouse) -> None:
        self.target = target
        connect_control(target).close()  # fail fast, with the one-line message
        self._bulk = SharedDatabase(loader_url(target))

    @property
    def display(self) -> str:
        return self.target.display

    def session(self) -> PostgresSession:
        return PostgresSession(self.target, self._bulk)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._bulk.close()

    @contextmanager
    def run_lock(self) -> Iterator[None]:
        from dental_etl.errors import DentalError

        conn = connect_control(self.target)
        try:
            (got,) = conn.execute("SELECT pg_try_advisory_lock(%s)", (_LOCK_KEY,)).fetchone()  # type: ignore[misc]
            if not got:
                raise DentalError(f"another dental sync is writing {self.display}: wait for it to finish")
            yield
        finally:
            conn.close()  # closing the session releases the advisory lock
