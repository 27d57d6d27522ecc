"""Control connections to the OpenDental MySQL/MariaDB server (DDL, LOAD DATA, transactions).

Bulk reads go through connectorx; this module is for everything else, and it is the one place
that turns pymysql's errors into a message naming host, port and what to check.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pymysql
import pymysql.constants.CLIENT
import pymysql.cursors

from dental_etl.errors import SourceUnreachable
from dental_etl.settings import MySQLSource

# pymysql error codes that mean "the server or the login is the problem", not the query
_ACCESS_DENIED = {1044, 1045, 1698}
_CANNOT_CONNECT = {2003, 2005, 2006, 2013}
_UNKNOWN_DATABASE = 1049
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def connect(source: MySQLSource, *, database: bool = True, local_infile: bool = False) -> pymysql.Connection:
    """Open a connection; `database=False` connects to the server only (to create the database)."""
    try:
        return pymysql.connect(
            host=source.host,
            port=source.port,
            user=source.user,
            password=source.password,
            database=source.database if database else None,
            charset="utf8mb4",
            autocommit=True,
            local_infile=local_infile,
            connect_timeout=10,
            # TLS stays "preferred" for remote servers; on loopback it buys nothing and pymysql
            # spends ~0.1 s per connection loading the system CA store
            ssl_disabled=source.host in _LOOPBACK,
            client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS if local_infile else 0,
        )
    except pymysql.err.OperationalError as exc:
        raise translate(exc, source) from exc


def translate(exc: pymysql.err.OperationalError, source: MySQLSource) -> SourceUnreachable:
    code = exc.args[0] if exc.args else 0
    where = f"{source.host}:{source.port}"
    if code in _ACCESS_DENIED:
        return SourceUnreachable(
            f"MySQL at {where} refused user {source.user!r}: check the user and password in the source URL"
        )
    if code == _UNKNOWN_DATABASE:
        return SourceUnreachable(
            f"MySQL at {where} has no database {source.database!r}: check the source URL"
        )
    if code in _CANNOT_CONNECT:
        return SourceUnreachable(
            f"cannot reach MySQL at {where}: is the server running and the host/port in the source URL right?"
        )
    return SourceUnreachable(f"MySQL at {where} failed: {exc}")


@contextmanager
def connection(source: MySQLSource, **kwargs: bool) -> Iterator[pymysql.Connection]:
    conn = connect(source, **kwargs)
    try:
        yield conn
    finally:
        conn.close()


def quote_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"
