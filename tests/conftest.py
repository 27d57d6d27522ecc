"""Shared fixtures. Tests that need MariaDB or PostgreSQL **fail** (never skip) when the server
is down: CI must not turn green because a server was missing.

Server locations come from the environment (defaults: the local test servers):
  DENTAL_TEST_MYSQL_URL  mysql://root@127.0.0.1:3306/test
  DENTAL_TEST_PG_URL     postgresql://postgres@127.0.0.1:5432/postgres
Every test that writes gets its own database, named `dtest_<random>`, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from dental_etl.errors import SourceUnreachable
from dental_etl.mysql import connect
from dental_etl.settings import MySQLSource, PostgresWarehouse

PROJECT_DIR = Path(__file__).resolve().parents[1]


def _unique(prefix: str = "dtest") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def mysql_server() -> MySQLSource:
    """The MariaDB test server; fails the test when it is unreachable."""
    source = MySQLSource.from_url(os.environ.get("DENTAL_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"))
    try:
        connect(source, database=False).close()
    except SourceUnreachable as exc:
        pytest.fail(f"MariaDB is required for this test and is not reachable: {exc}", pytrace=False)
    return source


@pytest.fixture
def mysql_database(mysql_server: MySQLSource) -> Iterator[Callable[[], MySQLSource]]:
    """Factory: each call creates an empty database and returns its source settings."""
    created: list[str] = []

    def make() -> MySQLSource:
        name = _unique()
        conn = connect(mysql_server, database=False)
        try:
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb3")
        finally:
            conn.close()
        created.append(name)
        return mysql_server.with_database(name)

    yield make
    conn = connect(mysql_server, database=False)
    try:
        with conn.cursor() as cur:
            for name in created:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        conn.close()


@pytest.fixture(scope="session")
def pg_server() -> PostgresWarehouse:
    """The PostgreSQL test server; fails the test when it is unreachable."""
    from urllib.parse import urlsplit

    url = urlsplit(os.environ.get("DENTAL_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    server = PostgresWarehouse(
        host=url.hostname or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password or "",
        database=url.path.lstrip("/") or "postgres",
    )
    try:
        psycopg.connect(server.url, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required for this test and is not reachable: {exc}", pytrace=False)
    return server


@pytest.fixture
def pg_database(pg_server: PostgresWarehouse) -> Iterator[Callable[[], PostgresWarehouse]]:
    """Factory: each call creates an empty PostgreSQL database and returns its settings."""
    created: list[str] = []

    def make() -> PostgresWarehouse:
        name = _unique()
        with psycopg.connect(pg_server.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return PostgresWarehouse(
            host=pg_server.host,
            port=pg_server.port,
            user=pg_server.user,
            password=pg_server.password,
            database=name,
        )

    yield make
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
