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
from rich.progress import Progress

from dental_etl.errors import RefusedToOverwrite, TableError
from dental_etl.mysql import connect, quote_ident, translate
from dental_etl.opendental import ddl
from dental_etl.opendental.schema import load_schema
from dental_etl.settings import MySQLSource
from dental_etl.synthetic.practice import Practice

log = logging.getLogger(__name__)

CHUNK_ROWS = 500_000
SESSION = (
    "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION', time_zone = '+00:00', "
    "unique_checks = 0, foreign_key_checks = 0"
)
BIG_LOAD_ROWS = 2_000_000
BIG_BUFFER_POOL = 1 << 30


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
            raise RefusedToOverwrite(
                f"database {name!r} at {source.host}:{source.port} already holds {tables} tables: "
                "pass --replace to drop and regenerate it, or choose another database in the source URL"
            )
        if tables:
            cur.execute(f"DROP DATABASE {quote_ident(name)}")
            exists = False
    if not exists:
        cur.execute(f"CREATE DATABASE {quote_ident(name)} CHARACTER SET utf8mb3")
    cur.execute(f"USE {quote_ident(name)}")


def _grow_buffer_pool(cur: pymysql.cursors.Cursor, rows: int) -> None:
    """Big loads crawl in a 128 MB buffer pool; MariaDB resizes it online (needs SUPER)."""
    if rows < BIG_LOAD_ROWS:
        return
    cur.execute("SELECT @@GLOBAL.innodb_buffer_pool_size")
    current = int(cur.fetchone()[0])
    if current >= BIG_BUFFER_POOL:
        return
    try:
        cur.execute(f"SET GLOBAL innodb_buffer_pool_size = {BIG_BUFFER_POOL}")
        log.info("innodb_buffer_pool_size raised from %d MB to %d MB", current >> 20, BIG_BUFFER_POOL >> 20)
    except pymysql.err.MySQLError as exc:
        log.warning("could not raise innodb_buffer_pool_size (%s); the load will be slower", exc)


def write_to_mariadb(
    practice: Practice, source: MySQLSource, *, replace: bool = False, progress: Progress | None = None
) -> WriteReport:
    """Create `source.database` with OpenDental's DDL and bulk-load every table of the practice."""
    schema = load_schema()
    rows: dict[str, int] = {}
    tasks = {}
    if progress is not None:
        for spec in schema:
            tasks[spec.name] = progress.add_task(spec.name, total=max(practice.tables[spec.name].height, 1))
    with (
        _server(source) as conn,
        conn.cursor() as cur,
        tempfile.TemporaryDirectory(prefix="dental_gen_") as tmp,
    ):
        try:
            _prepare_database(cur, source, replace)
            cur.execute(SESSION)
            _grow_buffer_pool(cur, practice.row_count)
            with ThreadPoolExecutor(max_workers=1) as writer:
                for spec in schema:
                    frame = practice.tables[spec.name]
                    cur.execute(ddl.create_table(spec, with_indexes=False))
                    statement = load_statement(spec.name, frame.columns)
                    chunks = [frame.slice(i, CHUNK_ROWS) for i in range(0, frame.height, CHUNK_ROWS)]
                    paths = [Path(tmp) / f"{spec.name}.{i}.tsv" for i in range(len(chunks))]
                    pending = writer.submit(write_csv, chunks[0], paths[0]) if chunks else None
                    loaded = 0
                    for i, chunk in enumerate(chunks):
                        path = pending.result()  # type: ignore[union-attr]
                        if i + 1 < len(chunks):
                            pending = writer.submit(write_csv, chunks[i + 1], paths[i + 1])
                        cur.execute(statement, (str(path),))
                        loaded += cur.rowcount
                        path.unlink()
                        if progress is not None:
                            progress.update(tasks[spec.name], advance=chunk.height)
                    if loaded != frame.height:
                        raise TableError(
                            f"{spec.name}: loaded {loaded} rows of {frame.height}; check the server log"
                        )
                    alter = ddl.add_indexes(spec)
                    if alter:
                        cur.execute(alter)
                    rows[spec.name] = loaded
                    if progress is not None and not chunks:
                        progress.update(tasks[spec.name], completed=1)
        except pymysql.err.OperationalError as exc:
            if exc.args and exc.args[0] in {2003, 2006, 2013}:
                raise translate(exc, source) from exc
            raise
    return WriteReport(database=source.database, rows=rows)
