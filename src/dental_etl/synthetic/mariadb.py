"""Write a generated practice into MySQL/MariaDB the way OpenDental's own database looks.

Tables are created with OpenDental's DDL (opendental/ddl.py) without secondary indexes, bulk
loaded with `LOAD DATA LOCAL INFILE` from tab-separated files written by polars, then indexed.
The session runs non-strict (OpenDental's mode: zero dates are accepted) in UTC, so timestamp
columns keep the generated past values exactly. An existing database that already holds tables
is never touched unless `replace=True`.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import msgspec
import polars as pl
import pymysql
from rich.progress import Progress, TaskID

from dental_etl.errors import RefusedToOverwrite, TableError
from dental_etl.mysql import connect, quote_ident, translate
from dental_etl.opendental import ddl
from dental_etl.opendental.schema import Table, load_schema
from dental_etl.settings import MySQLSource
from dental_etl.synthetic.practice import Practice

log = logging.getLogger(__name__)

CHUNK_ROWS = 500_000
LOAD_WORKERS = 2
SESSION = (
    "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION', time_zone = '+00:00', "
    "unique_checks = 0, foreign_key_checks = 0"
)
BIG_LOAD_ROWS = 2_000_000
BIG_BUFFER_POOL = 1 << 30
BIG_REDO_LOG = 512 << 20


class WriteReport(msgspec.Struct):
    database: str
    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _csv_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """TIME columns (durations) as HH:MM:SS text; everything else polars writes as MySQL reads it."""
    exprs = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Duration:
            secs = pl.col(name).dt.total_seconds()
            exprs.append(
                pl.format(
                    "{}:{}:{}",
                    (secs // 3600).cast(pl.String).str.zfill(2),
                    ((secs % 3600) // 60).cast(pl.String).str.zfill(2),
                    (secs % 60).cast(pl.String).str.zfill(2),
                ).alias(name)
            )
        else:
            exprs.append(pl.col(name))
    return frame.select(exprs)


def write_csv(frame: pl.DataFrame, path: Path) -> Path:
    """Tab-separated, quoted only where needed (tabs, newlines, quotes), NULL dates as zero dates."""
    _csv_ready(frame).write_csv(
        path,
        separator="\t",
        include_header=False,
        quote_char='"',
        null_value="0000-00-00",
        date_format="%Y-%m-%d",
        datetime_format="%Y-%m-%d %H:%M:%S",
        line_terminator="\n",
    )
    return path


def load_statement(table: str, columns: list[str]) -> str:
    cols = ", ".join(quote_ident(c) for c in columns)
    return (
        f"LOAD DATA LOCAL INFILE %s INTO TABLE {quote_ident(table)} CHARACTER SET utf8mb4 "
        "FIELDS TERMINATED BY '\\t' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' "
        f"LINES TERMINATED BY '\\n' ({cols})"
    )


@contextmanager
def _server(source: MySQLSource) -> Iterator[pymysql.Connection]:
    conn = connect(source, database=False, local_infile=True)
    try:
        yield conn
    finally:
        conn.close()


def _prepare_database(cur: pymysql.cursors.Cursor, source: MySQLSource, replace: bool) -> None:
    name = source.database
    cur.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,))
    exists = cur.fetchone()[0] > 0
    if exists:
        cur.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (name,))
        tables = cur.fetchone()[0]
        if tables and not replace:
            raise RefusedToOverwrite(_refusal(source, tables))
        if tables:
            cur.execute(f"DROP DATABASE {quote_ident(name)}")
            exists = False
    if not exists:
        cur.execute(f"CREATE DATABASE {quote_ident(name)} CHARACTER SET utf8mb3")
    cur.execute(f"USE {quote_ident(name)}")


def preflight(source: MySQLSource, *, replace: bool = False) -> None:
    """Fail fast, before minutes of generation: the server must answer and the database must be
    absent, empty, or allowed to be replaced."""
    with _server(source) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (source.database,)
        )
        tables = cur.fetchone()[0]
    if tables and not replace:
        raise RefusedToOverwrite(_refusal(source, tables))


def _refusal(source: MySQLSource, tables: int) -> str:
    return (
        f"database {source.database!r} at {source.host}:{source.port} already holds {tables} tables: "
        "pass --replace to drop and regenerate it, or choose another database in the source URL"
    )


def _grow_buffer_pool(cur: pymysql.cursors.Cursor, rows: int) -> None:
    """Big loads crawl in a 128 MB buffer pool and a 96 MB redo log; MariaDB resizes both online
    (needs SUPER). Only for loads of millions of rows; the settings stay until the server restarts."""
    if rows < BIG_LOAD_ROWS:
        return
    for variable, size in (
        ("innodb_buffer_pool_size", BIG_BUFFER_POOL),
        ("innodb_log_file_size", BIG_REDO_LOG),
    ):
        cur.execute(f"SELECT @@GLOBAL.{variable}")
        current = int(cur.fetchone()[0])
        if current >= size:
            continue
        try:  # both are dynamic in MariaDB >= 10.9; elsewhere the load is merely slower
            cur.execute(f"SET GLOBAL {variable} = {size}")
            log.info("%s raised from %d MB to %d MB", variable, current >> 20, size >> 20)
        except pymysql.err.MySQLError as exc:
            log.warning("could not raise %s (%s); the load will be slower", variable, exc)


def _load_table(
    spec: Table,
    frame: pl.DataFrame,
    source: MySQLSource,
    tmp: Path,
    progress: Progress | None,
    task: TaskID | None,
) -> int:
    """One table on its own connection: tab-separated chunks, LOAD DATA LOCAL, then the indexes.
    The next chunk's file is written while the server parses the current one."""
    statement = load_statement(spec.name, frame.columns)
    chunks = [frame.slice(i, CHUNK_ROWS) for i in range(0, frame.height, CHUNK_ROWS)]
    paths = [tmp / f"{spec.name}.{i}.tsv" for i in range(len(chunks))]
    loaded = 0
    with _server(source) as conn, conn.cursor() as cur, ThreadPoolExecutor(max_workers=1) as writer:
        cur.execute(f"USE {quote_ident(source.database)}")
        cur.execute(SESSION)
        pending = writer.submit(write_csv, chunks[0], paths[0]) if chunks else None
        for i, chunk in enumerate(chunks):
            path = pending.result()  # type: ignore[union-attr]
            if i + 1 < len(chunks):
                pending = writer.submit(write_csv, chunks[i + 1], paths[i + 1])
            cur.execute(statement, (str(path),))
            loaded += cur.rowcount
            path.unlink()
            if progress is not None and task is not None:
                progress.update(task, advance=chunk.height)
        if loaded != frame.height:
            raise TableError(
                f"{spec.name}: loaded {loaded} rows of {frame.height}; check the server's error log"
            )
        alter = ddl.add_indexes(spec)
        if alter:
            cur.execute(alter)
    if progress is not None and task is not None and not chunks:
        progress.update(task, completed=1)
    return loaded


def write_to_mariadb(
    practice: Practice, source: MySQLSource, *, replace: bool = False, progress: Progress | None = None
) -> WriteReport:
    """Create `source.database` with OpenDental's DDL and bulk-load every table of the practice.

    Tables load in parallel on `LOAD_WORKERS` connections, largest first, so the server's parsing
    of one table overlaps the next file being written."""
    schema = load_schema()
    tasks: dict[str, TaskID] = {}
    if progress is not None:
        for spec in schema:
            tasks[spec.name] = progress.add_task(spec.name, total=max(practice.tables[spec.name].height, 1))
    try:
        with _server(source) as conn, conn.cursor() as cur:
            _prepare_database(cur, source, replace)
            cur.execute(SESSION)
            _grow_buffer_pool(cur, practice.row_count)
            for spec in schema:
                cur.execute(ddl.create_table(spec, with_indexes=False))
        order = sorted(schema, key=lambda spec: -practice.tables[spec.name].height)
        with (
            tempfile.TemporaryDirectory(prefix="dental_gen_") as tmp,
            ThreadPoolExecutor(LOAD_WORKERS) as pool,
        ):
            futures = {
                spec.name: pool.submit(
                    _load_table,
                    spec,
                    practice.tables[spec.name],
                    source,
                    Path(tmp),
                    progress,
                    tasks.get(spec.name),
                )
                for spec in order
            }
            rows = {name: future.result() for name, future in futures.items()}
    except pymysql.err.OperationalError as exc:
        if exc.args and exc.args[0] in {2003, 2006, 2013}:
            raise translate(exc, source) from exc
        raise
    return WriteReport(database=source.database, rows={spec.name: rows[spec.name] for spec in schema})
