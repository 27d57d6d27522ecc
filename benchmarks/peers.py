"""What `dental sync` is measured against: the floor and a peer loader.

- floor: each table dumped by the server itself (`SELECT ... INTO OUTFILE`, MySQL's text format)
  and loaded with PostgreSQL's server-side `COPY FROM` — no client in the middle, so no loader can
  be faster by more than a little. The SELECT applies the same neutralisations as the loader
  (zero dates -> NULL, NUL characters stripped) so both produce the same rows.
- pgloader (Debian's package): `LOAD DATABASE` from MySQL into PostgreSQL, with the settings it
  needs to finish at all (prefetch rows, zero dates to NULL, NOT NULL dropped).

Every measurement checks the row counts it produced: a peer that "finishes" without the rows
does not get a time.

Run alone: `python benchmarks/peers.py --source mysql://root@127.0.0.1:3306/opendental
--target postgresql://postgres@127.0.0.1:5432/bench_peers`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec
import psycopg
import pymysql

from dental_etl.mysql import connect, quote_ident
from dental_etl.settings import MySQLSource


class PeerResult(msgspec.Struct):
    name: str
    seconds: float
    rows: int
    ok: bool
    note: str = ""


class _SourceColumn(msgspec.Struct):
    name: str
    data_type: str
    column_type: str


def _source_tables(source: MySQLSource) -> dict[str, list[_SourceColumn]]:
    with connect(source) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME, ORDINAL_POSITION",
            (source.database,),
        )
        tables: dict[str, list[_SourceColumn]] = {}
        for table, name, data_type, column_type in cur.fetchall():
            tables.setdefault(table, []).append(_SourceColumn(name, data_type.lower(), column_type.lower()))
    return tables


_PG_TYPES = {
    "tinyint": "smallint",
    "smallint": "integer",
    "mediumint": "integer",
    "int": "bigint",
    "bigint": "numeric(20)",
    "double": "double precision",
    "float": "real",
    "date": "date",
    "datetime": "timestamp",
    "timestamp": "timestamptz",
    "time": "interval",
    "blob": "bytea",
    "mediumblob": "bytea",
    "longblob": "bytea",
}


def _pg_type(col: _SourceColumn) -> str:
    if col.data_type in {"bigint", "int", "smallint"} and "unsigned" not in col.column_type:
        return {"bigint": "bigint", "int": "integer", "smallint": "smallint"}[col.data_type]
    if col.data_type == "decimal":
        return col.column_type.replace("unsigned", "").replace("decimal", "numeric").strip()
    return _PG_TYPES.get(col.data_type, "text")


def _select_expression(col: _SourceColumn) -> str:
    ident = quote_ident(col.name)
    if col.data_type in {"date", "datetime", "timestamp"}:
        # zero dates and zero-in-date values become NULL, as the loader does
        return f"IF(MONTH({ident}) = 0 OR DAY({ident}) = 0, NULL, {ident})"
    if col.data_type in {"char", "varchar", "text", "mediumtext", "longtext", "tinytext"}:
        # OUTFILE escapes tab, newline and backslash but not CR, which PostgreSQL's text COPY
        # rejects: CR becomes LF here (same bytes moved; the loader itself keeps CR)
        return f"REPLACE(REPLACE({ident}, CHAR(0), ''), CHAR(13), CHAR(10))"
    if col.data_type in {"blob", "mediumblob", "longblob"}:
        return f"CONCAT('\\\\x', HEX({ident}))"
    return ident


def floor(source: MySQLSource, target_url: str, *, workers: int = 2, schema: str = "floor") -> PeerResult:
    """Server-side dump and server-side COPY, table by table, `workers` tables at a time."""
    tables = _source_tables(source)
    with psycopg.connect(target_url, autocommit=True) as pg:
        pg.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        pg.execute(f"CREATE SCHEMA {schema}")
        for table, cols in tables.items():
            body = ", ".join(f'"{c.name.lower()}" {_pg_type(c)}' for c in cols)
            pg.execute(f'CREATE TABLE {schema}."{table}" ({body})')
    dump_dir = Path(tempfile.mkdtemp(prefix="dental_floor_"))
    os.chmod(dump_dir, 0o777)  # the MySQL server writes, the PostgreSQL server reads

    def one(table: str) -> int:
        path = dump_dir / f"{table}.tsv"
        select = ", ".join(_select_expression(c) for c in tables[table])
        with connect(source) as conn, conn.cursor() as cur:
            cur.execute(f"SELECT {select} FROM {quote_ident(table)} INTO OUTFILE '{path}'")
            rows = cur.rowcount
        with psycopg.connect(target_url, autocommit=True) as pg:
            pg.execute(f"COPY {schema}.\"{table}\" FROM '{path}' WITH (FORMAT text)")
        path.unlink()
        return rows

    start = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            by_size = sorted(tables, key=lambda t: -len(tables[t]))
            rows = sum(pool.map(one, by_size))
    finally:
        shutil.rmtree(dump_dir, ignore_errors=True)
    seconds = time.perf_counter() - start
    return PeerResult("floor (OUTFILE + COPY)", seconds, rows, ok=True)


def _count_rows(target_url: str, schema: str) -> int:
    with psycopg.connect(target_url) as pg:
        tables = [
            r[0]
            for r in pg.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
            ).fetchall()
        ]
        return sum(pg.execute(f'SELECT count(*) FROM {schema}."{t}"').fetchone()[0] for t in tables)


def _source_row_count(source: MySQLSource) -> int:
    with connect(source) as conn, conn.cursor() as cur:
        total = 0
        cur.execute(
            "SELECT TABLE_NAME FROM information_schema.TABLES"
            " WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE'",
            (source.database,),
        )
        for (table,) in cur.fetchall():
            cur.execute(f"SELECT COUNT(*) FROM {quote_ident(table)}")
            total += cur.fetchone()[0]
        return total


def pgloader(
    source: MySQLSource, target_url: str, *, schema: str = "pgloader", workers: int = 2
) -> PeerResult:
    """Debian's pgloader, MySQL -> PostgreSQL, with the options it needs to load OpenDental."""
    exe = shutil.which("pgloader")
    if exe is None:
        return PeerResult("pgloader", 0.0, 0, ok=False, note="not installed (apt-get install pgloader)")
    with psycopg.connect(target_url, autocommit=True) as pg:
        pg.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    script = f"""
LOAD DATABASE
  FROM {source.url}
  INTO {target_url}
WITH include drop, create tables, create no indexes, no foreign keys, reset no sequences,
     workers = {workers * 2}, concurrency = 1, prefetch rows = 25000, batch rows = 25000
SET MySQL PARAMETERS net_read_timeout = '600', net_write_timeout = '600'
CAST type date drop not null drop default using zero-dates-to-null,
     type datetime drop not null drop default using zero-dates-to-null,
     type timestamp drop not null drop default using zero-dates-to-null,
     type time to interval drop not null drop default
ALTER SCHEMA '{source.database}' RENAME TO '{schema}';
"""
    with tempfile.NamedTemporaryFile("w", suffix=".load", delete=False) as fh:
        fh.write(script)
    start = time.perf_counter()
    proc = subprocess.run([exe, "--on-error-stop", fh.name], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    os.unlink(fh.name)
    try:
        rows = _count_rows(target_url, schema)
    except psycopg.Error:
        rows = 0
    expected = _source_row_count(source)
    ok = proc.returncode == 0 and rows == expected
    note = "" if ok else f"exit {proc.returncode}, {rows} of {expected} rows; {proc.stderr[-300:].strip()}"
    return PeerResult("pgloader", seconds, rows, ok=ok, note=note)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default="mysql://root@127.0.0.1:3306/opendental")
    parser.add_argument("--target", default="postgresql://postgres@127.0.0.1:5432/bench_peers")
    args = parser.parse_args()
    source = MySQLSource.from_url(args.source)
    for result in (floor(source, args.target), pgloader(source, args.target)):
        print(
            f"{result.name:28} {result.seconds:8.1f} s  {result.rows:>12,} rows  ok={result.ok} {result.note}"
        )


if __name__ == "__main__":
    try:
        main()
    except pymysql.err.Error as exc:
        raise SystemExit(f"source error: {exc}") from exc
